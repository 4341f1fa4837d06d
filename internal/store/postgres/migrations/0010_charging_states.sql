-- The charging-state timeline of a session: each state its EVSE reported (OCPP 2.0.1
-- TransactionEvent chargingState, OCPP 1.6 StatusNotification of its connector) at the station's
-- time. Pricing reads it to tell charging from parking. A state reported again at the same
-- instant (a retransmission) is one row.
CREATE TABLE session_charging_states (
    session_id bigint      NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at         timestamptz NOT NULL,
    state      text COLLATE "C" NOT NULL,
    PRIMARY KEY (session_id, at, state)
);

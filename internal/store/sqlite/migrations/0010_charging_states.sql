-- The charging-state timeline of a session: each state its EVSE reported (OCPP 2.0.1
-- TransactionEvent chargingState, OCPP 1.6 StatusNotification of its connector) at the station's
-- time. Pricing reads it to tell charging from parking. A state reported again at the same
-- instant (a retransmission) is one row.
CREATE TABLE session_charging_states (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at         TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    PRIMARY KEY (session_id, at, state)
) STRICT, WITHOUT ROWID;

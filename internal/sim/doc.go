// Package sim simulates charging stations speaking OCPP 1.6J and 2.0.1 to a CSMS over real
// WebSockets: fleets for `opencpo simulate`, `opencpo demo` and the benchmark, single stations
// for end-to-end tests.
//
// A Station boots, heartbeats, reports its connectors and answers the CSMS's calls (reset,
// unlock, availability, remote start/stop, trigger, configuration or device model, charging
// profiles). EVs arrive at random (seeded) times, their drivers tap an RFID token, the EV
// charges along a tapering curve with an energy register that integrates power over simulated
// time, pauses, fills up and leaves. Faults and network drops happen at seeded rates; while
// offline a station keeps charging and queues its transaction messages, in order, until it is
// back. Every frame a station sends is first checked against the version's schema: a simulator
// bug shows as Stats.Errors, never as an invalid frame on the wire.
//
// Time can run faster than real time (Config.TimeScale) so a day of charging fits in minutes;
// message timestamps stay wall-clock time.
//
// Each station runs on one goroutine (plus one reading its socket) that owns all its state;
// Run returns when its context ends, after closing the connection and waiting for its helpers.
//
// It imports the standard library, github.com/coder/websocket, internal/ocpp,
// internal/ocpp/schema, internal/ocpp/v16 and internal/ocpp/v201.
package sim

// Package bench runs the benchmark scenarios of `opencpo bench`: it starts one server process,
// drives it from several load processes (each a simulated fleet slice plus optional stress
// connections) and measures connections, throughput, latency, memory, reconnect time and
// durability across a kill -9.
//
// The coordinator (Run) and the load processes (RunWorker) talk over pipes: one command line
// in, one JSON line out. Processes are spawned from a binary the caller names, so the package
// itself knows nothing about cmd/opencpo. It may import internal/sim, internal/ocpp and the
// SQLite driver (to check the exactly-once ledger after the kill).
package bench

// Package bench runs the benchmark scenarios of `opencpo bench`. fleet-15k starts one server
// process; cluster-45k starts several nodes on one fresh PostgreSQL database and one NATS
// server. Both drive the servers from several load processes (each a simulated fleet slice plus
// optional stress connections) and measure connections, throughput, latency, memory, reconnect
// time and durability across a kill -9; cluster-45k adds cross-node commands.
//
// The coordinator (Run, RunCluster) and the load processes (RunWorker) talk over pipes: one
// command line in, one JSON line out. Processes are spawned from a binary the caller names, so
// the package itself knows nothing about cmd/opencpo. It may import internal/sim,
// internal/ocpp, the SQLite and PostgreSQL drivers (to check the exactly-once ledger after the
// kill) and the NATS client (to remove a cluster run's buckets).
package bench

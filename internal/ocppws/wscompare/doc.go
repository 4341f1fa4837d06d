// Package wscompare holds the measurements that chose the WebSocket library under package ocppws
// (DESIGN.md §3: pick by measured memory per connection and throughput). It has no code of its
// own: the benchmarks in its test files serve the same tiny OCPP exchange (parse the CALL with
// internal/ocpp, answer a CALLRESULT) with github.com/coder/websocket, github.com/gorilla/websocket
// and github.com/lxzan/gws, each with its default buffers and with the smallest buffers it
// allows, next to the shipped ocppws.Server. See docs/benchmarks.md for the figures.
//
//	go test -run '^$' -bench IdleConn -benchtime 1x ./internal/ocppws/wscompare
//	go test -run '^$' -bench RoundTrip -benchtime 3s ./internal/ocppws/wscompare
package wscompare

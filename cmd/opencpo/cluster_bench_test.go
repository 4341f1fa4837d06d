package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkClusterCall measures a raw OCPP call through the REST API, from the API request to
// the station's answer and back: given to the node that holds the station (local) and to
// another node (cross-node: REST on node-b, NATS request/reply to node-a, WebSocket to the
// station). It reports the median and 99th percentile. It needs PostgreSQL and NATS:
//
//	OPENCPO_TEST_POSTGRES=… OPENCPO_TEST_NATS=nats://127.0.0.1:4222 \
//	  go test -run '^$' -bench ClusterCall -benchtime 2000x ./cmd/opencpo
func BenchmarkClusterCall(b *testing.B) {
	c := newTestCluster(b)
	a, other := c.node("node-a"), c.node("node-b")
	st := a.dial("BENCH-1", "1.6")
	st.MustCall("BootNotification", boot16())
	st.Handle("TriggerMessage", func(json.RawMessage) any { return map[string]any{"status": "Rejected"} })
	for _, tc := range []struct {
		name string
		via  *testServer
	}{{"local", a}, {"cross-node", other}} {
		b.Run(tc.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				code, body := tc.via.do("POST", "/api/v1/stations/BENCH-1/ocpp/TriggerMessage", map[string]any{"requestedMessage": "Heartbeat"})
				lat = append(lat, time.Since(start))
				if code != http.StatusOK {
					b.Fatalf("%d %v", code, body)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkClusterCall measures a raw OCPP call through the REST API, from the API request to
// the station's answer and back, in a cluster of three nodes: given to the node that holds the
// station (local) and to the two others in turn (cross-node: REST on node-b or node-c, NATS
// request/reply to node-a, WebSocket to the station); "cross-node-x8" keeps eight such calls
// in flight at once, to eight stations. It reports the median and 99th percentile. It needs
// PostgreSQL and NATS:
//
//	OPENCPO_TEST_POSTGRES=… OPENCPO_TEST_NATS=nats://127.0.0.1:4222 \
//	  go test -run '^$' -bench ClusterCall -benchtime 2000x ./cmd/opencpo
func BenchmarkClusterCall(b *testing.B) {
	c := newTestCluster(b)
	a, nb, nc := c.node("node-a"), c.node("node-b"), c.node("node-c")
	const parallel = 8
	for i := range parallel {
		st := a.dial(fmt.Sprintf("BENCH-%d", i), "1.6")
		st.MustCall("BootNotification", boot16())
		st.Handle("TriggerMessage", func(json.RawMessage) any { return map[string]any{"status": "Rejected"} })
	}
	call := func(b *testing.B, via *testServer, station int) time.Duration {
		start := time.Now()
		code, body := via.do("POST", fmt.Sprintf("/api/v1/stations/BENCH-%d/ocpp/TriggerMessage", station), map[string]any{"requestedMessage": "Heartbeat"})
		if code != http.StatusOK {
			b.Errorf("%d %v", code, body)
		}
		return time.Since(start)
	}
	report := func(b *testing.B, lat []time.Duration) {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
	b.Run("local", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			lat = append(lat, call(b, a, 0))
		}
		report(b, lat)
	})
	b.Run("cross-node", func(b *testing.B) {
		var lat []time.Duration
		vias := []*testServer{nb, nc}
		for b.Loop() {
			lat = append(lat, call(b, vias[len(lat)%2], 0))
		}
		report(b, lat)
	})
	b.Run(fmt.Sprintf("cross-node-x%d", parallel), func(b *testing.B) {
		var (
			mu  sync.Mutex
			lat []time.Duration
			wg  sync.WaitGroup
		)
		work := make(chan int)
		for w := range parallel {
			wg.Go(func() {
				vias := []*testServer{nb, nc}
				for n := range work {
					d := call(b, vias[n%2], w)
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			})
		}
		n := 0
		for b.Loop() {
			work <- n
			n++
		}
		close(work)
		wg.Wait()
		report(b, lat)
	})
}

package main

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpptest"
)

// BenchmarkIngest measures durable ingest end to end: 200 chargers (half 1.6, half 2.0.1) on real
// WebSockets send meter values of running transactions (MeterValues / TransactionEvent Updated)
// as fast as the server acknowledges them; each acknowledgement means the message is on disk.
// Server and chargers share this machine's cores, so the figure is a floor.
//
//	go test -run '^$' -bench Ingest -benchtime 20000x ./cmd/opencpo
func BenchmarkIngest(b *testing.B) {
	benchmarkIngest(b, startServer(b, func(c *serveConfig) { c.UnknownStations = "accept"; c.LogLevel = "error" }))
}

// BenchmarkIngestPostgres is BenchmarkIngest on PostgreSQL (a fresh schema of the test
// database), the database server on the same cores:
//
//	OPENCPO_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test -run '^$' -bench IngestPostgres -benchtime 20000x ./cmd/opencpo
func BenchmarkIngestPostgres(b *testing.B) {
	pg := os.Getenv("OPENCPO_TEST_POSTGRES")
	if pg == "" {
		b.Skip("needs OPENCPO_TEST_POSTGRES")
	}
	db := clusterDB(b, pg)
	benchmarkIngest(b, startServer(b, func(c *serveConfig) { c.UnknownStations = "accept"; c.LogLevel = "error"; c.DB = db }))
}

func benchmarkIngest(b *testing.B, ts *testServer) {
	const chargers = 200
	type charger struct {
		st   *ocpptest.Station
		txID string
	}
	cs := make([]charger, chargers)
	t0 := time.Now().UTC().Truncate(time.Second)
	for i := range cs {
		version := "1.6"
		if i%2 == 1 {
			version = "2.0.1"
		}
		st := ocpptest.Dial(b, nil, ts.wsURL(), fmt.Sprintf("ING-%03d", i), version, ocpptest.DialOptions{})
		if version == "1.6" {
			res := decode[map[string]any](b, st.MustCall("StartTransaction", map[string]any{"connectorId": 1, "idTag": "B", "meterStart": 0, "timestamp": ts3339(t0)}))
			cs[i] = charger{st, fmt.Sprint(res["transactionId"])}
		} else {
			st.MustCall("TransactionEvent", txEvent("Started", 0, t0, "ING-TX", map[string]any{"evse": map[string]any{"id": 1, "connectorId": 1}}))
			cs[i] = charger{st, "ING-TX"}
		}
	}
	var next atomic.Int64
	var failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				at := t0.Add(time.Duration(n) * time.Millisecond)
				var payload map[string]any
				action := "MeterValues"
				if c.st.Version == "1.6" {
					var tx int
					fmt.Sscan(c.txID, &tx)
					payload = map[string]any{"connectorId": 1, "transactionId": tx, "meterValue": []any{map[string]any{"timestamp": ts3339(at),
						"sampledValue": []any{map[string]any{"value": fmt.Sprint(n)}, map[string]any{"value": "7400", "measurand": "Power.Active.Import", "unit": "W"}}}}}
				} else {
					action = "TransactionEvent"
					payload = txEvent("Updated", int(n), at, c.txID, map[string]any{"meterValue": energyMeter(at, float64(n), "Sample.Periodic")})
				}
				reply, err := c.st.TryCall(action, payload, 30*time.Second)
				if err != nil || string(reply[0]) != "3" {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d messages not acknowledged", failed.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}

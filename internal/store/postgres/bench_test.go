package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/store/postgres"
)

// The product must keep up with ≥ 5,000 durable OCPP messages/s. These mirror the SQLite
// store's benchmarks (same workloads, same 200 concurrent stations) and report the rate in ops/s.
// PostgreSQL shares one WAL flush among the commits that arrive while the previous one is being
// written, so the rate depends on how many transactions run at once: the pool's size.

const benchStations = 200

func benchStore(b *testing.B) *postgres.Store {
	b.Helper()
	s := open(b, postgres.Options{})
	b.Cleanup(func() { _ = s.Close() })
	for i := range benchStations {
		if err := s.CreateStation(context.Background(), domain.Station{ID: fmt.Sprintf("CP-%03d", i),
			RegistrationStatus: domain.RegistrationAccepted}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// statusOrTouch is the hot OCPP write mix: every other message a StatusNotification, the rest
// Heartbeats.
func statusOrTouch(s *postgres.Store, station string, i int) error {
	at := time.Unix(1_800_000_000, 0).Add(time.Duration(i) * time.Millisecond)
	if i%2 == 0 {
		return s.TouchStation(context.Background(), station, at)
	}
	return s.UpdateStatus(context.Background(), domain.StatusUpdate{StationID: station, EVSEID: 1 + i%4, ConnectorID: 1,
		Status: domain.ConnectorOccupied, OCPPStatus: "Charging", ErrorCode: "NoError", At: at})
}

func testingProcs() int { return max(1, runtime.GOMAXPROCS(0)) }

// BenchmarkConcurrentStatusUpdates: 200 stations writing at once, as a busy server sees them.
func BenchmarkConcurrentStatusUpdates(b *testing.B) {
	s := benchStore(b)
	var next atomic.Int64
	b.SetParallelism((benchStations + testingProcs() - 1) / testingProcs()) // ≈ 200 goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		station := fmt.Sprintf("CP-%03d", next.Add(1)%benchStations)
		for i := 0; pb.Next(); i++ {
			if err := statusOrTouch(s, station, i); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkSingleWriter: one caller, each write waiting for its own commit (one WAL flush each).
func BenchmarkSingleWriter(b *testing.B) {
	s := benchStore(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := statusOrTouch(s, "CP-000", i); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkApplyMeterValues: 200 stations each sending MeterValues for its own running session,
// each message applied exactly-once (ledger claim, session lookup, 3 samples, session update,
// answer) and durable before Apply returns. The rate is in Applies/s.
func BenchmarkApplyMeterValues(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	start := time.Unix(1_800_000_000, 0).UTC()
	txIDs := make([]string, benchStations)
	for i := range benchStations {
		station := fmt.Sprintf("CP-%03d", i)
		_, _, err := s.Apply(ctx, domain.StationMessage{StationID: station, Action: "StartTransaction", Digest: "start"},
			func(tx domain.SessionTx) ([]byte, error) {
				sess, err := tx.NewSession(domain.Session{StationID: station, EVSEID: 1, ConnectorID: 1, IDToken: "TAG",
					Status: domain.SessionActive, StartedAt: start})
				txIDs[i] = sess.TransactionID
				return []byte(`{}`), err
			})
		if err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.SetParallelism((benchStations + testingProcs() - 1) / testingProcs()) // ≈ 200 goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := int(next.Add(1)-1) % benchStations
		station, txID := fmt.Sprintf("CP-%03d", n), txIDs[n]
		for i := 1; pb.Next(); i++ {
			at := start.Add(time.Duration(i) * time.Second)
			payload := fmt.Sprintf(`{"connectorId":1,"transactionId":%s,"meterValue":[{"timestamp":%q}]}`, txID, at)
			sum := sha256.Sum256([]byte(payload))
			wh := float64(i * 10)
			_, _, err := s.Apply(ctx, domain.StationMessage{StationID: station, Action: "MeterValues", Digest: hex.EncodeToString(sum[:])},
				func(tx domain.SessionTx) ([]byte, error) {
					sess, err := tx.SessionByTransaction(station, txID)
					if err != nil {
						return nil, err
					}
					samples := []domain.MeterSample{
						{SessionID: sess.ID, StationID: station, EVSEID: 1, At: at, Measurand: "Energy.Active.Import.Register",
							Location: "Outlet", Context: "Sample.Periodic", Unit: "Wh", Value: wh},
						{SessionID: sess.ID, StationID: station, EVSEID: 1, At: at, Measurand: "Power.Active.Import",
							Location: "Outlet", Context: "Sample.Periodic", Unit: "W", Value: 11000},
						{SessionID: sess.ID, StationID: station, EVSEID: 1, At: at, Measurand: "Current.Import",
							Location: "Outlet", Context: "Sample.Periodic", Unit: "A", Value: 16},
					}
					if err := tx.AddSamples(samples); err != nil {
						return nil, err
					}
					sess.AddReading(wh, at)
					sess.LastEventAt, sess.UpdatedAt = at, at
					if err := tx.UpdateSession(sess); err != nil {
						return nil, err
					}
					return []byte(`{}`), nil
				})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

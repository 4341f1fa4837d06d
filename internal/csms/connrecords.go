package csms

import (
	"context"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
)

// connectWriteTimeout bounds the background write of a connection record, from the moment the
// station connected.
const connectWriteTimeout = 30 * time.Second

// maxRecordWriters bounds the goroutines that write connection records. A group commit takes
// up to 512 writes, so this many keep the writer's batches full during a connect storm; more
// would only wait in line for the same commits.
//
// A goroutine per connecting station used to do it: a storm of 15,000 stations then peaked at
// 15,000 extra goroutines, and the runtime keeps every goroutine descriptor it ever made, so
// an idle fleet paid ≈ 1 KiB per station for the storm's peak (docs/benchmarks.md).
const maxRecordWriters = 512

// connRecord is one station's connection to be written.
type connRecord struct {
	ctx       context.Context // the connection's values, without its cancellation, and the deadline
	cancel    context.CancelFunc
	stationID string
	version   ocpp.Version
	at        time.Time
	prev      chan struct{} // the station's record before this one; nil if none is pending
	done      chan struct{} // closed once this record is written or given up
}

// queueConnRecord hands r to the record writers: a waiting one takes it in turn, or a new one
// starts while fewer than maxRecordWriters run. Records are taken first in, first out, so a
// station's earlier record is always taken before its later one.
func (s *Service) queueConnRecord(r connRecord) {
	s.mu.Lock()
	s.records = append(s.records, r)
	start := s.recordWriters < maxRecordWriters
	if start {
		s.recordWriters++
	}
	s.mu.Unlock()
	if start {
		go s.writeConnRecords()
	}
}

// writeConnRecords writes queued connection records until none is left. Each write ends by
// its deadline, so the goroutine ends too.
func (s *Service) writeConnRecords() {
	for {
		s.mu.Lock()
		if len(s.records) == 0 {
			s.records = nil // let the storm's backing array go
			s.recordWriters--
			s.mu.Unlock()
			return
		}
		r := s.records[0]
		s.records[0] = connRecord{}
		s.records = s.records[1:]
		s.mu.Unlock()
		s.writeConnRecord(r)
	}
}

// writeConnRecord writes one connection record after the station's previous one, then
// announces the connection. The event follows the write, so that in a cluster the node the
// station left finds the new holder in the store when it hears of it.
func (s *Service) writeConnRecord(r connRecord) {
	defer r.cancel()
	defer func() {
		s.mu.Lock()
		if s.connecting[r.stationID] == r.done {
			delete(s.connecting, r.stationID)
		}
		s.mu.Unlock()
		close(r.done)
	}()
	if r.prev != nil {
		<-r.prev
	}
	var err error
	if s.clustered() {
		err = s.store.ClaimStation(r.ctx, r.stationID, s.cfg.Cluster.Node, string(r.version), r.at)
	} else {
		err = s.store.SetConnected(r.ctx, r.stationID, true, string(r.version), r.at)
	}
	if err != nil {
		s.log.ErrorContext(r.ctx, "csms: record connection", "station", r.stationID, "err", err)
		return
	}
	s.publish(r.ctx, domain.Event{Kind: domain.EventStationConnected, StationID: r.stationID, At: r.at})
}

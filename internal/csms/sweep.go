package csms

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// Run does the central system's background work until ctx ends: writing stations' last-seen
// times, closing sessions that have had no news for longer than the session timeout (and writing
// their CDRs), forgetting exactly-once ledger entries older than the retention, and sending
// CostUpdated to 2.0.1 stations. In a cluster the sweep runs on the holder of the sweep lease
// only, and the cluster jobs (runClusterJobs) run beside.
func (s *Service) Run(ctx context.Context) error {
	flush := time.NewTicker(s.cfg.TouchEvery)
	defer flush.Stop()
	sweep := time.NewTicker(s.cfg.SweepEvery)
	defer sweep.Stop()
	if s.clustered() {
		clusterCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.runClusterJobs(clusterCtx)
		}()
		defer func() { stop(); <-done }()
	}
	refreshDone := make(chan struct{})
	go func() {
		defer close(refreshDone)
		s.runRefresh(ctx)
	}()
	costsDone := make(chan struct{})
	go func() { s.runCostUpdates(ctx); close(costsDone) }()
	defer func() { <-costsDone }()
	s.sweep(ctx)
	for {
		select {
		case <-ctx.Done():
			<-refreshDone
			s.flushLastSeen(context.WithoutCancel(ctx))
			return nil
		case <-flush.C:
			s.flushLastSeen(ctx)
		case <-sweep.C:
			s.sweep(ctx)
		}
	}
}

// sweep runs on the node that holds the sweep lease (every node on its own: the only one).
func (s *Service) sweep(ctx context.Context) {
	if !s.holds(ctx, LeaseSweep) {
		return
	}
	s.sweepFieldOps(ctx)
	if _, err := s.CloseStaleSessions(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "csms: stale session sweep", "err", err)
	}
	s.repairCDRs(ctx)
	if _, err := s.store.PruneStationMessages(ctx, s.now().UTC().Add(-s.cfg.LedgerRetention)); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "csms: prune message ledger", "err", err)
	}
}

// CloseStaleSessions closes active sessions with no news within the session timeout and flags
// them. Before closing a 2.0.1 session on a connected station it asks the station
// (GetTransactionStatus): a transaction still running or with messages still queued is kept.
func (s *Service) CloseStaleSessions(ctx context.Context) (int, error) {
	cutoff := s.now().UTC().Add(-s.cfg.SessionTimeout)
	stale, err := s.store.StaleSessions(ctx, cutoff, 500)
	if err != nil {
		return 0, err
	}
	closed := 0
	for _, sess := range stale {
		if s.stillRunning(ctx, sess) {
			continue
		}
		stop := sess.LastStationAt
		if stop.IsZero() || stop.Before(sess.StartedAt) {
			stop = sess.StartedAt
		}
		err := s.store.CloseStale(ctx, sess.ID, cutoff, stop, FlagStale)
		if errors.Is(err, domain.ErrConflict) {
			continue // news arrived meanwhile
		}
		if err != nil {
			return closed, err
		}
		s.log.WarnContext(ctx, "csms: stale session closed", "station", sess.StationID, "session", sess.ID)
		closed++
		if done, err := s.store.Session(ctx, sess.ID); err == nil {
			s.costs.forget(sess.ID)
			s.complete(ctx, done)
		}
	}
	return closed, nil
}

// stillRunning asks a connected 2.0.1 station whether a transaction is still going on.
func (s *Service) stillRunning(ctx context.Context, sess domain.Session) bool {
	st, err := s.store.Station(ctx, sess.StationID)
	if err != nil || !st.Connected || ocpp.Version(st.OCPPVersion) != ocpp.V201 {
		return false
	}
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := s.Call(callCtx, "system", sess.StationID, "GetTransactionStatus",
		mustJSON(v201.GetTransactionStatusRequest{TransactionId: sess.TransactionID}))
	if err != nil {
		return false
	}
	var out v201.GetTransactionStatusResponse
	if json.Unmarshal(res, &out) != nil {
		return false
	}
	return out.MessagesInQueue || out.OngoingIndicator != nil && *out.OngoingIndicator
}

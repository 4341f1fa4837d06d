package csms

import (
	"context"

	"github.com/opencpo/opencpo/internal/domain"
)

// publish hands an event to the bus, if there is one, once what it reports is stored.
func (s *Service) publish(ctx context.Context, e domain.Event) {
	if s.cfg.Events == nil {
		return
	}
	if e.At.IsZero() {
		e.At = s.now().UTC()
	}
	s.cfg.Events.Publish(context.WithoutCancel(ctx), e)
}

// apply runs a transactional message through the store's exactly-once ledger and, when it was
// new (not a replay of a message already handled), publishes what it did to sessions. The events
// follow the commit, so nobody hears of a session the store does not have.
func (s *Service) apply(ctx context.Context, c *stationCall, fn func(tx domain.SessionTx) ([]byte, error)) ([]byte, error) {
	var touched []touchedSession
	answer, replayed, err := s.store.Apply(ctx, messageOf(c), func(tx domain.SessionTx) ([]byte, error) {
		rec := &recordingTx{SessionTx: tx}
		out, err := fn(rec)
		touched = rec.touched // the last run is the one that committed
		return out, err
	})
	if err != nil || replayed {
		return answer, err
	}
	for _, t := range touched {
		s.publish(ctx, sessionEvent(t))
	}
	return answer, nil
}

type touchedSession struct {
	session domain.Session
	isNew   bool
}

// recordingTx notes the sessions a handler creates or changes inside a ledger transaction.
type recordingTx struct {
	domain.SessionTx
	touched []touchedSession
}

func (r *recordingTx) NewSession(sess domain.Session) (domain.Session, error) {
	out, err := r.SessionTx.NewSession(sess)
	if err == nil {
		r.note(out, true)
	}
	return out, err
}

func (r *recordingTx) UpdateSession(sess domain.Session) error {
	err := r.SessionTx.UpdateSession(sess)
	if err == nil {
		r.note(sess, false)
	}
	return err
}

// note keeps one entry per session, with its latest state.
func (r *recordingTx) note(sess domain.Session, isNew bool) {
	for i := range r.touched {
		if r.touched[i].session.ID == sess.ID {
			r.touched[i].session = sess
			return
		}
	}
	r.touched = append(r.touched, touchedSession{session: sess, isNew: isNew})
}

func sessionEvent(t touchedSession) domain.Event {
	sess := t.session
	kind := domain.EventSessionUpdated
	switch {
	case sess.Status == domain.SessionCompleted:
		kind = domain.EventSessionEnded
	case t.isNew:
		kind = domain.EventSessionStarted
	}
	e := domain.Event{Kind: kind, StationID: sess.StationID, EVSEID: sess.EVSEID, ConnectorID: sess.ConnectorID,
		SessionID: sess.ID, Status: string(sess.Status)}
	wh := sess.EnergyWh
	e.EnergyWh = &wh
	return e
}

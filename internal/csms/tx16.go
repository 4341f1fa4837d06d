package csms

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
)

func idTagInfo16(a authorization) v16.IdTagInfo {
	return v16.IdTagInfo{Status: v16.IdTagInfoStatus(a.Status), ExpiryDate: a.expiry(), ParentIdTag: a.Token.GroupID}
}

func (s *Service) authorize16(ctx context.Context, _ *stationCall, req *v16.AuthorizeRequest) (any, error) {
	a, err := authorize(s.storeTokens(ctx), req.IdTag, s.now())
	if err != nil {
		return nil, err
	}
	return v16.AuthorizeResponse{IdTagInfo: idTagInfo16(a)}, nil
}

// startTransaction16 opens a session. A retransmitted StartTransaction (same payload) gets the
// same transactionId back and opens nothing.
func (s *Service) startTransaction16(ctx context.Context, c *stationCall, req *v16.StartTransactionRequest) (any, error) {
	if req.ConnectorId < 1 {
		return nil, ocpp.Errorf(ocpp.PropertyConstraintViolation, "connectorId must be 1 or more for a transaction")
	}
	var o txOutcome
	answer, err := s.apply(ctx, c, func(tx domain.SessionTx) ([]byte, error) {
		now := s.now().UTC()
		a, err := authorize(tx.Token, req.IdTag, now)
		if err != nil {
			return nil, err
		}
		at := req.Timestamp.UTC()
		superseded, err := supersede(tx, c.Station.ID, req.ConnectorId, at, now)
		if err != nil {
			return nil, err
		}
		sess := domain.Session{
			StationID: c.Station.ID, EVSEID: req.ConnectorId, ConnectorID: 1, IDToken: req.IdTag, IDTokenType: tokenType(a),
			AuthStatus: a.Status, Status: domain.SessionActive, StartedAt: at, ReservationID: req.ReservationId,
			RemoteStartID: s.remote.claim(c.Station.ID, req.ConnectorId, req.IdTag, now),
			LastEventAt:   now, LastStationAt: at, CreatedAt: now, UpdatedAt: now,
		}
		sess.AddReading(float64(req.MeterStart), at)
		sess, err = tx.NewSession(sess)
		if err != nil {
			return nil, err
		}
		o = txOutcome{sess: sess, applied: true, isNew: true, superseded: superseded}
		return json.Marshal(v16.StartTransactionResponse{TransactionId: int(sess.ID), IdTagInfo: idTagInfo16(a)})
	})
	if err == nil {
		s.reservationUsed(ctx, c.Station.ID, req.ReservationId, transactionIDOf16(answer))
		s.afterTransaction(ctx, o, false, false, nil)
	}
	return json.RawMessage(answer), err
}

// supersede closes an older session still open on the EVSE: a new start there proves it ended,
// even if its stop never arrived. It is flagged for review; its real stop, if it comes later,
// still wins.
// It returns the id of the session it closed (0: none).
func supersede(tx domain.SessionTx, stationID string, evseID int, at, now time.Time) (int64, error) {
	prev, err := tx.ActiveSessionOn(stationID, evseID)
	if errors.Is(err, domain.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if prev.StartedAt.After(at) {
		return 0, nil // an older start replayed late must not close the newer session
	}
	prev.Status, prev.StoppedAt, prev.StopReason = domain.SessionCompleted, at, "Other"
	prev.Flag = FlagSuperseded
	prev.MeterStopWh = prev.MeterLastWh
	prev.UpdatedAt = now
	return prev.ID, tx.UpdateSession(prev)
}

func tokenType(a authorization) string {
	if a.Token.Type != "" {
		return a.Token.Type
	}
	return "ISO14443"
}

// stopTransaction16 closes a session. A stop for a transaction we do not know is answered and
// kept as a station event for review, never dropped.
func (s *Service) stopTransaction16(ctx context.Context, c *stationCall, req *v16.StopTransactionRequest) (any, error) {
	var samples []domain.MeterSample
	for _, mv := range req.TransactionData {
		ms, err := samples16(c.Station.ID, 0, mv.Timestamp, fromTransactionData16(mv.SampledValue))
		if err != nil {
			return nil, err
		}
		samples = append(samples, ms...)
	}
	var o txOutcome
	answer, err := s.apply(ctx, c, func(tx domain.SessionTx) ([]byte, error) {
		now := s.now().UTC()
		resp := v16.StopTransactionResponse{}
		if req.IdTag != "" {
			a, err := authorize(tx.Token, req.IdTag, now)
			if err != nil {
				return nil, err
			}
			info := idTagInfo16(a)
			resp.IdTagInfo = &info
		}
		sess, err := tx.SessionByTransaction(c.Station.ID, strconv.Itoa(req.TransactionId))
		if errors.Is(err, domain.ErrNotFound) {
			err = tx.AddStationEvent(domain.StationEvent{StationID: c.Station.ID, Kind: "UnknownTransaction",
				Type: "StopTransaction", At: req.Timestamp.UTC(), Detail: c.Payload})
			if err != nil {
				return nil, err
			}
			return json.Marshal(resp)
		}
		if err != nil {
			return nil, err
		}
		for i := range samples {
			samples[i].SessionID, samples[i].EVSEID = sess.ID, sess.EVSEID
		}
		if err := tx.AddSamples(samples); err != nil {
			return nil, err
		}
		at := req.Timestamp.UTC()
		stop := float64(req.MeterStop)
		if sess.Status == domain.SessionCompleted && sess.Flag == "" {
			// A second, different stop for a finished session: keep the first, record this one.
			err := tx.AddStationEvent(domain.StationEvent{StationID: c.Station.ID, Kind: "DuplicateStop",
				Type: "StopTransaction", At: at, Detail: c.Payload})
			if err != nil {
				return nil, err
			}
			return json.Marshal(resp)
		}
		// An active session, or one the server closed for lack of news: the real stop wins.
		sess.Status, sess.StoppedAt, sess.Flag = domain.SessionActive, at, ""
		foldSamples(&sess, samples)
		sess.AddReading(stop, at)
		sess.MeterStopWh = &stop
		sess.Status = domain.SessionCompleted
		sess.StopReason = orDefault(string(req.Reason), "Local")
		sess.LastEventAt, sess.UpdatedAt = now, now
		if at.After(sess.LastStationAt) {
			sess.LastStationAt = at
		}
		if err := tx.UpdateSession(sess); err != nil {
			return nil, err
		}
		o = txOutcome{sess: sess, applied: true, ended: true}
		return json.Marshal(resp)
	})
	if err == nil {
		s.afterTransaction(ctx, o, false, false, nil)
	}
	return json.RawMessage(answer), err
}

// meterValues16 stores readings and moves the session's energy forward. Readings without a
// transaction (clock-aligned on connector 0, or an idle connector) are kept too.
func (s *Service) meterValues16(ctx context.Context, c *stationCall, req *v16.MeterValuesRequest) (any, error) {
	var samples []domain.MeterSample
	for _, mv := range req.MeterValue {
		ms, err := samples16(c.Station.ID, req.ConnectorId, mv.Timestamp, fromMeterValues16(mv.SampledValue))
		if err != nil {
			return nil, err
		}
		samples = append(samples, ms...)
	}
	answer, err := s.apply(ctx, c, func(tx domain.SessionTx) ([]byte, error) {
		var sess domain.Session
		var err error
		switch {
		case req.TransactionId != nil:
			sess, err = tx.SessionByTransaction(c.Station.ID, strconv.Itoa(*req.TransactionId))
		case req.ConnectorId > 0:
			sess, err = tx.ActiveSessionOn(c.Station.ID, req.ConnectorId)
		default:
			err = domain.ErrNotFound
		}
		found := err == nil
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return nil, err
		}
		if found {
			for i := range samples {
				samples[i].SessionID = sess.ID
			}
		}
		if err := tx.AddSamples(samples); err != nil {
			return nil, err
		}
		if found {
			foldSamples(&sess, samples)
			now := s.now().UTC()
			sess.LastEventAt, sess.UpdatedAt = now, now
			if err := tx.UpdateSession(sess); err != nil {
				return nil, err
			}
		}
		return json.Marshal(v16.MeterValuesResponse{})
	})
	return json.RawMessage(answer), err
}

// Review flags on sessions.
const (
	FlagSuperseded = "superseded: a new session started on the same EVSE before this one's stop arrived"
	FlagStale      = "closed by the server: no news from the station within the session timeout"
)

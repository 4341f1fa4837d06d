package csms

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// authorize201 checks a 2.0.1 idToken. A NoAuthorization token means the station was set up to
// charge without asking anyone, so the CSMS accepts it.
func authorize201(read tokenReader, tok v201.IdTokenType, now time.Time) (authorization, error) {
	if tok.Type == v201.IdTokenEnumTypeNoAuthorization {
		return authorization{Status: domain.TokenAccepted, Token: domain.Token{Type: string(tok.Type)}}, nil
	}
	a, err := authorize(read, tok.IdToken, now)
	if err == nil && a.Token.UID == "" {
		a.Token.Type = string(tok.Type)
	}
	return a, err
}

func idTokenInfo201(a authorization) v201.IdTokenInfoType {
	info := v201.IdTokenInfoType{Status: v201.AuthorizationStatusEnumType(a.Status), CacheExpiryDateTime: a.expiry()}
	if a.Token.GroupID != "" {
		info.GroupIdToken = &v201.IdTokenType{IdToken: a.Token.GroupID, Type: v201.IdTokenEnumTypeCentral}
	}
	return info
}

func (s *Service) authorize201(ctx context.Context, c *stationCall, req *v201.AuthorizeRequest) (any, error) {
	a, err := authorize201(s.storeTokens(ctx), req.IdToken, s.now())
	if err != nil {
		return nil, err
	}
	info := idTokenInfo201(a)
	s.authorizePrice(ctx, c.Station.ID, &info, req.IdToken.IdToken)
	return v201.AuthorizeResponse{IdTokenInfo: info}, nil
}

// transactionEvent201 applies one TransactionEvent. Events may arrive late or out of order
// (offline backlogs): the session is created by whichever event comes first, its start is the
// earliest timestamp seen, and state fields only follow events at least as new as the newest
// applied. A retransmission (same payload) changes nothing and gets the same answer.
func (s *Service) transactionEvent201(ctx context.Context, c *stationCall, req *v201.TransactionEventRequest) (any, error) {
	evseID, connectorID := 0, 0
	if req.Evse != nil {
		evseID = req.Evse.Id
		if req.Evse.ConnectorId != nil {
			connectorID = *req.Evse.ConnectorId
		}
	}
	var o txOutcome
	answer, err := s.apply(ctx, c, func(tx domain.SessionTx) ([]byte, error) {
		o = txOutcome{}
		now := s.now().UTC()
		at := req.Timestamp.UTC()
		resp := v201.TransactionEventResponse{}
		var auth *authorization
		if req.IdToken != nil {
			a, err := authorize201(tx.Token, *req.IdToken, now)
			if err != nil {
				return nil, err
			}
			auth = &a
			info := idTokenInfo201(a)
			resp.IdTokenInfo = &info
		}
		txID := req.TransactionInfo.TransactionId
		sess, err := tx.SessionByTransaction(c.Station.ID, txID)
		isNew := errors.Is(err, domain.ErrNotFound)
		if err != nil && !isNew {
			return nil, err
		}
		if isNew {
			if evseID > 0 {
				if o.superseded, err = supersede(tx, c.Station.ID, evseID, at, now); err != nil {
					return nil, err
				}
			}
			sess = domain.Session{StationID: c.Station.ID, TransactionID: txID, Status: domain.SessionActive,
				StartedAt: at, LastStationAt: at, CreatedAt: now}
		}
		if sess.Status == domain.SessionCompleted && sess.Flag == "" && req.EventType == v201.TransactionEventEnumTypeEnded {
			err := tx.AddStationEvent(domain.StationEvent{StationID: c.Station.ID, Kind: "DuplicateStop",
				Type: "TransactionEvent", At: at, Detail: c.Payload})
			if err != nil {
				return nil, err
			}
			return json.Marshal(resp)
		}
		if sess.Status == domain.SessionCompleted && sess.Flag != "" {
			// The server had closed it for lack of news; news came, so it is live again.
			sess.Status, sess.StoppedAt, sess.Flag, sess.StopReason = domain.SessionActive, time.Time{}, "", ""
		}
		apply201(&sess, req, evseID, connectorID, at, auth)
		sess.LastEventAt, sess.UpdatedAt = now, now
		if isNew {
			if sess, err = tx.NewSession(sess); err != nil {
				return nil, err
			}
		}
		var samples []domain.MeterSample
		for _, mv := range req.MeterValue {
			samples = append(samples, samples201(c.Station.ID, sess.EVSEID, mv)...)
		}
		for i := range samples {
			samples[i].SessionID = sess.ID
		}
		if err := tx.AddSamples(samples); err != nil {
			return nil, err
		}
		foldSamples(&sess, samples)
		if st := req.TransactionInfo.ChargingState; st != "" {
			if err := tx.AddChargingStates([]domain.ChargingStateMark{{SessionID: sess.ID, At: at, State: string(st)}}); err != nil {
				return nil, err
			}
		}
		if req.EventType == v201.TransactionEventEnumTypeEnded {
			sess.Status, sess.StoppedAt = domain.SessionCompleted, at
			sess.StopReason = orDefault(string(req.TransactionInfo.StoppedReason), "Local")
			if sess.MeterStopWh == nil {
				sess.MeterStopWh = sess.MeterLastWh
			}
		}
		if err := tx.UpdateSession(sess); err != nil {
			return nil, err
		}
		o.sess, o.applied, o.isNew = sess, true, isNew
		o.ended = sess.Status == domain.SessionCompleted && req.EventType == v201.TransactionEventEnumTypeEnded
		return json.Marshal(resp)
	})
	if err == nil {
		s.reservationUsed(ctx, c.Station.ID, req.ReservationId, req.TransactionInfo.TransactionId)
		answer = s.billTransactionEvent(ctx, o, req, answer)
	}
	return json.RawMessage(answer), err
}

// apply201 copies what a TransactionEvent says into the session.
func apply201(sess *domain.Session, req *v201.TransactionEventRequest, evseID, connectorID int, at time.Time, auth *authorization) {
	if sess.EVSEID == 0 && evseID > 0 {
		sess.EVSEID, sess.ConnectorID = evseID, connectorID
	}
	if sess.ConnectorID == 0 && connectorID > 0 && evseID == sess.EVSEID {
		sess.ConnectorID = connectorID
	}
	if at.Before(sess.StartedAt) {
		sess.StartedAt = at
	}
	if auth != nil && sess.IDToken == "" {
		sess.IDToken, sess.IDTokenType, sess.AuthStatus = req.IdToken.IdToken, string(req.IdToken.Type), auth.Status
	}
	info := req.TransactionInfo
	if info.RemoteStartId != nil {
		sess.RemoteStartID = info.RemoteStartId
	}
	if req.ReservationId != nil {
		sess.ReservationID = req.ReservationId
	}
	if !at.Before(sess.LastStationAt) {
		sess.LastStationAt = at
		seq := req.SeqNo
		sess.LastSeqNo = &seq
		if info.ChargingState != "" {
			sess.ChargingState = string(info.ChargingState)
		}
	}
}

// meterValues201 keeps readings sent outside transactions (2.0.1 sends transaction readings in
// TransactionEvent).
func (s *Service) meterValues201(ctx context.Context, c *stationCall, req *v201.MeterValuesRequest) (any, error) {
	var samples []domain.MeterSample
	for _, mv := range req.MeterValue {
		samples = append(samples, samples201(c.Station.ID, req.EvseId, mv)...)
	}
	answer, err := s.apply(ctx, c, func(tx domain.SessionTx) ([]byte, error) {
		if err := tx.AddSamples(samples); err != nil {
			return nil, err
		}
		return json.Marshal(v201.MeterValuesResponse{})
	})
	return json.RawMessage(answer), err
}

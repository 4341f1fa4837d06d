package csms

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// remoteStartWindow is how long a remote start waits for the station's StartTransaction to be
// linked to it (OCPP 1.6 carries no remote start id; we match station, connector and idTag).
const remoteStartWindow = 5 * time.Minute

type pendingStart struct {
	evseID int
	idTag  string
	id     int
	at     time.Time
}

// remoteStarts remembers accepted OCPP 1.6 remote starts until their session begins.
type remoteStarts struct {
	mu      sync.Mutex
	pending map[string][]pendingStart // by station
}

func newRemoteStarts() *remoteStarts { return &remoteStarts{pending: map[string][]pendingStart{}} }

func (r *remoteStarts) add(stationID string, p pendingStart) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending[stationID] = append(r.pending[stationID], p)
}

// claim returns the id of the remote start a new session answers, if any, and forgets it.
func (r *remoteStarts) claim(stationID string, evseID int, idTag string, now time.Time) *int {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.pending[stationID]
	var found *int
	kept := list[:0]
	for _, p := range list {
		switch {
		case now.Sub(p.at) > remoteStartWindow:
		case found == nil && p.idTag == idTag && (p.evseID == 0 || p.evseID == evseID):
			id := p.id
			found = &id
		default:
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		delete(r.pending, stationID)
	} else {
		r.pending[stationID] = kept
	}
	return found
}

// StartSession asks a station to start charging on an EVSE (0: the station picks) for a token:
// RemoteStartTransaction in 1.6, RequestStartTransaction in 2.0.1. The session appears once the
// station starts it, carrying the returned RemoteStartID.
func (s *Service) StartSession(ctx context.Context, actor, stationID string, evseID int, idToken string) (domain.RemoteStart, error) {
	st, err := s.store.Station(ctx, stationID)
	if err != nil {
		return domain.RemoteStart{}, err
	}
	a, err := authorize(s.storeTokens(ctx), idToken, s.now())
	if err != nil {
		return domain.RemoteStart{}, err
	}
	if a.Status != domain.TokenAccepted {
		return domain.RemoteStart{}, domain.Errorf(domain.ErrConflict, "token %s authorizes as %s", idToken, a.Status)
	}
	id, err := newRemoteStartID()
	if err != nil {
		return domain.RemoteStart{}, err
	}
	var evse *int
	if evseID > 0 {
		evse = &evseID
	}
	switch ocpp.Version(st.OCPPVersion) {
	case ocpp.V16:
		res, err := s.Call(ctx, actor, stationID, "RemoteStartTransaction",
			mustJSON(v16.RemoteStartTransactionRequest{ConnectorId: evse, IdTag: idToken}))
		if err != nil {
			return domain.RemoteStart{}, err
		}
		var out v16.RemoteStartTransactionResponse
		if err := json.Unmarshal(res, &out); err != nil {
			return domain.RemoteStart{}, err
		}
		if out.Status == v16.RemoteStartTransactionResponseStatusAccepted {
			s.remote.add(stationID, pendingStart{evseID: evseID, idTag: idToken, id: id, at: s.now()})
		}
		return domain.RemoteStart{RemoteStartID: id, Status: string(out.Status)}, nil
	case ocpp.V201:
		res, err := s.Call(ctx, actor, stationID, "RequestStartTransaction", mustJSON(v201.RequestStartTransactionRequest{
			EvseId: evse, RemoteStartId: id, IdToken: v201.IdTokenType{IdToken: idToken, Type: v201.IdTokenEnumType(tokenType201(a))},
		}))
		if err != nil {
			return domain.RemoteStart{}, err
		}
		var out v201.RequestStartTransactionResponse
		if err := json.Unmarshal(res, &out); err != nil {
			return domain.RemoteStart{}, err
		}
		return domain.RemoteStart{RemoteStartID: id, Status: string(out.Status), TransactionID: out.TransactionId}, nil
	}
	return domain.RemoteStart{}, domain.Errorf(domain.ErrOffline, "station %s has never connected", stationID)
}

// tokenType201 is the IdTokenEnumType to send for a token of ours.
func tokenType201(a authorization) string {
	switch a.Token.Type {
	case "Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization":
		return a.Token.Type
	}
	return "Central"
}

// StopSession asks a station to stop an active session: RemoteStopTransaction in 1.6,
// RequestStopTransaction in 2.0.1. It returns the station's answer (Accepted or Rejected); the
// session completes when the station reports the stop.
func (s *Service) StopSession(ctx context.Context, actor string, sessionID int64) (string, error) {
	sess, err := s.store.Session(ctx, sessionID)
	if err != nil {
		return "", err
	}
	if sess.Status != domain.SessionActive {
		return "", domain.Errorf(domain.ErrConflict, "session %d is not active", sessionID)
	}
	st, err := s.store.Station(ctx, sess.StationID)
	if err != nil {
		return "", err
	}
	switch ocpp.Version(st.OCPPVersion) {
	case ocpp.V16:
		txID, err := strconv.Atoi(sess.TransactionID)
		if err != nil {
			return "", domain.Errorf(domain.ErrConflict, "session %d has no OCPP 1.6 transaction id", sessionID)
		}
		res, err := s.Call(ctx, actor, sess.StationID, "RemoteStopTransaction", mustJSON(v16.RemoteStopTransactionRequest{TransactionId: txID}))
		if err != nil {
			return "", err
		}
		var out v16.RemoteStopTransactionResponse
		err = json.Unmarshal(res, &out)
		return string(out.Status), err
	case ocpp.V201:
		res, err := s.Call(ctx, actor, sess.StationID, "RequestStopTransaction", mustJSON(v201.RequestStopTransactionRequest{TransactionId: sess.TransactionID}))
		if err != nil {
			return "", err
		}
		var out v201.RequestStopTransactionResponse
		err = json.Unmarshal(res, &out)
		return string(out.Status), err
	}
	return "", domain.Errorf(domain.ErrOffline, "station %s has never connected", sess.StationID)
}

// newRemoteStartID returns a random positive 31-bit id: unique enough to tell one station's
// remote starts apart, and an integer as OCPP 2.0.1 requires.
func newRemoteStartID() (int, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint32(b[:])>>2) + 1, nil
}

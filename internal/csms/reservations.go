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
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// Reservations: one version-neutral operation, translated per station version. The
// reservation's row id is the OCPP reservationId, so a reservation is stored before ReserveNow
// goes out; the station's answer decides whether it becomes active or rejected.

// maxReservation bounds how far ahead a reservation may expire.
const maxReservation = 7 * 24 * time.Hour

// Reserve asks a station to hold an EVSE (0: any EVSE of the station) for a token until
// expiresAt. It returns the reservation as stored: active when the station accepted, rejected
// (with the station's answer, and an ErrConflict) when it refused.
func (s *Service) Reserve(ctx context.Context, actor, stationID string, evseID int, idToken string, expiresAt time.Time) (domain.Reservation, error) {
	now := s.now().UTC()
	switch {
	case evseID < 0:
		return domain.Reservation{}, domain.Errorf(domain.ErrInvalid, "evseId must be 0 (any EVSE) or a positive EVSE id")
	case !expiresAt.After(now):
		return domain.Reservation{}, domain.Errorf(domain.ErrInvalid, "expiresAt must be in the future")
	case expiresAt.Sub(now) > maxReservation:
		return domain.Reservation{}, domain.Errorf(domain.ErrInvalid, "expiresAt may be at most %s ahead", maxReservation)
	}
	st, err := s.store.Station(ctx, stationID)
	if err != nil {
		return domain.Reservation{}, err
	}
	if evseID > 0 && !hasEVSE(st, evseID) {
		return domain.Reservation{}, domain.Errorf(domain.ErrInvalid, "station %s has no EVSE %d", stationID, evseID)
	}
	a, err := authorize(s.storeTokens(ctx), idToken, now)
	if err != nil {
		return domain.Reservation{}, err
	}
	if a.Status != domain.TokenAccepted {
		return domain.Reservation{}, domain.Errorf(domain.ErrConflict, "token %s authorizes as %s", idToken, a.Status)
	}
	r := domain.Reservation{StationID: stationID, EVSEID: evseID, IDToken: idToken, IDTokenType: tokenType201(a),
		ExpiresAt: expiresAt.UTC(), Status: domain.ReservationRequested, Actor: actor}
	action, build, err := reserveNowPayload(st, r, a)
	if err != nil {
		return domain.Reservation{}, err
	}
	// Refuse what the station would refuse before anything is stored (ids are integers either way).
	if err := s.precheck(ctx, st, action, build(1)); err != nil {
		return domain.Reservation{}, err
	}
	r, err = s.store.CreateReservation(ctx, r)
	if err != nil {
		return domain.Reservation{}, err
	}
	res, callErr := s.Call(ctx, actor, stationID, action, build(int(r.ID)))
	requested := []domain.ReservationStatus{domain.ReservationRequested}
	if callErr != nil {
		if _, err := s.store.SetReservationStatus(context.WithoutCancel(ctx), r.ID, requested, domain.ReservationRejected, "", ""); err != nil {
			s.log.ErrorContext(ctx, "csms: reservation state lost", "reservation", r.ID, "err", err)
		}
		return domain.Reservation{}, callErr
	}
	var out struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return domain.Reservation{}, err
	}
	to := domain.ReservationRejected
	if out.Status == "Accepted" {
		to = domain.ReservationActive
	}
	r, err = s.store.SetReservationStatus(context.WithoutCancel(ctx), r.ID, requested, to, out.Status, "")
	if err != nil {
		// A station may report a ReservationStatusUpdate before its answer is processed; what
		// it said there stands.
		if errors.Is(err, domain.ErrConflict) {
			return s.store.Reservation(ctx, r.ID)
		}
		return domain.Reservation{}, err
	}
	if to == domain.ReservationRejected {
		return r, domain.Errorf(domain.ErrConflict, "the station answered %s to the reservation", out.Status)
	}
	return r, nil
}

// reserveNowPayload builds ReserveNow for the station's version; build takes the reservation id.
func reserveNowPayload(st domain.Station, r domain.Reservation, a authorization) (string, func(id int) json.RawMessage, error) {
	switch ocpp.Version(st.OCPPVersion) {
	case ocpp.V16:
		return "ReserveNow", func(id int) json.RawMessage {
			return mustJSON(v16.ReserveNowRequest{ConnectorId: r.EVSEID, ExpiryDate: r.ExpiresAt, IdTag: r.IDToken,
				ParentIdTag: a.Token.GroupID, ReservationId: id})
		}, nil
	case ocpp.V201:
		return "ReserveNow", func(id int) json.RawMessage {
			req := v201.ReserveNowRequest{Id: id, ExpiryDateTime: r.ExpiresAt,
				IdToken: v201.IdTokenType{IdToken: r.IDToken, Type: v201.IdTokenEnumType(r.IDTokenType)}}
			if r.EVSEID > 0 {
				req.EvseId = &r.EVSEID
			}
			if a.Token.GroupID != "" {
				req.GroupIdToken = &v201.IdTokenType{IdToken: a.Token.GroupID, Type: v201.IdTokenEnumTypeCentral}
			}
			return mustJSON(req)
		}, nil
	}
	return "", nil, domain.Errorf(domain.ErrOffline, "station %s has never connected", st.ID)
}

// CancelReservation asks the station to drop an open reservation. A station that no longer
// knows it (Rejected) has no hold on the EVSE either, so the reservation ends cancelled all the
// same.
func (s *Service) CancelReservation(ctx context.Context, actor string, id int64) (domain.Reservation, error) {
	r, err := s.store.Reservation(ctx, id)
	if err != nil {
		return domain.Reservation{}, err
	}
	if !r.Open() {
		return r, domain.Errorf(domain.ErrConflict, "reservation %d is %s", id, r.Status)
	}
	st, err := s.store.Station(ctx, r.StationID)
	if err != nil {
		return domain.Reservation{}, err
	}
	var payload json.RawMessage
	switch ocpp.Version(st.OCPPVersion) {
	case ocpp.V16:
		payload = mustJSON(v16.CancelReservationRequest{ReservationId: int(id)})
	case ocpp.V201:
		payload = mustJSON(v201.CancelReservationRequest{ReservationId: int(id)})
	default:
		return domain.Reservation{}, domain.Errorf(domain.ErrOffline, "station %s has never connected", st.ID)
	}
	res, err := s.Call(ctx, actor, r.StationID, "CancelReservation", payload)
	if err != nil {
		return domain.Reservation{}, err
	}
	var out struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return domain.Reservation{}, err
	}
	return s.store.SetReservationStatus(context.WithoutCancel(ctx), id,
		[]domain.ReservationStatus{domain.ReservationRequested, domain.ReservationActive}, domain.ReservationCancelled, "Cancel"+out.Status, "")
}

// ExpireReservations marks open reservations past their expiry as expired: the station frees
// the EVSE by itself at that time (and reports it Available). It returns how many it marked.
func (s *Service) ExpireReservations(ctx context.Context) (int, error) {
	due, err := s.store.DueReservations(ctx, s.now().UTC(), 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range due {
		_, err := s.store.SetReservationStatus(ctx, r.ID,
			[]domain.ReservationStatus{domain.ReservationRequested, domain.ReservationActive}, domain.ReservationExpired, "", "")
		switch {
		case err == nil:
			n++
		case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrNotFound):
			// used, cancelled or deleted meanwhile
		default:
			return n, err
		}
	}
	return n, nil
}

// reservationUsed records that a session started on a reservation. Stations send the
// reservation id of a session once; a retransmission finds it already used and changes nothing.
func (s *Service) reservationUsed(ctx context.Context, stationID string, reservationID *int, transactionID string) {
	if reservationID == nil {
		return
	}
	r, err := s.store.Reservation(ctx, int64(*reservationID))
	if errors.Is(err, domain.ErrNotFound) || (err == nil && r.StationID != stationID) {
		s.log.WarnContext(ctx, "csms: a session names an unknown reservation", "station", stationID, "reservation", *reservationID)
		return
	}
	if err != nil {
		s.log.ErrorContext(ctx, "csms: reservation not marked used", "station", stationID, "reservation", *reservationID, "err", err)
		return
	}
	// An expiry noted a moment before the start does not stop the session from having used it.
	_, err = s.store.SetReservationStatus(ctx, r.ID,
		[]domain.ReservationStatus{domain.ReservationRequested, domain.ReservationActive, domain.ReservationExpired},
		domain.ReservationUsed, "", transactionID)
	if err != nil && !errors.Is(err, domain.ErrConflict) {
		s.log.ErrorContext(ctx, "csms: reservation not marked used", "station", stationID, "reservation", r.ID, "err", err)
	}
}

// reservationStatusUpdate201 follows a 2.0.1 station's word that a reservation ended without
// being used: Expired, or Removed (the EVSE became unusable, the reservation was dropped).
func (s *Service) reservationStatusUpdate201(ctx context.Context, c *stationCall, req *v201.ReservationStatusUpdateRequest) (any, error) {
	if err := s.addEvent(ctx, c, "ReservationStatusUpdate", string(req.ReservationUpdateStatus), req); err != nil {
		return nil, err
	}
	r, err := s.store.Reservation(ctx, int64(req.ReservationId))
	if errors.Is(err, domain.ErrNotFound) || (err == nil && r.StationID != c.Station.ID) {
		return v201.ReservationStatusUpdateResponse{}, nil // kept as an event; nothing of ours to update
	}
	if err != nil {
		return nil, err
	}
	to := domain.ReservationExpired
	if req.ReservationUpdateStatus == v201.ReservationUpdateStatusEnumTypeRemoved {
		to = domain.ReservationCancelled
	}
	_, err = s.store.SetReservationStatus(ctx, r.ID,
		[]domain.ReservationStatus{domain.ReservationRequested, domain.ReservationActive}, to, string(req.ReservationUpdateStatus), "")
	if err != nil && !errors.Is(err, domain.ErrConflict) {
		return nil, err
	}
	return v201.ReservationStatusUpdateResponse{}, nil
}

func hasEVSE(st domain.Station, id int) bool {
	if len(st.EVSEs) == 0 {
		return true // not reported yet: let the station decide
	}
	for _, e := range st.EVSEs {
		if e.ID == id {
			return true
		}
	}
	return false
}

// precheck refuses a call that Call would refuse before sending, so that an operation stores
// nothing for it: unknown action, invalid payload, a station that is Rejected or offline.
func (s *Service) precheck(_ context.Context, st domain.Station, action string, payload json.RawMessage) error {
	v := ocpp.Version(st.OCPPVersion)
	act, ok := s.catalogs[v].Lookup(action)
	if !ok {
		return domain.Errorf(domain.ErrInvalid, "%s is not an OCPP %s action", action, v)
	}
	if err := act.Request.Validate(payload); err != nil {
		return domain.Errorf(domain.ErrInvalid, "payload for %s (OCPP %s): %v", action, v, err)
	}
	if st.RegistrationStatus == domain.RegistrationRejected {
		return domain.Errorf(domain.ErrConflict, "station %s is Rejected: the CSMS sends it nothing", st.ID)
	}
	if !st.Connected {
		return domain.Errorf(domain.ErrOffline, "station %s is not connected", st.ID)
	}
	return nil
}

// transactionIDOf16 reads the transactionId out of a StartTransaction answer.
func transactionIDOf16(answer []byte) string {
	var r v16.StartTransactionResponse
	if json.Unmarshal(answer, &r) != nil || r.TransactionId == 0 {
		return ""
	}
	return strconv.Itoa(r.TransactionId)
}

package sim

import (
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// Reservations (1.6 ReserveNow / CancelReservation, 2.0.1 the same with other payloads): an
// EVSE held for one token until an expiry. A reserved EVSE shows Reserved, starts only for that
// token (or its group), and the transaction names the reservation; at the expiry the EVSE is
// Available again (2.0.1 also sends ReservationStatusUpdate Expired). A reservation of "any
// EVSE" (1.6 connector 0, 2.0.1 without evseId) holds one free EVSE the station picks.

type reservation struct {
	id       int
	token    string
	group    string
	expireAt time.Time // monotonic deadline of the expiry
}

// fieldState is the station's state for field operations (reservations, uploads, firmware).
// Owned by the Run goroutine like the rest of the station.
type fieldState struct {
	reserved map[int]*reservation // by EVSE id
	firmware *firmwareJob         // the update under way, if any
}

func (s *Station) reservationOn(e *evse) *reservation {
	return s.field.reserved[e.id]
}

// reserveStatus is the answer to a reservation of e: "Accepted" or why not.
func (s *Station) reserveStatus(e *evse, id int) string {
	switch {
	case e.faulted:
		return "Faulted"
	case e.inoperative || s.inoperative:
		return "Unavailable"
	case e.ev != nil || e.tx != nil:
		return "Occupied"
	}
	if r := s.reservationOn(e); r != nil && r.id != id {
		return "Occupied"
	}
	return "Accepted"
}

// reserve handles ReserveNow for evseID (0: any). It returns the answer and, when accepted,
// the work to do once the answer is sent.
func (s *Station) reserve(evseID, id int, token, group string, expiry time.Time) (string, func()) {
	var target *evse
	if evseID > 0 {
		if target = s.evse(evseID); target == nil {
			return "Rejected", nil
		}
		if st := s.reserveStatus(target, id); st != "Accepted" {
			return st, nil
		}
	} else {
		status := "Occupied"
		for _, e := range s.evses {
			if st := s.reserveStatus(e, id); st == "Accepted" {
				target = e
				break
			} else if status == "Occupied" {
				status = st
			}
		}
		if target == nil {
			return status, nil
		}
	}
	if !s.inService() {
		return "Rejected", nil
	}
	// The same reservation id again replaces the reservation (1.6 §5.13, 2.0.1 H01.FR.02).
	for evID, r := range s.field.reserved {
		if r.id == id {
			delete(s.field.reserved, evID)
			if e := s.evse(evID); e != nil && e != target {
				defer s.syncStatus(e)
			}
		}
	}
	if s.field.reserved == nil {
		s.field.reserved = map[int]*reservation{}
	}
	left := max(expiry.Sub(s.wall()), 0)
	s.field.reserved[target.id] = &reservation{id: id, token: token, group: group, expireAt: s.mono().Add(left)}
	return "Accepted", func() { s.syncStatus(target) }
}

// cancelReservation handles CancelReservation.
func (s *Station) cancelReservation(id int) (bool, func()) {
	for evID, r := range s.field.reserved {
		if r.id == id {
			delete(s.field.reserved, evID)
			return true, func() { s.syncStatus(s.evse(evID)) }
		}
	}
	return false, nil
}

// claimReservation decides whether a transaction may start on e for token: true when e is not
// reserved, or reserved for token (the reservation is then used and its id returned).
func (s *Station) claimReservation(e *evse, token string) (bool, *int) {
	r := s.reservationOn(e)
	if r == nil {
		return true, nil
	}
	if r.token != token && (r.group == "" || r.group != token) {
		return false, nil
	}
	delete(s.field.reserved, e.id)
	id := r.id
	return true, &id
}

// reservationDeadline is the earliest reservation expiry, or zero.
func (s *Station) reservationDeadline() time.Time {
	var next time.Time
	for _, r := range s.field.reserved {
		if next.IsZero() || r.expireAt.Before(next) {
			next = r.expireAt
		}
	}
	return next
}

// fireReservation expires the reservations due at t; false when none was.
func (s *Station) fireReservation(t time.Time) bool {
	fired := false
	for evID, r := range s.field.reserved {
		if r.expireAt.After(t) {
			continue
		}
		fired = true
		delete(s.field.reserved, evID)
		s.syncStatus(s.evse(evID))
		if s.cfg.Version == ocpp.V201 {
			req := v201.ReservationStatusUpdateRequest{ReservationId: r.id, ReservationUpdateStatus: v201.ReservationUpdateStatusEnumTypeExpired}
			s.send(&outMsg{action: "ReservationStatusUpdate", build: func() (any, error) { return req, nil }})
		}
	}
	return fired
}

func reserveNow16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.ReserveNowRequest)
	status, after := s.reserve(r.ConnectorId, r.ReservationId, r.IdTag, r.ParentIdTag, r.ExpiryDate)
	return v16.ReserveNowResponse{Status: v16.ReserveNowResponseStatus(status)}, after, nil
}

func cancelReservation16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.CancelReservationRequest)
	if ok, after := s.cancelReservation(r.ReservationId); ok {
		return v16.CancelReservationResponse{Status: v16.CancelReservationResponseStatusAccepted}, after, nil
	}
	return v16.CancelReservationResponse{Status: v16.CancelReservationResponseStatusRejected}, nil, nil
}

func reserveNow201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.ReserveNowRequest)
	evseID, group := 0, ""
	if r.EvseId != nil {
		evseID = *r.EvseId
	}
	if r.GroupIdToken != nil {
		group = r.GroupIdToken.IdToken
	}
	status, after := s.reserve(evseID, r.Id, r.IdToken.IdToken, group, r.ExpiryDateTime)
	return v201.ReserveNowResponse{Status: v201.ReserveNowStatusEnumType(status)}, after, nil
}

func cancelReservation201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.CancelReservationRequest)
	if ok, after := s.cancelReservation(r.ReservationId); ok {
		return v201.CancelReservationResponse{Status: v201.CancelReservationStatusEnumTypeAccepted}, after, nil
	}
	return v201.CancelReservationResponse{Status: v201.CancelReservationStatusEnumTypeRejected}, nil, nil
}

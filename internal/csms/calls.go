package csms

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/schema"
)

// notWhilePending are the calls a CSMS may not send to a station in Pending state (OCPP 1.6
// §4.2; OCPP 2.0.1 B02): everything that would start or stop charging.
var notWhilePending = map[string]bool{
	"RemoteStartTransaction": true, "RemoteStopTransaction": true,
	"RequestStartTransaction": true, "RequestStopTransaction": true,
}

// Call sends a CSMS-initiated OCPP call and records it in the audit log under actor. A request
// refused before it was sent (unknown station or action, invalid payload, registration state)
// is answered with an error and not audited: nothing happened.
func (s *Service) Call(ctx context.Context, actor, stationID, action string, payload json.RawMessage) (json.RawMessage, error) {
	st, err := s.store.Station(ctx, stationID)
	if err != nil {
		return nil, err
	}
	if st.OCPPVersion == "" {
		return nil, domain.Errorf(domain.ErrOffline, "station %s has never connected", stationID)
	}
	v := ocpp.Version(st.OCPPVersion)
	act, ok := s.catalogs[v].Lookup(action)
	if !ok {
		return nil, domain.Errorf(domain.ErrInvalid, "%s is not an OCPP %s action", action, v)
	}
	if act.Direction&schema.FromCSMS == 0 {
		return nil, domain.Errorf(domain.ErrInvalid, "%s is sent by charging stations, not by a CSMS", action)
	}
	if err := act.Request.Validate(payload); err != nil {
		return nil, domain.Errorf(domain.ErrInvalid, "payload for %s (OCPP %s): %v", action, v, err)
	}
	switch {
	case st.RegistrationStatus == domain.RegistrationRejected:
		return nil, domain.Errorf(domain.ErrConflict, "station %s is Rejected: the CSMS sends it nothing", stationID)
	case st.RegistrationStatus == domain.RegistrationPending && notWhilePending[action]:
		return nil, domain.Errorf(domain.ErrConflict, "station %s is Pending: %s is not allowed until it is accepted", stationID, action)
	}
	s.beforeCall(stationID, action, payload)
	result, err := s.send(ctx, stationID, action, payload)
	if err == nil {
		if verr := act.Response.Validate(result); verr != nil {
			err = domain.Errorf(domain.ErrStationProtocol, "the station's answer to %s violates the OCPP %s schema: %v", action, v, verr)
		}
	}
	if err == nil {
		s.observeCall(ctx, stationID, action, payload, result)
	}
	s.audit(ctx, actor, stationID, action, payload, result, err)
	if err != nil {
		return nil, err
	}
	return result, nil
}

// audit records one CSMS-initiated call. Losing the entry is logged, never hidden.
func (s *Service) audit(ctx context.Context, actor, stationID, action string, request, response json.RawMessage, callErr error) {
	e := domain.AuditEntry{At: s.now().UTC(), Actor: actor, StationID: stationID, Action: action, Request: request}
	if callErr == nil {
		e.Response = response
	} else {
		e.Error = auditError(callErr)
	}
	if err := s.store.AddAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.ErrorContext(ctx, "csms: audit entry lost", "station", stationID, "action", action, "err", err)
	}
}

func auditError(err error) json.RawMessage {
	body := map[string]string{"message": publicMessage(err)}
	var ce *ocpp.CallError
	if errors.As(err, &ce) {
		body["ocppErrorCode"] = string(ce.Code)
	}
	b, _ := json.Marshal(body)
	return b
}

// publicMessage is the text of an error that may be shown outside: a domain or OCPP error's own
// message, the name of a domain error kind, or nothing more than "internal error".
func publicMessage(err error) string {
	var ce *ocpp.CallError
	var de *domain.Error
	switch {
	case errors.As(err, &de):
		return de.Message
	case errors.As(err, &ce):
		return ce.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return domain.ErrTimeout.Error()
	}
	for _, kind := range []error{domain.ErrTimeout, domain.ErrOffline, domain.ErrNotFound, domain.ErrInvalid, domain.ErrConflict} {
		if errors.Is(err, kind) {
			return kind.Error()
		}
	}
	return "internal error"
}

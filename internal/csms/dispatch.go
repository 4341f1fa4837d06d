package csms

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/schema"
)

// stationCall is what a handler knows about the call it answers.
type stationCall struct {
	Version ocpp.Version
	Station domain.Station
	Action  string
	Payload json.RawMessage // as received, for exactly-once handling
}

// handler answers one station→CSMS action. The payload has already passed the schema.
type handler func(ctx context.Context, c *stationCall, payload json.RawMessage) (any, error)

// typed decodes the payload into the generated request type before calling f.
func typed[Req any](f func(ctx context.Context, c *stationCall, req *Req) (any, error)) handler {
	return func(ctx context.Context, c *stationCall, payload json.RawMessage) (any, error) {
		var req Req
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, ocpp.Errorf(ocpp.FormatViolation, "payload does not decode: %v", err)
		}
		return f(ctx, c, &req)
	}
}

// ocppCodeOf is the one table from domain error kinds to OCPP CallError codes.
var ocppCodeOf = []struct {
	kind error
	code ocpp.ErrorCode
}{
	{domain.ErrInvalid, ocpp.PropertyConstraintViolation},
	{domain.ErrUnauthorized, ocpp.SecurityError},
	{domain.ErrForbidden, ocpp.SecurityError},
	{domain.ErrNotFound, ocpp.GenericError},
	{domain.ErrConflict, ocpp.GenericError},
}

// callErrorOf turns a handler's error into the CALLERROR the station gets. Only *ocpp.CallError
// and *domain.Error texts are sent; other errors become a bare InternalError.
func callErrorOf(err error) *ocpp.CallError {
	var ce *ocpp.CallError
	if errors.As(err, &ce) {
		return ce
	}
	for _, row := range ocppCodeOf {
		if errors.Is(err, row.kind) {
			msg := ""
			var de *domain.Error
			if errors.As(err, &de) {
				msg = de.Message
			}
			return &ocpp.CallError{Code: row.code, Description: msg}
		}
	}
	return &ocpp.CallError{Code: ocpp.InternalError, Description: "internal error"}
}

// HandleCall answers one CALL from a station: schema check, registration check, the action's
// handler, and a schema check of our own answer.
func (s *Service) HandleCall(ctx context.Context, stationID string, v ocpp.Version, action string, payload json.RawMessage) (json.RawMessage, error) {
	resp, err := s.handleCall(ctx, stationID, v, action, payload)
	if err != nil {
		ce := callErrorOf(err)
		if ce.Code == ocpp.InternalError && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "csms: handler failed", "station", stationID, "action", action, "err", err)
		}
		return nil, ce
	}
	return resp, nil
}

func (s *Service) handleCall(ctx context.Context, stationID string, v ocpp.Version, action string, payload json.RawMessage) (json.RawMessage, error) {
	cat, ok := s.catalogs[v]
	if !ok {
		return nil, ocpp.Errorf(ocpp.ProtocolError, "unsupported OCPP version %s", v)
	}
	act, ok := cat.Lookup(action)
	if !ok {
		return nil, ocpp.Errorf(ocpp.NotImplemented, "unknown action %q in OCPP %s", action, v)
	}
	h := s.tables[v][action]
	if act.Direction&schema.FromStation == 0 || h == nil {
		return nil, ocpp.Errorf(ocpp.NotSupported, "%s is not sent by a charging station", action)
	}
	if err := act.Request.Validate(payload); err != nil {
		return nil, schemaCallError(err)
	}
	st, err := s.station(ctx, stationID, action == "BootNotification")
	if err != nil {
		return nil, err
	}
	if action != "BootNotification" && st.RegistrationStatus == domain.RegistrationRejected {
		return nil, ocpp.Errorf(ocpp.SecurityError, "the station is not accepted by the CSMS")
	}
	result, err := h(ctx, &stationCall{Version: v, Station: st, Action: action, Payload: payload}, payload)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(result)
	if err != nil {
		return nil, err
	}
	if err := act.Response.Validate(out); err != nil {
		// Our own answer breaks the schema: a bug. The station gets InternalError rather than
		// an invalid frame.
		s.log.ErrorContext(ctx, "csms: answer violates the schema", "station", stationID, "action", action, "err", err)
		return nil, ocpp.Errorf(ocpp.InternalError, "internal error")
	}
	s.heard(stationID)
	return out, nil
}

// schemaCallError turns a validation failure into the CALLERROR code the schema rules give.
func schemaCallError(err error) *ocpp.CallError {
	var ve *schema.ValidationError
	if errors.As(err, &ve) {
		return &ocpp.CallError{Code: ve.Code(), Description: ve.Error()}
	}
	return &ocpp.CallError{Code: ocpp.FormatViolation, Description: err.Error()}
}

package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
)

var errNoRoute = &domain.Error{Kind: domain.ErrNotFound, Message: "no such route"}

// errorBody is the one error shape of the API (CONTRACT.md §3).
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	OCPPErrorCode string `json:"ocppErrorCode,omitempty"`
}

// statusOf is the one table from error kinds to HTTP status and error code.
var statusOf = []struct {
	kind    error
	status  int
	code    string
	message string
}{
	{domain.ErrInvalid, http.StatusBadRequest, "invalid_request", "the request is invalid"},
	{domain.ErrUnauthorized, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required"},
	{domain.ErrForbidden, http.StatusForbidden, "forbidden", "not allowed for this token"},
	{domain.ErrNotFound, http.StatusNotFound, "not_found", "not found"},
	{domain.ErrConflict, http.StatusConflict, "conflict", "conflicts with the current state"},
	{domain.ErrOffline, http.StatusConflict, "station_offline", "the station is not connected"},
	{domain.ErrStationProtocol, http.StatusBadGateway, "station_protocol_error", "the station's answer is not valid OCPP"},
	{domain.ErrTimeout, http.StatusGatewayTimeout, "timeout", "the station did not answer in time"},
	{context.DeadlineExceeded, http.StatusGatewayTimeout, "timeout", "the station did not answer in time"},
}

// describe turns an error into its status and body. Only messages of *domain.Error and
// *ocpp.CallError reach the client; anything else is an internal error.
func describe(err error) (int, errorDetail) {
	var ce *ocpp.CallError
	if errors.As(err, &ce) {
		msg := ce.Description
		if msg == "" {
			msg = "the station answered with a CALLERROR"
		}
		return http.StatusBadGateway, errorDetail{Code: "ocpp_call_error", Message: msg, OCPPErrorCode: string(ce.Code)}
	}
	for _, row := range statusOf {
		if errors.Is(err, row.kind) {
			msg := row.message
			var de *domain.Error
			if errors.As(err, &de) && de.Message != "" {
				msg = de.Message
			}
			return row.status, errorDetail{Code: row.code, Message: msg}
		}
	}
	return http.StatusInternalServerError, errorDetail{Code: "internal", Message: "internal error"}
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status, detail := describe(err)
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "api: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="OpenCPO"`)
	}
	writeJSON(w, status, errorBody{Error: detail})
}

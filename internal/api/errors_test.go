package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		err      error
		status   int
		code     string
		message  string
		ocppCode string
	}{
		{domain.Errorf(domain.ErrInvalid, "id is too long"), http.StatusBadRequest, "invalid_request", "id is too long", ""},
		{fmt.Errorf("store: %w", domain.ErrNotFound), http.StatusNotFound, "not_found", "not found", ""},
		{domain.Errorf(domain.ErrConflict, "station CP-1 exists"), http.StatusConflict, "conflict", "station CP-1 exists", ""},
		{domain.ErrOffline, http.StatusConflict, "station_offline", "the station is not connected", ""},
		{domain.ErrUnauthorized, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required", ""},
		{domain.ErrForbidden, http.StatusForbidden, "forbidden", "not allowed for this token", ""},
		{fmt.Errorf("wait: %w", domain.ErrTimeout), http.StatusGatewayTimeout, "timeout", "the station did not answer in time", ""},
		{context.DeadlineExceeded, http.StatusGatewayTimeout, "timeout", "the station did not answer in time", ""},
		{domain.Errorf(domain.ErrStationProtocol, "bad answer"), http.StatusBadGateway, "station_protocol_error", "bad answer", ""},
		{&ocpp.CallError{Code: ocpp.NotSupported, Description: "nope"}, http.StatusBadGateway, "ocpp_call_error", "nope", "NotSupported"},
		{&ocpp.CallError{Code: ocpp.InternalError}, http.StatusBadGateway, "ocpp_call_error", "the station answered with a CALLERROR", "InternalError"},
		{errors.New("disk on fire at /var/lib/secret"), http.StatusInternalServerError, "internal", "internal error", ""},
	}
	for _, tt := range tests {
		status, d := describe(tt.err)
		if status != tt.status || d.Code != tt.code || d.Message != tt.message || d.OCPPErrorCode != tt.ocppCode {
			t.Errorf("describe(%v) = %d %+v; want %d %s %q %s", tt.err, status, d, tt.status, tt.code, tt.message, tt.ocppCode)
		}
	}
}

package csms

import (
	"errors"
	"fmt"
	"testing"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
)

func TestCallErrorOf(t *testing.T) {
	tests := []struct {
		err  error
		code ocpp.ErrorCode
		desc string
	}{
		{ocpp.Errorf(ocpp.SecurityError, "not accepted"), ocpp.SecurityError, "not accepted"},
		{fmt.Errorf("wrapped: %w", ocpp.Errorf(ocpp.NotSupported, "x")), ocpp.NotSupported, "x"},
		{domain.Errorf(domain.ErrInvalid, "connectorId must be 1 or more"), ocpp.PropertyConstraintViolation, "connectorId must be 1 or more"},
		{domain.ErrUnauthorized, ocpp.SecurityError, ""},
		{domain.ErrForbidden, ocpp.SecurityError, ""},
		{fmt.Errorf("store: %w", domain.ErrNotFound), ocpp.GenericError, ""},
		{domain.ErrConflict, ocpp.GenericError, ""},
		{errors.New("database is locked at /tmp/x"), ocpp.InternalError, "internal error"},
	}
	for _, tt := range tests {
		ce := callErrorOf(tt.err)
		if ce.Code != tt.code || ce.Description != tt.desc {
			t.Errorf("callErrorOf(%v) = %s %q; want %s %q", tt.err, ce.Code, ce.Description, tt.code, tt.desc)
		}
	}
}

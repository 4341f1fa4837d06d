// Package ocpp is the OCPP-J framing shared by both protocol versions: CALL, CALLRESULT and
// CALLERROR frames, message ids, and the error codes with their per-version spellings.
// It imports only the standard library.
package ocpp

import (
	"encoding/json"
	"fmt"
)

// Version is an OCPP protocol version as negotiated by WebSocket subprotocol.
type Version string

const (
	V16  Version = "1.6"
	V201 Version = "2.0.1"
)

// Subprotocol returns the WebSocket subprotocol name of v ("ocpp1.6", "ocpp2.0.1").
func (v Version) Subprotocol() string { return "ocpp" + string(v) }

// MessageType is the first element of an OCPP-J frame.
type MessageType int

const (
	TypeCall       MessageType = 2
	TypeCallResult MessageType = 3
	TypeCallError  MessageType = 4
)

// ErrorCode is a CALLERROR code in its canonical (2.0.1) spelling. Use WireCode to spell it for
// a version and ParseErrorCode to read either spelling.
type ErrorCode string

const (
	FormatViolation               ErrorCode = "FormatViolation"
	GenericError                  ErrorCode = "GenericError"
	InternalError                 ErrorCode = "InternalError"
	MessageTypeNotSupported       ErrorCode = "MessageTypeNotSupported"
	NotImplemented                ErrorCode = "NotImplemented"
	NotSupported                  ErrorCode = "NotSupported"
	OccurrenceConstraintViolation ErrorCode = "OccurrenceConstraintViolation"
	PropertyConstraintViolation   ErrorCode = "PropertyConstraintViolation"
	ProtocolError                 ErrorCode = "ProtocolError"
	RPCFrameworkError             ErrorCode = "RpcFrameworkError"
	SecurityError                 ErrorCode = "SecurityError"
	TypeConstraintViolation       ErrorCode = "TypeConstraintViolation"
)

// CallError is an OCPP CALLERROR as a Go error: what a handler returns to make the server answer
// with a CALLERROR, and what Call returns when the peer answered with one.
type CallError struct {
	Code        ErrorCode
	Description string
	Details     json.RawMessage // a JSON object; nil means {}
}

func (e *CallError) Error() string {
	if e.Description == "" {
		return "ocpp call error " + string(e.Code)
	}
	return fmt.Sprintf("ocpp call error %s: %s", e.Code, e.Description)
}

// Errorf builds a CallError with a formatted description.
func Errorf(code ErrorCode, format string, args ...any) *CallError {
	return &CallError{Code: code, Description: fmt.Sprintf(format, args...)}
}

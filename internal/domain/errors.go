package domain

import "fmt"

// Error carries a message that is safe to show to a client (an API caller, an operator) next to
// its kind (one of the Err* values above). Adapters render Message; any other error's text stays
// in the logs.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an *Error of the given kind with a formatted, client-safe message.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

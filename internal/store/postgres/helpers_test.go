package postgres_test

import "errors"

var (
	errorsIs = errors.Is
	errorsAs = errors.As
)

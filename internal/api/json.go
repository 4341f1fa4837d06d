package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

const maxBodyBytes = 1 << 20

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v) // a client that went away is not our error to report
}

// decodeBody reads one JSON object into v, refusing unknown fields, trailing data and bodies over
// the size limit, with messages a caller can act on.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if dec.More() {
		return domain.Errorf(domain.ErrInvalid, "request body must hold a single JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return domain.Errorf(domain.ErrInvalid, "request body must hold a single JSON object")
	}
	return nil
}

// readRawObject reads a body that must be one JSON object and returns it as is.
func readRawObject(w http.ResponseWriter, r *http.Request) (json.RawMessage, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, bodyError(err)
	}
	trimmed := strings.TrimSpace(string(body))
	if trimmed == "" {
		return json.RawMessage("{}"), nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(trimmed), &obj); err != nil || obj == nil {
		return nil, domain.Errorf(domain.ErrInvalid, "request body must be a JSON object")
	}
	return json.RawMessage(trimmed), nil
}

func bodyError(err error) error {
	var maxErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var timeErr *time.ParseError
	var domainErr *domain.Error
	switch {
	case errors.As(err, &domainErr): // from a field's own UnmarshalJSON
		return domainErr
	case errors.As(err, &timeErr):
		return domain.Errorf(domain.ErrInvalid, "timestamps must be RFC 3339, such as 2026-11-24T10:00:00Z")
	case errors.As(err, &maxErr):
		return domain.Errorf(domain.ErrInvalid, "request body is larger than %d bytes", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return domain.Errorf(domain.ErrInvalid, "request body is empty")
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return domain.Errorf(domain.ErrInvalid, "request body is not valid JSON")
	case errors.As(err, &typeErr):
		return domain.Errorf(domain.ErrInvalid, "field %q must be of type %s", typeErr.Field, typeErr.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return domain.Errorf(domain.ErrInvalid, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return domain.Errorf(domain.ErrInvalid, "request body is not valid JSON")
}

// listResponse is the shape of every list (CONTRACT.md §3).
type listResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// pageOf reads ?limit= and ?cursor=.
func pageOf(r *http.Request) (domain.Page, error) {
	p := domain.Page{Cursor: r.URL.Query().Get("cursor")}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return p, domain.Errorf(domain.ErrInvalid, "limit must be a whole number from 1 to 500")
		}
		p.Limit = n
	}
	return p.Normalized(), nil
}

// rawOrNull keeps stored JSON as JSON in a response.
func rawOrNull(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// nullTime is an optional timestamp in a PATCH body: Set tells whether the field was present,
// and a present null leaves Time zero.
type nullTime struct {
	Set  bool
	Time time.Time
}

func (n *nullTime) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Time = time.Time{}
		return nil
	}
	return json.Unmarshal(b, &n.Time)
}

func (n nullTime) MarshalJSON() ([]byte, error) {
	if !n.Set || n.Time.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(n.Time)
}

package postgres

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/opencpo/opencpo/internal/domain"
)

// pgTime is t as the store writes it: UTC, truncated to PostgreSQL's microseconds. Truncated
// rather than left to the server, which rounds: a time then never moves forward on the way in,
// and what a write method returns equals what a later read gives.
func pgTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// nullTime encodes t, the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return pgTime(t)
}

// checkTime rejects times outside years 1..9999, as the SQLite store does, so that both stores
// accept the same input.
func checkTime(what string, t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return invalid("%s %s is out of range", what, t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// fromNull decodes a nullable timestamptz: NULL is the zero time. Times come back in UTC.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// jsonArg encodes a JSON payload for a jsonb column: nil stays NULL, anything else must be valid
// JSON. It goes as text, so that pgx passes the document through as it is.
func jsonArg(what string, b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	if !json.Valid(b) {
		return nil, invalid("%s is not valid JSON", what)
	}
	return string(b), nil
}

// jsonBytes decodes a nullable jsonb column read as text.
func jsonBytes(s *string) []byte {
	if s == nil {
		return nil
	}
	return []byte(*s)
}

// Cursors are opaque to callers and the same as the SQLite store's: a kind prefix (so a cursor of
// one list is refused by another) and the position, base64url-encoded.
func encodeCursor(kind, pos string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + pos))
}

func decodeCursor(kind, c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", invalid("invalid cursor")
	}
	pos, ok := strings.CutPrefix(string(b), kind+":")
	if !ok {
		return "", invalid("invalid cursor")
	}
	return pos, nil
}

// cursorTimeLayout is the time format inside cursors, the SQLite store's timestamp layout.
const cursorTimeLayout = "2006-01-02T15:04:05.000000000Z"

// SQLSTATE codes the store gives a domain meaning.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
	codeNotNullViolation    = "23502"
)

// mapErr adds the domain meaning to a database error: a duplicate key is a conflict, a missing
// parent row (foreign keys point at stations and sessions) is "not found", a value the database
// refuses (a NUL character, text that is not UTF-8, a number out of range) is invalid input. The
// messages go to clients (domain.Error), so they name only what the caller gave; the driver's
// error stays wrapped for the logs. Other errors are returned as they are.
func mapErr(err error, conflict, missing string) error {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Code == codeUniqueViolation:
		if conflict == "" {
			conflict = "already exists"
		}
		return fmt.Errorf("%w: %w", domain.Errorf(domain.ErrConflict, "%s", conflict), err)
	case e.Code == codeForeignKeyViolation:
		if missing == "" {
			missing = "not found"
		}
		return fmt.Errorf("%w: %w", domain.Errorf(domain.ErrNotFound, "%s", missing), err)
	case e.Code == codeCheckViolation || e.Code == codeNotNullViolation:
		return fmt.Errorf("%w: %w", invalid("a value is out of range"), err)
	case strings.HasPrefix(e.Code, "22"): // data exception
		return fmt.Errorf("%w: %w", invalid("a value is not acceptable (text must be UTF-8 without NUL characters, numbers in range)"), err)
	}
	return err
}

// stationNotFound is the error of a write or read that found no station id.
func stationNotFound(id string) error {
	return domain.Errorf(domain.ErrNotFound, "station %q not found", id)
}

// invalid is the error of input the store refuses; the message goes to clients.
func invalid(format string, args ...any) error {
	return domain.Errorf(domain.ErrInvalid, format, args...)
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullFloat(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func nullInt(i *int) any {
	if i == nil {
		return nil
	}
	return int64(*i)
}

func intPtr(i *int64) *int {
	if i == nil {
		return nil
	}
	v := int(*i)
	return &v
}

// querier runs a query: the pool, or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pageByKey reads one page of a list ordered by a text key (ids, uids, emails): query selects
// the columns scan reads and ends in "WHERE key > $1 ORDER BY key LIMIT $2" (the key columns
// are COLLATE "C", so the order is byte-wise as in the SQLite store); kind names the cursor so
// that one list's cursor is refused by another. One row more than the page tells whether there
// is a next one.
func pageByKey[T any](ctx context.Context, q querier, kind, query string, p domain.Page,
	scan func(pgx.Row) (T, error), key func(T) string) ([]T, string, error) {
	p = p.Normalized()
	after := ""
	if p.Cursor != "" {
		var err error
		if after, err = decodeCursor(kind, p.Cursor); err != nil {
			return nil, "", err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	rows, _ := q.Query(ctx, query, after, p.Limit+1)
	defer rows.Close()
	var (
		items []T
		more  bool
	)
	for rows.Next() {
		if len(items) == p.Limit {
			more = true
			break
		}
		it, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", mapErr(err, "", "")
	}
	next := ""
	if more {
		next = encodeCursor(kind, key(items[len(items)-1]))
	}
	return items, next, nil
}

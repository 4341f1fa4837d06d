package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/domain"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// timeLayout stores instants as UTC text of fixed width, nanoseconds included, so that the
// database's text order is time order (indexes, max(), comparisons in upserts) and a time.Time
// round-trips exactly. It reads well in the sqlite3 shell, too.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// formatTime encodes t; it must be non-zero and within years 1..9999 (checked by checkTime).
func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

// nullTime encodes t, the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// checkTime rejects times that the fixed-width layout cannot order correctly.
func checkTime(what string, t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return invalid("%s %s is out of range", what, t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: bad timestamp %q in database: %w", s, err)
	}
	return t.UTC(), nil
}

func parseNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}

// jsonText encodes a JSON payload for a TEXT column: nil stays NULL, anything else must be valid
// JSON (the PostgreSQL store keeps it as jsonb, which would refuse it).
func jsonText(what string, b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	if !json.Valid(b) {
		return nil, invalid("%s is not valid JSON", what)
	}
	return string(b), nil
}

func jsonBytes(s sql.NullString) []byte {
	if !s.Valid {
		return nil
	}
	return []byte(s.String)
}

// Cursors are opaque to callers: a kind prefix (so a cursor of one list is refused by another)
// and the position, base64url-encoded.
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

// mapErr adds the domain meaning to a constraint violation: a duplicate key is a conflict, a
// missing parent row (foreign keys point at stations) is "not found". The messages go to clients
// (domain.Error), so they name only what the caller gave; the driver's error stays wrapped for
// the logs. Other errors are returned as they are.
func mapErr(err error, conflict, missing string) error {
	var e *sqlitedrv.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		if conflict == "" {
			conflict = "already exists"
		}
		return fmt.Errorf("%w: %w", domain.Errorf(domain.ErrConflict, "%s", conflict), err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		if missing == "" {
			missing = "not found"
		}
		return fmt.Errorf("%w: %w", domain.Errorf(domain.ErrNotFound, "%s", missing), err)
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

// oneStation checks that a write by station id matched a row. It is curried so that it can take
// tx.Exec's two results directly: oneStation(id)(tx.Exec(...)).
func oneStation(id string) func(sql.Result, error) error {
	return func(res sql.Result, err error) error {
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return stationNotFound(id)
		}
		return nil
	}
}

// pageByKey reads one page of a list ordered by a text key (ids, uids, emails): query selects
// the columns scan reads and ends in "WHERE key > ? ORDER BY key LIMIT ?"; kind names the
// cursor so that one list's cursor is refused by another.
func pageByKey[T any](ctx context.Context, s *Store, kind, query string, p domain.Page,
	scan func(scanner) (T, error), key func(T) string) ([]T, string, error) {
	p = p.Normalized()
	after := ""
	if p.Cursor != "" {
		var err error
		if after, err = decodeCursor(kind, p.Cursor); err != nil {
			return nil, "", err
		}
	}
	var (
		items []T
		more  bool
	)
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, query, after, p.Limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if len(items) == p.Limit {
				more = true
				break
			}
			it, err := scan(rows)
			if err != nil {
				return err
			}
			items = append(items, it)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if more {
		next = encodeCursor(kind, key(items[len(items)-1]))
	}
	return items, next, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/opencpo/opencpo/internal/domain"
)

// AddAudit appends e to the audit log; a zero At means now. e.ID is ignored (the store assigns
// ids in insertion order). The station need not exist: the log outlives deleted stations.
func (s *Store) AddAudit(ctx context.Context, e domain.AuditEntry) error {
	e.At = s.stamp(e.At)
	req, err1 := jsonText("request", e.Request)
	resp, err2 := jsonText("response", e.Response)
	errText, err3 := jsonText("error", e.Error)
	if err := errors.Join(err1, err2, err3, checkTime("audit time", e.At)); err != nil {
		return fmt.Errorf("sqlite: add audit %s %q: %w", e.Action, e.StationID, err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO audit (at, actor, station_id, action, request, response, error)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			formatTime(e.At), e.Actor, e.StationID, e.Action, req, resp, errText)
		if err != nil {
			return fmt.Errorf("sqlite: add audit %s %q: %w", e.Action, e.StationID, err)
		}
		return nil
	})
}

// Audit lists entries newest (last added) first, of one station or, with stationID "", of all.
func (s *Store) Audit(ctx context.Context, stationID string, p domain.Page) ([]domain.AuditEntry, string, error) {
	p = p.Normalized()
	before := int64(math.MaxInt64)
	if p.Cursor != "" {
		pos, err := decodeCursor("audit", p.Cursor)
		if err == nil {
			if before, err = strconv.ParseInt(pos, 10, 64); err != nil {
				err = invalid("invalid cursor")
			}
		}
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: audit: %w", err)
		}
	}
	const cols = `id, at, actor, station_id, action, request, response, error`
	// Two statements rather than "? = '' OR station_id = ?", which would keep SQLite from using
	// the station index.
	query := `SELECT ` + cols + ` FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?`
	args := []any{before, p.Limit + 1}
	if stationID != "" {
		query = `SELECT ` + cols + ` FROM audit WHERE station_id = ? AND id < ? ORDER BY id DESC LIMIT ?`
		args = []any{stationID, before, p.Limit + 1}
	}
	var (
		es   []domain.AuditEntry
		more bool
	)
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if len(es) == p.Limit {
				more = true
				break
			}
			var (
				e                   domain.AuditEntry
				at                  string
				req, resp, errorTxt sql.NullString
			)
			if err := rows.Scan(&e.ID, &at, &e.Actor, &e.StationID, &e.Action, &req, &resp, &errorTxt); err != nil {
				return err
			}
			if e.At, err = parseTime(at); err != nil {
				return err
			}
			e.Request, e.Response, e.Error = jsonBytes(req), jsonBytes(resp), jsonBytes(errorTxt)
			es = append(es, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: audit %q: %w", stationID, err)
	}
	next := ""
	if more {
		next = encodeCursor("audit", strconv.FormatInt(es[len(es)-1].ID, 10))
	}
	return es, next, nil
}

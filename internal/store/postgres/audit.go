package postgres

import (
	"context"
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
	req, err1 := jsonArg("request", e.Request)
	resp, err2 := jsonArg("response", e.Response)
	errText, err3 := jsonArg("error", e.Error)
	if err := errors.Join(err1, err2, err3, checkTime("audit time", e.At)); err != nil {
		return fmt.Errorf("postgres: add audit %s %q: %w", e.Action, e.StationID, err)
	}
	// Inserts lock no existing row: the empty key sorts them first.
	_, err := s.commit.exec(ctx, "", `INSERT INTO audit (at, actor, station_id, action, request, response, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		pgTime(e.At), e.Actor, e.StationID, e.Action, req, resp, errText)
	if err != nil {
		return fmt.Errorf("postgres: add audit %s %q: %w", e.Action, e.StationID, mapErr(err, "", ""))
	}
	return nil
}

// Audit lists entries newest (last added) first, of one station or, with stationID "", of all.
//
// "Last added" is by id, which a sequence hands out at insert time: of two entries added
// concurrently by separate transactions, the one with the higher id may commit first, so a page
// read in between may miss the lower one for good. The audit log is for people, and two entries
// added within the same instant are in no meaningful order anyway.
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
			return nil, "", fmt.Errorf("postgres: audit: %w", err)
		}
	}
	const cols = `id, at, actor, station_id, action, request::text, response::text, error::text`
	query := `SELECT ` + cols + ` FROM audit WHERE id < $1 ORDER BY id DESC LIMIT $2`
	args := []any{before, p.Limit + 1}
	if stationID != "" {
		query = `SELECT ` + cols + ` FROM audit WHERE id < $1 AND station_id = $3 ORDER BY id DESC LIMIT $2`
		args = append(args, stationID)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("postgres: audit %q: %w", stationID, err)
	}
	var (
		es   []domain.AuditEntry
		more bool
	)
	rows, _ := s.pool.Query(ctx, query, args...)
	defer rows.Close()
	for rows.Next() {
		if len(es) == p.Limit {
			more = true
			break
		}
		var (
			e                   domain.AuditEntry
			req, resp, errorTxt *string
		)
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.StationID, &e.Action, &req, &resp, &errorTxt); err != nil {
			return nil, "", fmt.Errorf("postgres: audit %q: %w", stationID, err)
		}
		e.At = e.At.UTC()
		e.Request, e.Response, e.Error = jsonBytes(req), jsonBytes(resp), jsonBytes(errorTxt)
		es = append(es, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("postgres: audit %q: %w", stationID, mapErr(err, "", ""))
	}
	next := ""
	if more {
		next = encodeCursor("audit", strconv.FormatInt(es[len(es)-1].ID, 10))
	}
	return es, next, nil
}

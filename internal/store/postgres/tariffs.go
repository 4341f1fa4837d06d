package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencpo/opencpo/internal/domain"
)

func tariffNotFound(id string) error {
	return domain.Errorf(domain.ErrNotFound, "tariff %q not found", id)
}

// PutTariff inserts or replaces a tariff; a zero UpdatedAt means now.
func (s *Store) PutTariff(ctx context.Context, t domain.Tariff) (bool, error) {
	t.UpdatedAt = s.stamp(t.UpdatedAt)
	body, err := jsonArg("tariff body", t.Body)
	if err == nil && (t.ID == "" || body == nil) {
		err = invalid("a tariff needs an id and a body")
	}
	if err == nil {
		err = checkTime("tariff time", t.UpdatedAt)
	}
	if err != nil {
		return false, fmt.Errorf("postgres: put tariff %q: %w", t.ID, err)
	}
	var created bool
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// xmax = 0 only on a row this statement inserted (an update leaves the old version's id).
		return tx.QueryRow(ctx, `INSERT INTO tariffs (id, body, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
			RETURNING (xmax = 0)`, t.ID, body, pgTime(t.UpdatedAt)).Scan(&created)
	})
	if err != nil {
		return false, fmt.Errorf("postgres: put tariff %q: %w", t.ID, mapErr(err, "", ""))
	}
	return created, nil
}

// Tariff returns one tariff.
func (s *Store) Tariff(ctx context.Context, id string) (domain.Tariff, error) {
	if err := ctx.Err(); err != nil {
		return domain.Tariff{}, fmt.Errorf("postgres: tariff %q: %w", id, err)
	}
	var (
		t    domain.Tariff
		body string
	)
	err := s.pool.QueryRow(ctx, `SELECT id, body, updated_at FROM tariffs WHERE id = $1`, id).Scan(&t.ID, &body, &t.UpdatedAt)
	if isNoRows(err) {
		err = tariffNotFound(id)
	}
	if err != nil {
		return domain.Tariff{}, fmt.Errorf("postgres: tariff %q: %w", id, mapErr(err, "", ""))
	}
	t.Body, t.UpdatedAt = []byte(body), t.UpdatedAt.UTC()
	return t, nil
}

// Tariffs lists tariffs ordered by id (byte-wise).
func (s *Store) Tariffs(ctx context.Context, p domain.Page) ([]domain.Tariff, string, error) {
	out, next, err := pageByKey(ctx, s.pool, "tariff", `SELECT id, body, updated_at FROM tariffs WHERE id > $1 ORDER BY id LIMIT $2`, p,
		func(r pgx.Row) (domain.Tariff, error) {
			var (
				t    domain.Tariff
				body string
			)
			if err := r.Scan(&t.ID, &body, &t.UpdatedAt); err != nil {
				return t, err
			}
			t.Body, t.UpdatedAt = []byte(body), t.UpdatedAt.UTC()
			return t, nil
		}, func(t domain.Tariff) string { return t.ID })
	if err != nil {
		return nil, "", fmt.Errorf("postgres: tariffs: %w", err)
	}
	return out, next, nil
}

// DeleteTariff removes a tariff no station or assignment uses.
func (s *Store) DeleteTariff(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var used int
		err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM station_pricing WHERE tariff_id = $1) +
			(SELECT count(*) FROM tariff_assignments WHERE tariff_id = $1)`, id).Scan(&used)
		if err == nil && used > 0 {
			err = domain.Errorf(domain.ErrConflict, "tariff %q is in use by %d station(s) or assignment(s)", id, used)
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM tariffs WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			err = tariffNotFound(id)
		}
		return err
	})
	if err != nil {
		// A station given the tariff between the check and the delete trips the foreign key.
		return fmt.Errorf("postgres: delete tariff %q: %w", id, mapErr(err, "", ""))
	}
	return nil
}

// SetStationPricing sets a station's tariff ("" none) and time zone.
func (s *Store) SetStationPricing(ctx context.Context, p domain.StationPricing) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := existsIn(ctx, tx, `SELECT count(*) FROM stations WHERE id = $1`, p.StationID, stationNotFound(p.StationID))
		if err == nil && p.TariffID != "" {
			err = existsIn(ctx, tx, `SELECT count(*) FROM (SELECT 1 FROM tariffs WHERE id = $1 FOR SHARE) t`, p.TariffID, tariffNotFound(p.TariffID))
		}
		if err == nil {
			_, err = tx.Exec(ctx, `INSERT INTO station_pricing (station_id, tariff_id, time_zone) VALUES ($1, $2, $3)
				ON CONFLICT (station_id) DO UPDATE SET tariff_id = excluded.tariff_id, time_zone = excluded.time_zone`,
				p.StationID, nullString(p.TariffID), p.TimeZone)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: set pricing of station %q: %w", p.StationID, mapErr(err, "", "station or tariff not found"))
	}
	return nil
}

func existsIn(ctx context.Context, tx pgx.Tx, query string, arg any, missing error) error {
	var n int
	if err := tx.QueryRow(ctx, query, arg).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return missing
	}
	return nil
}

// StationPricing returns a station's pricing; zero fields when never set.
func (s *Store) StationPricing(ctx context.Context, stationID string) (domain.StationPricing, error) {
	if err := ctx.Err(); err != nil {
		return domain.StationPricing{}, fmt.Errorf("postgres: pricing of station %q: %w", stationID, err)
	}
	p := domain.StationPricing{StationID: stationID}
	var tariff *string
	err := s.pool.QueryRow(ctx, `SELECT tariff_id, time_zone FROM station_pricing WHERE station_id = $1`, stationID).
		Scan(&tariff, &p.TimeZone)
	if isNoRows(err) {
		return p, nil
	}
	if err != nil {
		return domain.StationPricing{}, fmt.Errorf("postgres: pricing of station %q: %w", stationID, mapErr(err, "", ""))
	}
	if tariff != nil {
		p.TariffID = *tariff
	}
	return p, nil
}

const assignmentColumns = `id, tariff_id, station_id, evse_id, group_id, valid_from, valid_to, created_at`

// AddTariffAssignment stores an assignment.
func (s *Store) AddTariffAssignment(ctx context.Context, a domain.TariffAssignment) (domain.TariffAssignment, error) {
	a.CreatedAt = pgTime(s.now())
	if err := errors.Join(a.Validate(), checkTime("validFrom", a.ValidFrom), checkTime("validTo", a.ValidTo)); err != nil {
		return domain.TariffAssignment{}, fmt.Errorf("postgres: add tariff assignment: %w", err)
	}
	a.ValidFrom, a.ValidTo = fromNullValue(a.ValidFrom), fromNullValue(a.ValidTo)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := existsIn(ctx, tx, `SELECT count(*) FROM (SELECT 1 FROM tariffs WHERE id = $1 FOR SHARE) t`, a.TariffID, tariffNotFound(a.TariffID))
		if err == nil && a.StationID != "" {
			err = existsIn(ctx, tx, `SELECT count(*) FROM stations WHERE id = $1`, a.StationID, stationNotFound(a.StationID))
		}
		if err == nil {
			err = tx.QueryRow(ctx, `INSERT INTO tariff_assignments (tariff_id, station_id, evse_id, group_id, valid_from, valid_to, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, a.TariffID, nullString(a.StationID), a.EVSEID, a.GroupID,
				nullTime(a.ValidFrom), nullTime(a.ValidTo), a.CreatedAt).Scan(&a.ID)
		}
		return err
	})
	if err != nil {
		return domain.TariffAssignment{}, fmt.Errorf("postgres: add tariff assignment: %w", mapErr(err, "", "station or tariff not found"))
	}
	return a, nil
}

// fromNullValue is t as it comes back from the database: UTC microseconds, zero stays zero.
func fromNullValue(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return pgTime(t)
}

// TariffAssignments lists assignments by id: all, or those that can apply to one station.
func (s *Store) TariffAssignments(ctx context.Context, stationID string, p domain.Page) ([]domain.TariffAssignment, string, error) {
	p = p.Normalized()
	after := int64(0)
	if p.Cursor != "" {
		pos, err := decodeCursor("assignment", p.Cursor)
		if err == nil {
			after, err = strconv.ParseInt(pos, 10, 64)
		}
		if err != nil {
			return nil, "", fmt.Errorf("postgres: tariff assignments: %w", invalid("invalid cursor"))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("postgres: tariff assignments: %w", err)
	}
	var out []domain.TariffAssignment
	more := false
	rows, _ := s.pool.Query(ctx, `SELECT `+assignmentColumns+` FROM tariff_assignments
		WHERE id > $1 AND ($2 = '' OR station_id IS NULL OR station_id = $2) ORDER BY id LIMIT $3`, after, stationID, p.Limit+1)
	defer rows.Close()
	for rows.Next() {
		if len(out) == p.Limit {
			more = true
			break
		}
		var (
			a        domain.TariffAssignment
			station  *string
			from, to *time.Time
		)
		if err := rows.Scan(&a.ID, &a.TariffID, &station, &a.EVSEID, &a.GroupID, &from, &to, &a.CreatedAt); err != nil {
			return nil, "", fmt.Errorf("postgres: tariff assignments: %w", err)
		}
		if station != nil {
			a.StationID = *station
		}
		a.ValidFrom, a.ValidTo, a.CreatedAt = fromNull(from), fromNull(to), a.CreatedAt.UTC()
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("postgres: tariff assignments: %w", err)
	}
	next := ""
	if more {
		next = encodeCursor("assignment", strconv.FormatInt(out[len(out)-1].ID, 10))
	}
	return out, next, nil
}

// DeleteTariffAssignment removes one assignment.
func (s *Store) DeleteTariffAssignment(ctx context.Context, id int64) error {
	n, err := s.exec(ctx, `DELETE FROM tariff_assignments WHERE id = $1`, id)
	if err == nil && n == 0 {
		err = domain.Errorf(domain.ErrNotFound, "tariff assignment %d not found", id)
	}
	if err != nil {
		return fmt.Errorf("postgres: delete tariff assignment %d: %w", id, err)
	}
	return nil
}

const sessionTariffColumns = `session_id, tariff_id, body, time_zone, pinned_at`

// PinSessionTariff stores st unless the session has a pinned tariff, and returns the pinned one.
func (s *Store) PinSessionTariff(ctx context.Context, st domain.SessionTariff) (domain.SessionTariff, error) {
	st.PinnedAt = s.stamp(st.PinnedAt)
	body, err := jsonArg("tariff body", st.Body)
	if err == nil {
		err = checkTime("pin time", st.PinnedAt)
	}
	if err != nil {
		return domain.SessionTariff{}, fmt.Errorf("postgres: pin tariff of session %d: %w", st.SessionID, err)
	}
	var out domain.SessionTariff
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO session_tariffs (`+sessionTariffColumns+`)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id) DO NOTHING`,
			st.SessionID, st.TariffID, body, st.TimeZone, pgTime(st.PinnedAt))
		if err != nil {
			return err
		}
		out, err = scanSessionTariff(tx.QueryRow(ctx, `SELECT `+sessionTariffColumns+` FROM session_tariffs WHERE session_id = $1`,
			st.SessionID), st.SessionID)
		return err
	})
	if err != nil {
		return domain.SessionTariff{}, fmt.Errorf("postgres: pin tariff of session %d: %w", st.SessionID,
			mapErr(err, "", fmt.Sprintf("session %d not found", st.SessionID)))
	}
	return out, nil
}

// SessionTariff returns a session's pinned tariff.
func (s *Store) SessionTariff(ctx context.Context, sessionID int64) (domain.SessionTariff, error) {
	if err := ctx.Err(); err != nil {
		return domain.SessionTariff{}, fmt.Errorf("postgres: tariff of session %d: %w", sessionID, err)
	}
	out, err := scanSessionTariff(s.pool.QueryRow(ctx, `SELECT `+sessionTariffColumns+` FROM session_tariffs WHERE session_id = $1`,
		sessionID), sessionID)
	if err != nil {
		return domain.SessionTariff{}, fmt.Errorf("postgres: tariff of session %d: %w", sessionID, mapErr(err, "", ""))
	}
	return out, nil
}

func scanSessionTariff(row pgx.Row, id int64) (domain.SessionTariff, error) {
	var (
		st   domain.SessionTariff
		body *string
	)
	err := row.Scan(&st.SessionID, &st.TariffID, &body, &st.TimeZone, &st.PinnedAt)
	if isNoRows(err) {
		return st, domain.Errorf(domain.ErrNotFound, "session %d has no pinned tariff", id)
	}
	if err != nil {
		return st, err
	}
	st.Body, st.PinnedAt = jsonBytes(body), st.PinnedAt.UTC()
	return st, nil
}

const cdrColumns = `id, session_id, station_id, evse_id, id_token, started_at, stopped_at, currency,
	total_excl_vat, total_incl_vat, energy_wh, body, created_at`

// AddCDR stores c unless its session has a CDR, and returns the stored one.
func (s *Store) AddCDR(ctx context.Context, c domain.CDR) (domain.CDR, error) {
	c.CreatedAt = s.stamp(c.CreatedAt)
	body, err := jsonArg("CDR body", c.Body)
	if err == nil && (c.ID == "" || body == nil || c.SessionID <= 0 || c.StationID == "") {
		err = invalid("a CDR needs an id, a session, a station and a body")
	}
	if err == nil {
		err = errors.Join(checkTime("start", c.StartedAt), checkTime("stop", c.StoppedAt), checkTime("CDR time", c.CreatedAt))
	}
	if err == nil && (math.IsNaN(c.EnergyWh) || math.IsInf(c.EnergyWh, 0)) {
		err = invalid("CDR energy is not a number")
	}
	if err != nil {
		return domain.CDR{}, fmt.Errorf("postgres: add CDR of session %d: %w", c.SessionID, err)
	}
	var out domain.CDR
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO cdrs (`+cdrColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (session_id) DO NOTHING`, c.ID, c.SessionID, c.StationID, c.EVSEID, c.IDToken,
			pgTime(c.StartedAt), pgTime(c.StoppedAt), c.Currency, c.TotalExclVat, c.TotalInclVat, c.EnergyWh,
			body, pgTime(c.CreatedAt))
		if err != nil {
			return err
		}
		out, err = scanCDR(tx.QueryRow(ctx, `SELECT `+cdrColumns+` FROM cdrs WHERE session_id = $1`, c.SessionID), c.SessionID)
		return err
	})
	if err != nil {
		return domain.CDR{}, fmt.Errorf("postgres: add CDR of session %d: %w", c.SessionID,
			mapErr(err, fmt.Sprintf("CDR id %q exists", c.ID), ""))
	}
	return out, nil
}

// CDR returns the CDR of a session.
func (s *Store) CDR(ctx context.Context, sessionID int64) (domain.CDR, error) {
	if err := ctx.Err(); err != nil {
		return domain.CDR{}, fmt.Errorf("postgres: CDR of session %d: %w", sessionID, err)
	}
	out, err := scanCDR(s.pool.QueryRow(ctx, `SELECT `+cdrColumns+` FROM cdrs WHERE session_id = $1`, sessionID), sessionID)
	if err != nil {
		return domain.CDR{}, fmt.Errorf("postgres: CDR of session %d: %w", sessionID, mapErr(err, "", ""))
	}
	return out, nil
}

// CDRs lists CDRs newest session first.
func (s *Store) CDRs(ctx context.Context, f domain.CDRFilter, p domain.Page) ([]domain.CDR, string, error) {
	p = p.Normalized()
	before := int64(math.MaxInt64)
	if p.Cursor != "" {
		pos, err := decodeCursor("cdr", p.Cursor)
		if err == nil {
			before, err = strconv.ParseInt(pos, 10, 64)
		}
		if err != nil {
			return nil, "", fmt.Errorf("postgres: CDRs: %w", invalid("invalid cursor"))
		}
	}
	if err := errors.Join(checkTime("from", f.From), checkTime("to", f.To), ctx.Err()); err != nil {
		return nil, "", fmt.Errorf("postgres: CDRs: %w", err)
	}
	var out []domain.CDR
	more := false
	rows, _ := s.pool.Query(ctx, `SELECT `+cdrColumns+` FROM cdrs WHERE session_id < $1
		AND ($2 = '' OR station_id = $2) AND ($3 = '' OR id_token = $3)
		AND ($4::timestamptz IS NULL OR stopped_at >= $4) AND ($5::timestamptz IS NULL OR stopped_at < $5)
		ORDER BY session_id DESC LIMIT $6`, before, f.StationID, f.IDToken, nullTime(f.From), nullTime(f.To), p.Limit+1)
	defer rows.Close()
	for rows.Next() {
		if len(out) == p.Limit {
			more = true
			break
		}
		c, err := scanCDR(rows, 0)
		if err != nil {
			return nil, "", fmt.Errorf("postgres: CDRs: %w", err)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("postgres: CDRs: %w", mapErr(err, "", ""))
	}
	next := ""
	if more {
		next = encodeCursor("cdr", strconv.FormatInt(out[len(out)-1].SessionID, 10))
	}
	return out, next, nil
}

func scanCDR(row pgx.Row, sessionID int64) (domain.CDR, error) {
	var (
		c    domain.CDR
		body string
	)
	err := row.Scan(&c.ID, &c.SessionID, &c.StationID, &c.EVSEID, &c.IDToken, &c.StartedAt, &c.StoppedAt, &c.Currency,
		&c.TotalExclVat, &c.TotalInclVat, &c.EnergyWh, &body, &c.CreatedAt)
	if isNoRows(err) {
		return c, domain.Errorf(domain.ErrNotFound, "session %d has no CDR", sessionID)
	}
	if err != nil {
		return c, err
	}
	c.Body = []byte(body)
	c.StartedAt, c.StoppedAt, c.CreatedAt = c.StartedAt.UTC(), c.StoppedAt.UTC(), c.CreatedAt.UTC()
	return c, nil
}

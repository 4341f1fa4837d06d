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

func tariffNotFound(id string) error {
	return domain.Errorf(domain.ErrNotFound, "tariff %q not found", id)
}

// PutTariff inserts or replaces a tariff; a zero UpdatedAt means now.
func (s *Store) PutTariff(ctx context.Context, t domain.Tariff) (bool, error) {
	t.UpdatedAt = s.stamp(t.UpdatedAt)
	body, err := jsonText("tariff body", t.Body)
	if err == nil && (t.ID == "" || body == nil) {
		err = invalid("a tariff needs an id and a body")
	}
	if err == nil {
		err = checkTime("tariff time", t.UpdatedAt)
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: put tariff %q: %w", t.ID, err)
	}
	return writeValue(ctx, s, func(tx *sql.Tx) (bool, error) {
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM tariffs WHERE id = ?`, t.ID).Scan(&n); err != nil {
			return false, fmt.Errorf("sqlite: put tariff %q: %w", t.ID, err)
		}
		_, err := tx.Exec(`INSERT INTO tariffs (id, body, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
			t.ID, body, formatTime(t.UpdatedAt))
		if err != nil {
			return false, fmt.Errorf("sqlite: put tariff %q: %w", t.ID, err)
		}
		return n == 0, nil
	})
}

// Tariff returns one tariff.
func (s *Store) Tariff(ctx context.Context, id string) (domain.Tariff, error) {
	var t domain.Tariff
	err := s.read(ctx, func(tx *sql.Tx) error {
		var at string
		err := tx.QueryRowContext(ctx, `SELECT id, body, updated_at FROM tariffs WHERE id = ?`, id).Scan(&t.ID, &t.Body, &at)
		if errors.Is(err, sql.ErrNoRows) {
			return tariffNotFound(id)
		}
		if err != nil {
			return err
		}
		t.UpdatedAt, err = parseTime(at)
		return err
	})
	if err != nil {
		return domain.Tariff{}, fmt.Errorf("sqlite: tariff %q: %w", id, err)
	}
	return t, nil
}

// Tariffs lists tariffs ordered by id.
func (s *Store) Tariffs(ctx context.Context, p domain.Page) ([]domain.Tariff, string, error) {
	p = p.Normalized()
	after := ""
	if p.Cursor != "" {
		var err error
		if after, err = decodeCursor("tariff", p.Cursor); err != nil {
			return nil, "", fmt.Errorf("sqlite: tariffs: %w", err)
		}
	}
	var out []domain.Tariff
	more := false
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, body, updated_at FROM tariffs WHERE id > ? ORDER BY id LIMIT ?`, after, p.Limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if len(out) == p.Limit {
				more = true
				break
			}
			var t domain.Tariff
			var at string
			if err := rows.Scan(&t.ID, &t.Body, &at); err != nil {
				return err
			}
			if t.UpdatedAt, err = parseTime(at); err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: tariffs: %w", err)
	}
	next := ""
	if more {
		next = encodeCursor("tariff", out[len(out)-1].ID)
	}
	return out, next, nil
}

// DeleteTariff removes a tariff no station or assignment uses.
func (s *Store) DeleteTariff(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var used int
		err := tx.QueryRow(`SELECT (SELECT count(*) FROM station_pricing WHERE tariff_id = ?1) +
			(SELECT count(*) FROM tariff_assignments WHERE tariff_id = ?1)`, id).Scan(&used)
		if err == nil && used > 0 {
			err = domain.Errorf(domain.ErrConflict, "tariff %q is in use by %d station(s) or assignment(s)", id, used)
		}
		if err == nil {
			var n int64
			n, err = rowsAffected(tx.Exec(`DELETE FROM tariffs WHERE id = ?`, id))
			if err == nil && n == 0 {
				err = tariffNotFound(id)
			}
		}
		if err != nil {
			return fmt.Errorf("sqlite: delete tariff %q: %w", id, err)
		}
		return nil
	})
}

// SetStationPricing sets a station's tariff ("" none) and time zone.
func (s *Store) SetStationPricing(ctx context.Context, p domain.StationPricing) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		err := existsIn(tx, `SELECT count(*) FROM stations WHERE id = ?`, p.StationID, stationNotFound(p.StationID))
		if err == nil && p.TariffID != "" {
			err = existsIn(tx, `SELECT count(*) FROM tariffs WHERE id = ?`, p.TariffID, tariffNotFound(p.TariffID))
		}
		if err == nil {
			_, err = tx.Exec(`INSERT INTO station_pricing (station_id, tariff_id, time_zone) VALUES (?, ?, ?)
				ON CONFLICT (station_id) DO UPDATE SET tariff_id = excluded.tariff_id, time_zone = excluded.time_zone`,
				p.StationID, nullString(p.TariffID), p.TimeZone)
		}
		if err != nil {
			return fmt.Errorf("sqlite: set pricing of station %q: %w", p.StationID, err)
		}
		return nil
	})
}

func existsIn(tx *sql.Tx, query string, arg any, missing error) error {
	var n int
	if err := tx.QueryRow(query, arg).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return missing
	}
	return nil
}

// StationPricing returns a station's pricing; zero fields when never set.
func (s *Store) StationPricing(ctx context.Context, stationID string) (domain.StationPricing, error) {
	p := domain.StationPricing{StationID: stationID}
	err := s.readRow(ctx, `SELECT tariff_id, time_zone FROM station_pricing WHERE station_id = ?`, func(row *sql.Row) error {
		var tariff sql.NullString
		err := row.Scan(&tariff, &p.TimeZone)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		p.TariffID = tariff.String
		return err
	}, stationID)
	if err != nil {
		return domain.StationPricing{}, fmt.Errorf("sqlite: pricing of station %q: %w", stationID, err)
	}
	return p, nil
}

const assignmentColumns = `id, tariff_id, station_id, evse_id, group_id, valid_from, valid_to, created_at`

// AddTariffAssignment stores an assignment.
func (s *Store) AddTariffAssignment(ctx context.Context, a domain.TariffAssignment) (domain.TariffAssignment, error) {
	a.CreatedAt = s.now().UTC()
	if err := errors.Join(a.Validate(), checkTime("validFrom", a.ValidFrom), checkTime("validTo", a.ValidTo)); err != nil {
		return domain.TariffAssignment{}, fmt.Errorf("sqlite: add tariff assignment: %w", err)
	}
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.TariffAssignment, error) {
		err := existsIn(tx, `SELECT count(*) FROM tariffs WHERE id = ?`, a.TariffID, tariffNotFound(a.TariffID))
		if err == nil && a.StationID != "" {
			err = existsIn(tx, `SELECT count(*) FROM stations WHERE id = ?`, a.StationID, stationNotFound(a.StationID))
		}
		if err == nil {
			err = tx.QueryRow(`INSERT INTO tariff_assignments (tariff_id, station_id, evse_id, group_id, valid_from, valid_to, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, a.TariffID, nullString(a.StationID), a.EVSEID, a.GroupID,
				nullTime(a.ValidFrom), nullTime(a.ValidTo), formatTime(a.CreatedAt)).Scan(&a.ID)
		}
		if err != nil {
			return domain.TariffAssignment{}, fmt.Errorf("sqlite: add tariff assignment: %w", err)
		}
		return a, nil
	})
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
			return nil, "", fmt.Errorf("sqlite: tariff assignments: %w", invalid("invalid cursor"))
		}
	}
	var out []domain.TariffAssignment
	more := false
	err := s.read(ctx, func(tx *sql.Tx) error {
		st, err := s.readIn(ctx, tx, `SELECT `+assignmentColumns+` FROM tariff_assignments
			WHERE id > ?1 AND (?2 = '' OR station_id IS NULL OR station_id = ?2) ORDER BY id LIMIT ?3`)
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, after, stationID, p.Limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if len(out) == p.Limit {
				more = true
				break
			}
			var (
				a        domain.TariffAssignment
				station  sql.NullString
				from, to sql.NullString
				created  string
			)
			if err := rows.Scan(&a.ID, &a.TariffID, &station, &a.EVSEID, &a.GroupID, &from, &to, &created); err != nil {
				return err
			}
			a.StationID = station.String
			var e1, e2, e3 error
			a.ValidFrom, e1 = parseNullTime(from)
			a.ValidTo, e2 = parseNullTime(to)
			a.CreatedAt, e3 = parseTime(created)
			if err := errors.Join(e1, e2, e3); err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: tariff assignments: %w", err)
	}
	next := ""
	if more {
		next = encodeCursor("assignment", strconv.FormatInt(out[len(out)-1].ID, 10))
	}
	return out, next, nil
}

// DeleteTariffAssignment removes one assignment.
func (s *Store) DeleteTariffAssignment(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.Exec(`DELETE FROM tariff_assignments WHERE id = ?`, id))
		if err == nil && n == 0 {
			err = domain.Errorf(domain.ErrNotFound, "tariff assignment %d not found", id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: delete tariff assignment %d: %w", id, err)
		}
		return nil
	})
}

// PinSessionTariff stores st unless the session has a pinned tariff, and returns the pinned one.
func (s *Store) PinSessionTariff(ctx context.Context, st domain.SessionTariff) (domain.SessionTariff, error) {
	st.PinnedAt = s.stamp(st.PinnedAt)
	body, err := jsonText("tariff body", st.Body)
	if err == nil {
		err = checkTime("pin time", st.PinnedAt)
	}
	if err != nil {
		return domain.SessionTariff{}, fmt.Errorf("sqlite: pin tariff of session %d: %w", st.SessionID, err)
	}
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.SessionTariff, error) {
		_, err := tx.Exec(`INSERT INTO session_tariffs (session_id, tariff_id, body, time_zone, pinned_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id) DO NOTHING`,
			st.SessionID, st.TariffID, body, st.TimeZone, formatTime(st.PinnedAt))
		var out domain.SessionTariff
		if err == nil {
			out, err = scanSessionTariff(tx.QueryRow(`SELECT session_id, tariff_id, body, time_zone, pinned_at
				FROM session_tariffs WHERE session_id = ?`, st.SessionID), st.SessionID)
		}
		if err != nil {
			return domain.SessionTariff{}, fmt.Errorf("sqlite: pin tariff of session %d: %w", st.SessionID,
				mapErr(err, "", fmt.Sprintf("session %d not found", st.SessionID)))
		}
		return out, nil
	})
}

// SessionTariff returns a session's pinned tariff.
func (s *Store) SessionTariff(ctx context.Context, sessionID int64) (domain.SessionTariff, error) {
	out, err := readOne(ctx, s, `SELECT session_id, tariff_id, body, time_zone, pinned_at FROM session_tariffs WHERE session_id = ?`,
		func(r scanner) (domain.SessionTariff, error) { return scanSessionTariff(r, sessionID) }, sessionID)
	if err != nil {
		return domain.SessionTariff{}, fmt.Errorf("sqlite: tariff of session %d: %w", sessionID, err)
	}
	return out, nil
}

func scanSessionTariff(row scanner, id int64) (domain.SessionTariff, error) {
	var (
		st   domain.SessionTariff
		body sql.NullString
		at   string
	)
	err := row.Scan(&st.SessionID, &st.TariffID, &body, &st.TimeZone, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return st, domain.Errorf(domain.ErrNotFound, "session %d has no pinned tariff", id)
	}
	if err != nil {
		return st, err
	}
	st.Body = jsonBytes(body)
	st.PinnedAt, err = parseTime(at)
	return st, err
}

const cdrColumns = `id, session_id, station_id, evse_id, id_token, started_at, stopped_at, currency,
	total_excl_vat, total_incl_vat, energy_wh, body, created_at`

// AddCDR stores c unless its session has a CDR, and returns the stored one.
func (s *Store) AddCDR(ctx context.Context, c domain.CDR) (domain.CDR, error) {
	c.CreatedAt = s.stamp(c.CreatedAt)
	body, err := jsonText("CDR body", c.Body)
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
		return domain.CDR{}, fmt.Errorf("sqlite: add CDR of session %d: %w", c.SessionID, err)
	}
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.CDR, error) {
		_, err := tx.Exec(`INSERT INTO cdrs (`+cdrColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (session_id) DO NOTHING`, c.ID, c.SessionID, c.StationID, c.EVSEID, c.IDToken,
			formatTime(c.StartedAt), formatTime(c.StoppedAt), c.Currency, c.TotalExclVat, c.TotalInclVat, c.EnergyWh,
			body, formatTime(c.CreatedAt))
		var out domain.CDR
		if err == nil {
			out, err = scanCDR(tx.QueryRow(`SELECT `+cdrColumns+` FROM cdrs WHERE session_id = ?`, c.SessionID), c.SessionID)
		}
		if err != nil {
			return domain.CDR{}, fmt.Errorf("sqlite: add CDR of session %d: %w", c.SessionID,
				mapErr(err, fmt.Sprintf("CDR id %q exists", c.ID), ""))
		}
		return out, nil
	})
}

// CDR returns the CDR of a session.
func (s *Store) CDR(ctx context.Context, sessionID int64) (domain.CDR, error) {
	out, err := readOne(ctx, s, `SELECT `+cdrColumns+` FROM cdrs WHERE session_id = ?`,
		func(r scanner) (domain.CDR, error) { return scanCDR(r, sessionID) }, sessionID)
	if err != nil {
		return domain.CDR{}, fmt.Errorf("sqlite: CDR of session %d: %w", sessionID, err)
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
			return nil, "", fmt.Errorf("sqlite: CDRs: %w", invalid("invalid cursor"))
		}
	}
	if err := errors.Join(checkTime("from", f.From), checkTime("to", f.To)); err != nil {
		return nil, "", fmt.Errorf("sqlite: CDRs: %w", err)
	}
	var out []domain.CDR
	more := false
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+cdrColumns+` FROM cdrs WHERE session_id < ?1
			AND (?2 = '' OR station_id = ?2) AND (?3 = '' OR id_token = ?3)
			AND (?4 IS NULL OR stopped_at >= ?4) AND (?5 IS NULL OR stopped_at < ?5)
			ORDER BY session_id DESC LIMIT ?6`, before, f.StationID, f.IDToken, nullTime(f.From), nullTime(f.To), p.Limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if len(out) == p.Limit {
				more = true
				break
			}
			c, err := scanCDR(rows, 0)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: CDRs: %w", err)
	}
	next := ""
	if more {
		next = encodeCursor("cdr", strconv.FormatInt(out[len(out)-1].SessionID, 10))
	}
	return out, next, nil
}

func scanCDR(row scanner, sessionID int64) (domain.CDR, error) {
	var (
		c                           domain.CDR
		started, stopped, createdAt string
	)
	err := row.Scan(&c.ID, &c.SessionID, &c.StationID, &c.EVSEID, &c.IDToken, &started, &stopped, &c.Currency,
		&c.TotalExclVat, &c.TotalInclVat, &c.EnergyWh, &c.Body, &createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return c, domain.Errorf(domain.ErrNotFound, "session %d has no CDR", sessionID)
	}
	if err != nil {
		return c, err
	}
	var e1, e2, e3 error
	c.StartedAt, e1 = parseTime(started)
	c.StoppedAt, e2 = parseTime(stopped)
	c.CreatedAt, e3 = parseTime(createdAt)
	return c, errors.Join(e1, e2, e3)
}

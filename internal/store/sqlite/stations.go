package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

const stationColumns = `id, name, password_hash, registration_status, connected, ocpp_version,
	vendor, model, serial_number, firmware_version, last_seen_at, created_at, updated_at`

// CreateStation inserts s with its EVSEs and connectors, if any. CreatedAt and UpdatedAt are set
// by the store; connectors with a zero UpdatedAt get the current time.
func (s *Store) CreateStation(ctx context.Context, st domain.Station) error {
	if err := validateNewStation(st); err != nil {
		return fmt.Errorf("sqlite: create station %q: %w", st.ID, err)
	}
	now := formatTime(s.now())
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO stations (`+stationColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			st.ID, st.Name, st.PasswordHash, string(st.RegistrationStatus), st.Connected, nullString(st.OCPPVersion),
			st.Vendor, st.Model, st.SerialNumber, st.FirmwareVersion, nullTime(st.LastSeenAt), now, now)
		if err != nil {
			return fmt.Errorf("sqlite: create station %q: %w", st.ID,
				mapErr(err, fmt.Sprintf("station %q already exists", st.ID), ""))
		}
		for _, e := range st.EVSEs {
			for _, c := range e.Connectors {
				at := now
				if !c.UpdatedAt.IsZero() {
					at = formatTime(c.UpdatedAt)
				}
				if _, err := tx.Exec(`INSERT INTO connectors (station_id, evse_id, connector_id,
						status, ocpp_status, error_code, info, vendor_error_code, updated_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					st.ID, e.ID, c.ID, string(c.Status), c.OCPPStatus, c.ErrorCode, c.Info, c.VendorErrorCode, at); err != nil {
					return fmt.Errorf("sqlite: create station %q: connector %d/%d: %w", st.ID, e.ID, c.ID, err)
				}
			}
		}
		return nil
	})
}

func validateNewStation(st domain.Station) error {
	if err := st.ValidateNew(); err != nil {
		return err
	}
	errs := []error{checkTime("last seen", st.LastSeenAt)}
	for _, e := range st.EVSEs {
		for _, c := range e.Connectors {
			errs = append(errs, checkTime("connector time", c.UpdatedAt))
		}
	}
	return errors.Join(errs...)
}

// Station returns one station with its EVSEs and connectors.
func (s *Store) Station(ctx context.Context, id string) (domain.Station, error) {
	var st domain.Station
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		st, err = loadStation(ctx, s.preparedQuery(tx), id)
		return err
	})
	if err != nil {
		return domain.Station{}, fmt.Errorf("sqlite: station %q: %w", id, err)
	}
	return st, nil
}

// StationRecord returns one station without its EVSEs: one prepared statement on the reader
// pool, outside any transaction (readRows).
func (s *Store) StationRecord(ctx context.Context, id string) (domain.Station, error) {
	var st domain.Station
	err := s.readRows(ctx, stationByID, func(rows *sql.Rows) error {
		var err error
		st, err = stationRow(rows, id)
		return err
	}, id)
	if err != nil {
		return domain.Station{}, fmt.Errorf("sqlite: station %q: %w", id, err)
	}
	return st, nil
}

// stationByID selects one station's row.
const stationByID = `SELECT ` + stationColumns + ` FROM stations WHERE id = ?`

// stationRow scans the row of station id (stationByID); ErrNotFound if there is none.
func stationRow(rows *sql.Rows, id string) (domain.Station, error) {
	sts, err := scanStations(rows)
	if err != nil {
		return domain.Station{}, err
	}
	if len(sts) == 0 {
		return domain.Station{}, stationNotFound(id)
	}
	return sts[0], nil
}

// loadStation reads one station and its connectors with q: in a read transaction
// (Store.preparedQuery) or the write transaction (tx.QueryContext).
func loadStation(ctx context.Context, q queryFunc, id string) (domain.Station, error) {
	rows, err := q(ctx, stationByID, id)
	if err != nil {
		return domain.Station{}, err
	}
	st, err := stationRow(rows, id)
	if err != nil {
		return domain.Station{}, err
	}
	sts := []domain.Station{st}
	if err := attachConnectors(ctx, q, sts); err != nil {
		return domain.Station{}, err
	}
	return sts[0], nil
}

// Stations lists a page of stations ordered by id. Two queries whatever the page size: one for
// the stations, one for all their connectors.
func (s *Store) Stations(ctx context.Context, p domain.Page) ([]domain.Station, string, error) {
	p = p.Normalized()
	after := ""
	if p.Cursor != "" {
		var err error
		if after, err = decodeCursor("station", p.Cursor); err != nil {
			return nil, "", fmt.Errorf("sqlite: stations: %w", err)
		}
	}
	var (
		sts  []domain.Station
		more bool
	)
	err := s.read(ctx, func(tx *sql.Tx) error {
		// One row more than asked tells whether there is a next page.
		rows, err := tx.QueryContext(ctx, `SELECT `+stationColumns+` FROM stations
			WHERE id > ? ORDER BY id LIMIT ?`, after, p.Limit+1)
		if err != nil {
			return err
		}
		if sts, err = scanStations(rows); err != nil {
			return err
		}
		if more = len(sts) > p.Limit; more {
			sts = sts[:p.Limit]
		}
		return attachConnectors(ctx, tx.QueryContext, sts)
	})
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: stations: %w", err)
	}
	next := ""
	if more {
		next = encodeCursor("station", sts[len(sts)-1].ID)
	}
	return sts, next, nil
}

func scanStations(rows *sql.Rows) ([]domain.Station, error) {
	defer rows.Close()
	var sts []domain.Station
	for rows.Next() {
		var (
			st                   domain.Station
			reg                  string
			version, lastSeen    sql.NullString
			createdAt, updatedAt string
			err1, err2, err3     error
		)
		if err := rows.Scan(&st.ID, &st.Name, &st.PasswordHash, &reg, &st.Connected, &version,
			&st.Vendor, &st.Model, &st.SerialNumber, &st.FirmwareVersion, &lastSeen, &createdAt, &updatedAt); err != nil {
			return nil, err
		}
		st.RegistrationStatus = domain.RegistrationStatus(reg)
		st.OCPPVersion = version.String
		st.LastSeenAt, err1 = parseNullTime(lastSeen)
		st.CreatedAt, err2 = parseTime(createdAt)
		st.UpdatedAt, err3 = parseTime(updatedAt)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, err
		}
		sts = append(sts, st)
	}
	return sts, rows.Err()
}

// attachConnectors fills the EVSEs of sts, which must be ordered by id, with one query over the
// id range they span (a page of stations is exactly such a range).
func attachConnectors(ctx context.Context, q queryFunc, sts []domain.Station) error {
	if len(sts) == 0 {
		return nil
	}
	rows, err := q(ctx, `SELECT station_id, evse_id, connector_id, status, ocpp_status,
			error_code, info, vendor_error_code, updated_at
		FROM connectors WHERE station_id BETWEEN ? AND ?
		ORDER BY station_id, evse_id, connector_id`, sts[0].ID, sts[len(sts)-1].ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var (
			stationID, status, updatedAt string
			evseID                       int
			c                            domain.Connector
		)
		if err := rows.Scan(&stationID, &evseID, &c.ID, &status, &c.OCPPStatus, &c.ErrorCode, &c.Info,
			&c.VendorErrorCode, &updatedAt); err != nil {
			return err
		}
		c.Status = domain.ConnectorStatus(status)
		if c.UpdatedAt, err = parseTime(updatedAt); err != nil {
			return err
		}
		for i < len(sts) && sts[i].ID < stationID {
			i++
		}
		if i == len(sts) || sts[i].ID != stationID {
			return fmt.Errorf("connector of station %q outside the page", stationID)
		}
		st := &sts[i]
		if n := len(st.EVSEs); n == 0 || st.EVSEs[n-1].ID != evseID {
			st.EVSEs = append(st.EVSEs, domain.EVSE{ID: evseID})
		}
		e := &st.EVSEs[len(st.EVSEs)-1]
		e.Connectors = append(e.Connectors, c)
	}
	return rows.Err()
}

// UpdateStation applies p and returns the station as stored afterwards.
func (s *Store) UpdateStation(ctx context.Context, id string, p domain.StationPatch) (domain.Station, error) {
	if p.RegistrationStatus != nil && !p.RegistrationStatus.Valid() {
		return domain.Station{}, fmt.Errorf("sqlite: update station %q: %w", id,
			invalid("registration status %q is not one of Accepted, Pending, Rejected", *p.RegistrationStatus))
	}
	var reg *string
	if p.RegistrationStatus != nil {
		r := string(*p.RegistrationStatus)
		reg = &r
	}
	now := formatTime(s.now())
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.Station, error) {
		// A nil pointer binds as NULL, which coalesce turns into "keep the column".
		err := oneStation(id)(tx.Exec(`UPDATE stations SET
				name = coalesce(?, name),
				password_hash = coalesce(?, password_hash),
				registration_status = coalesce(?, registration_status),
				updated_at = ?
			WHERE id = ?`, p.Name, p.PasswordHash, reg, now, id))
		if err != nil {
			return domain.Station{}, fmt.Errorf("sqlite: update station %q: %w", id, err)
		}
		st, err := loadStation(context.Background(), tx.QueryContext, id)
		if err != nil {
			return domain.Station{}, fmt.Errorf("sqlite: update station %q: read back: %w", id, err)
		}
		return st, nil
	})
}

// DeleteStation removes the station; its connectors and events go with it (ON DELETE CASCADE),
// its audit entries stay.
func (s *Store) DeleteStation(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := oneStation(id)(tx.Exec(`DELETE FROM stations WHERE id = ?`, id)); err != nil {
			return fmt.Errorf("sqlite: delete station %q: %w", id, err)
		}
		return nil
	})
}

// RecordBoot stores what a BootNotification reported. An empty OCPPVersion keeps the stored one;
// last-seen moves to b.At unless it is already later.
func (s *Store) RecordBoot(ctx context.Context, b domain.BootInfo) error {
	at := s.stamp(b.At)
	if err := checkTime("boot time", at); err != nil {
		return fmt.Errorf("sqlite: record boot %q: %w", b.StationID, err)
	}
	now := formatTime(s.now())
	return s.write(ctx, func(tx *sql.Tx) error {
		err := oneStation(b.StationID)(s.on(tx).exec(qStationBoot,
			sql.Named("vendor", b.Vendor), sql.Named("model", b.Model), sql.Named("serial", b.SerialNumber),
			sql.Named("firmware", b.FirmwareVersion), sql.Named("version", b.OCPPVersion),
			sql.Named("at", formatTime(at)), sql.Named("now", now), sql.Named("id", b.StationID)))
		if err != nil {
			return fmt.Errorf("sqlite: record boot %q: %w", b.StationID, err)
		}
		return nil
	})
}

// SetConnected records a connection (its OCPP version, if not empty, and last-seen, never moved
// backwards) or a disconnection (only the flag: the version stays as "the last one seen").
func (s *Store) SetConnected(ctx context.Context, id string, connected bool, ocppVersion string, at time.Time) error {
	at = s.stamp(at)
	if err := checkTime("connection time", at); err != nil {
		return fmt.Errorf("sqlite: set connected %q: %w", id, err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if connected {
			err = oneStation(id)(s.on(tx).exec(qStationConnect,
				sql.Named("version", ocppVersion), sql.Named("at", formatTime(at)), sql.Named("id", id)))
		} else {
			err = oneStation(id)(s.on(tx).exec(qStationDisconnect, id))
		}
		if err != nil {
			return fmt.Errorf("sqlite: set connected %q %t: %w", id, connected, err)
		}
		return nil
	})
}

// MarkAllDisconnected clears every connected flag; for start-up, when no station can be
// connected to this process yet.
func (s *Store) MarkAllDisconnected(ctx context.Context) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE stations SET connected = 0 WHERE connected = 1`); err != nil {
			return fmt.Errorf("sqlite: mark all disconnected: %w", err)
		}
		return nil
	})
}

// TouchStation moves last-seen to at unless it is already later.
func (s *Store) TouchStation(ctx context.Context, id string, at time.Time) error {
	at = s.stamp(at)
	if err := checkTime("last seen", at); err != nil {
		return fmt.Errorf("sqlite: touch station %q: %w", id, err)
	}
	t := formatTime(at)
	return s.write(ctx, func(tx *sql.Tx) error {
		err := oneStation(id)(s.on(tx).exec(qStationTouch, t, id))
		if err != nil {
			return fmt.Errorf("sqlite: touch station %q: %w", id, err)
		}
		return nil
	})
}

// touchChunk is how many last-seen times one write operation of TouchStations sets: enough
// that a flush of every station costs a few operations, few enough that one holds the writer
// for a millisecond or two while message writes wait.
const touchChunk = 256

// TouchStations moves last-seen forward for many stations, touchChunk of them per write
// operation; unknown ids are skipped.
func (s *Store) TouchStations(ctx context.Context, seen map[string]time.Time) error {
	type touch struct{ id, at string }
	chunk := make([]touch, 0, min(len(seen), touchChunk))
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		err := s.write(ctx, func(tx *sql.Tx) error {
			q := s.on(tx)
			for _, t := range chunk {
				if _, err := q.exec(qStationTouch, t.at, t.id); err != nil {
					return fmt.Errorf("sqlite: touch station %q: %w", t.id, err)
				}
			}
			return nil
		})
		chunk = chunk[:0]
		return err
	}
	for id, at := range seen {
		at = s.stamp(at)
		if err := checkTime("last seen", at); err != nil {
			return fmt.Errorf("sqlite: touch station %q: %w", id, err)
		}
		if chunk = append(chunk, touch{id, formatTime(at)}); len(chunk) == touchChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// UpdateStatus upserts one connector's status unless the stored one is newer (reports can arrive
// out of order, e.g. queued while offline). EVSE 0 is the station as a whole: it is kept in the
// station row under the same rule and never becomes an EVSE. A zero At means now.
func (s *Store) UpdateStatus(ctx context.Context, u domain.StatusUpdate) error {
	u.At = s.stamp(u.At)
	if err := validateStatus(u); err != nil {
		return fmt.Errorf("sqlite: update status %s/%d/%d: %w", u.StationID, u.EVSEID, u.ConnectorID, err)
	}
	args := []any{
		sql.Named("station", u.StationID), sql.Named("evse", u.EVSEID), sql.Named("connector", u.ConnectorID),
		sql.Named("status", string(u.Status)), sql.Named("ocpp_status", u.OCPPStatus),
		sql.Named("error_code", u.ErrorCode), sql.Named("info", u.Info),
		sql.Named("vendor_error_code", u.VendorErrorCode), sql.Named("at", formatTime(u.At)),
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if u.EVSEID == 0 {
			err = updateStationStatus(s.on(tx), tx, u.StationID, args)
		} else {
			_, err = s.on(tx).exec(qConnectorStatus, args...)
			err = mapErr(err, "", fmt.Sprintf("station %q not found", u.StationID))
		}
		if err != nil {
			return fmt.Errorf("sqlite: update status %s/%d/%d: %w", u.StationID, u.EVSEID, u.ConnectorID, err)
		}
		return nil
	})
}

func updateStationStatus(st *txStmts, tx *sql.Tx, stationID string, args []any) error {
	res, err := st.exec(qStationStatus, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	// Nothing updated: either an outdated report (fine) or an unknown station.
	var one int
	err = tx.QueryRow(`SELECT 1 FROM stations WHERE id = ?`, stationID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return stationNotFound(stationID)
	}
	return err
}

func validateStatus(u domain.StatusUpdate) error {
	switch {
	case u.StationID == "":
		return invalid("the station id is empty")
	case u.EVSEID < 0 || u.ConnectorID < 0:
		return invalid("EVSE and connector ids must not be negative")
	case u.EVSEID > 0 && u.ConnectorID == 0:
		return invalid("connector ids of an EVSE start at 1")
	case u.Status == "":
		return invalid("the status is empty")
	}
	return checkTime("status time", u.At)
}

// AddStationEvent stores e; a zero At means now.
func (s *Store) AddStationEvent(ctx context.Context, e domain.StationEvent) error {
	args, err := eventArgs(s, e)
	if err != nil {
		return fmt.Errorf("sqlite: add station event %q: %w", e.StationID, err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.on(tx).exec(qEventInsert, args...)
		if err != nil {
			return fmt.Errorf("sqlite: add station event %q: %w", e.StationID,
				mapErr(err, "", fmt.Sprintf("station %q not found", e.StationID)))
		}
		return nil
	})
}

// eventArgs checks e and returns the arguments of qEventInsert; a zero At means now.
func eventArgs(s *Store, e domain.StationEvent) ([]any, error) {
	e.At = s.stamp(e.At)
	detail, err := jsonText("detail", e.Detail)
	if err == nil && e.Kind == "" {
		err = invalid("the event kind is empty")
	}
	if err == nil {
		err = checkTime("event time", e.At)
	}
	if err != nil {
		return nil, err
	}
	return []any{e.StationID, e.Kind, e.Type, formatTime(e.At), detail}, nil
}

// StationEvents lists the events of a station, newest (by the event's time) first; ErrNotFound
// for an unknown station.
func (s *Store) StationEvents(ctx context.Context, stationID string, p domain.Page) ([]domain.StationEvent, string, error) {
	p = p.Normalized()
	query := `SELECT id, kind, type, at, detail FROM station_events WHERE station_id = ?
		ORDER BY at DESC, id DESC LIMIT ?`
	args := []any{stationID, p.Limit + 1}
	if p.Cursor != "" {
		at, id, err := decodeEventCursor(p.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: station events %q: %w", stationID, err)
		}
		query = `SELECT id, kind, type, at, detail FROM station_events
			WHERE station_id = ? AND (at, id) < (?, ?)
			ORDER BY at DESC, id DESC LIMIT ?`
		args = []any{stationID, at, id, p.Limit + 1}
	}
	var (
		evs    []domain.StationEvent
		lastID int64
		more   bool
	)
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if len(evs) == p.Limit {
				more = true
				break
			}
			var (
				e      domain.StationEvent
				at     string
				detail sql.NullString
			)
			if err := rows.Scan(&lastID, &e.Kind, &e.Type, &at, &detail); err != nil {
				return err
			}
			if e.At, err = parseTime(at); err != nil {
				return err
			}
			e.StationID = stationID
			e.Detail = jsonBytes(detail)
			evs = append(evs, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(evs) == 0 {
			return stationExists(ctx, tx, stationID)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: station events %q: %w", stationID, err)
	}
	next := ""
	if more {
		next = encodeCursor("event", formatTime(evs[len(evs)-1].At)+" "+strconv.FormatInt(lastID, 10))
	}
	return evs, next, nil
}

func decodeEventCursor(c string) (at string, id int64, err error) {
	pos, err := decodeCursor("event", c)
	if err != nil {
		return "", 0, err
	}
	at, idText, ok := strings.Cut(pos, " ")
	if ok {
		if _, err = parseTime(at); err == nil {
			id, err = strconv.ParseInt(idText, 10, 64)
		}
	}
	if !ok || err != nil {
		return "", 0, invalid("invalid cursor")
	}
	return at, id, nil
}

func stationExists(ctx context.Context, tx *sql.Tx, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM stations WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return stationNotFound(id)
	}
	return err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

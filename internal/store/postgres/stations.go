package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencpo/opencpo/internal/domain"
)

const stationColumns = `id, name, password_hash, registration_status, connected, ocpp_version,
	vendor, model, serial_number, firmware_version, last_seen_at, created_at, updated_at`

// CreateStation inserts s with its EVSEs and connectors, if any. CreatedAt and UpdatedAt are set
// by the store; connectors with a zero UpdatedAt get the current time.
func (s *Store) CreateStation(ctx context.Context, st domain.Station) error {
	if err := validateNewStation(st); err != nil {
		return fmt.Errorf("postgres: create station %q: %w", st.ID, err)
	}
	now := pgTime(s.now())
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO stations (`+stationColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			st.ID, st.Name, st.PasswordHash, string(st.RegistrationStatus), st.Connected, nullString(st.OCPPVersion),
			st.Vendor, st.Model, st.SerialNumber, st.FirmwareVersion, nullTime(st.LastSeenAt), now, now)
		if err != nil {
			return fmt.Errorf("postgres: create station %q: %w", st.ID,
				mapErr(err, fmt.Sprintf("station %q already exists", st.ID), ""))
		}
		for _, e := range st.EVSEs {
			for _, c := range e.Connectors {
				at := now
				if !c.UpdatedAt.IsZero() {
					at = pgTime(c.UpdatedAt)
				}
				if _, err := tx.Exec(ctx, `INSERT INTO connectors (station_id, evse_id, connector_id,
						status, ocpp_status, error_code, info, vendor_error_code, updated_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
					st.ID, e.ID, c.ID, string(c.Status), c.OCPPStatus, c.ErrorCode, c.Info, c.VendorErrorCode, at); err != nil {
					return fmt.Errorf("postgres: create station %q: connector %d/%d: %w", st.ID, e.ID, c.ID, mapErr(err, "", ""))
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
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var err error
		st, err = loadStation(ctx, tx, id)
		return err
	})
	if err != nil {
		return domain.Station{}, fmt.Errorf("postgres: station %q: %w", id, err)
	}
	return st, nil
}

// StationRecord returns one station without its EVSEs, in one query outside any transaction.
func (s *Store) StationRecord(ctx context.Context, id string) (domain.Station, error) {
	rows, _ := s.pool.Query(ctx, stationByID, id)
	st, err := stationRow(rows, id)
	if err != nil {
		return domain.Station{}, fmt.Errorf("postgres: station %q: %w", id, err)
	}
	return st, nil
}

// stationByID selects one station's row.
const stationByID = `SELECT ` + stationColumns + ` FROM stations WHERE id = $1`

// stationRow scans the row of station id (stationByID); ErrNotFound if there is none.
func stationRow(rows pgx.Rows, id string) (domain.Station, error) {
	sts, err := scanStations(rows)
	if err != nil {
		return domain.Station{}, err
	}
	if len(sts) == 0 {
		return domain.Station{}, stationNotFound(id)
	}
	return sts[0], nil
}

// loadStation reads one station and its connectors within tx.
func loadStation(ctx context.Context, tx pgx.Tx, id string) (domain.Station, error) {
	rows, _ := tx.Query(ctx, stationByID, id)
	st, err := stationRow(rows, id)
	if err != nil {
		return domain.Station{}, err
	}
	sts := []domain.Station{st}
	if err := attachConnectors(ctx, tx, sts); err != nil {
		return domain.Station{}, err
	}
	return sts[0], nil
}

// Stations lists a page of stations ordered by id (byte-wise: the column is COLLATE "C"). Two
// queries whatever the page size: one for the stations, one for all their connectors.
func (s *Store) Stations(ctx context.Context, p domain.Page) ([]domain.Station, string, error) {
	var (
		sts  []domain.Station
		next string
	)
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var err error
		sts, next, err = pageByKey(ctx, tx, "station", `SELECT `+stationColumns+` FROM stations WHERE id > $1 ORDER BY id LIMIT $2`, p,
			scanStation, func(st domain.Station) string { return st.ID })
		if err != nil {
			return err
		}
		return attachConnectors(ctx, tx, sts)
	})
	if err != nil {
		return nil, "", fmt.Errorf("postgres: stations: %w", mapErr(err, "", ""))
	}
	return sts, next, nil
}

func scanStations(rows pgx.Rows) ([]domain.Station, error) {
	defer rows.Close()
	var sts []domain.Station
	for rows.Next() {
		st, err := scanStation(rows)
		if err != nil {
			return nil, err
		}
		sts = append(sts, st)
	}
	return sts, rows.Err()
}

func scanStation(row pgx.Row) (domain.Station, error) {
	var (
		st       domain.Station
		reg      string
		version  *string
		lastSeen *time.Time
	)
	if err := row.Scan(&st.ID, &st.Name, &st.PasswordHash, &reg, &st.Connected, &version,
		&st.Vendor, &st.Model, &st.SerialNumber, &st.FirmwareVersion, &lastSeen, &st.CreatedAt, &st.UpdatedAt); err != nil {
		return domain.Station{}, err
	}
	st.RegistrationStatus = domain.RegistrationStatus(reg)
	if version != nil {
		st.OCPPVersion = *version
	}
	st.LastSeenAt = fromNull(lastSeen)
	st.CreatedAt, st.UpdatedAt = st.CreatedAt.UTC(), st.UpdatedAt.UTC()
	return st, nil
}

// attachConnectors fills the EVSEs of sts, which must be ordered by id, with one query over the
// id range they span (a page of stations is exactly such a range).
func attachConnectors(ctx context.Context, tx pgx.Tx, sts []domain.Station) error {
	if len(sts) == 0 {
		return nil
	}
	rows, _ := tx.Query(ctx, `SELECT station_id, evse_id, connector_id, status, ocpp_status,
			error_code, info, vendor_error_code, updated_at
		FROM connectors WHERE station_id BETWEEN $1 AND $2
		ORDER BY station_id, evse_id, connector_id`, sts[0].ID, sts[len(sts)-1].ID)
	defer rows.Close()
	i := 0
	for rows.Next() {
		var (
			stationID, status string
			evseID            int
			c                 domain.Connector
		)
		if err := rows.Scan(&stationID, &evseID, &c.ID, &status, &c.OCPPStatus, &c.ErrorCode, &c.Info,
			&c.VendorErrorCode, &c.UpdatedAt); err != nil {
			return err
		}
		c.Status = domain.ConnectorStatus(status)
		c.UpdatedAt = c.UpdatedAt.UTC()
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
		return domain.Station{}, fmt.Errorf("postgres: update station %q: %w", id,
			invalid("registration status %q is not one of Accepted, Pending, Rejected", *p.RegistrationStatus))
	}
	var reg *string
	if p.RegistrationStatus != nil {
		r := string(*p.RegistrationStatus)
		reg = &r
	}
	now := pgTime(s.now())
	var st domain.Station
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// A nil pointer binds as NULL, which coalesce turns into "keep the column".
		tag, err := tx.Exec(ctx, `UPDATE stations SET
				name = coalesce($1, name),
				password_hash = coalesce($2, password_hash),
				registration_status = coalesce($3, registration_status),
				updated_at = $4
			WHERE id = $5`, p.Name, p.PasswordHash, reg, now, id)
		if err != nil {
			return mapErr(err, "", "")
		}
		if tag.RowsAffected() == 0 {
			return stationNotFound(id)
		}
		st, err = loadStation(ctx, tx, id)
		return err
	})
	if err != nil {
		return domain.Station{}, fmt.Errorf("postgres: update station %q: %w", id, err)
	}
	return st, nil
}

// DeleteStation removes the station; its connectors and events go with it (ON DELETE CASCADE),
// its audit entries and sessions stay.
func (s *Store) DeleteStation(ctx context.Context, id string) error {
	n, err := s.exec(ctx, `DELETE FROM stations WHERE id = $1`, id)
	if err == nil && n == 0 {
		err = stationNotFound(id)
	}
	if err != nil {
		return fmt.Errorf("postgres: delete station %q: %w", id, err)
	}
	return nil
}

// RecordBoot stores what a BootNotification reported. An empty OCPPVersion keeps the stored one;
// last-seen moves to b.At unless it is already later.
func (s *Store) RecordBoot(ctx context.Context, b domain.BootInfo) error {
	at := s.stamp(b.At)
	if err := checkTime("boot time", at); err != nil {
		return fmt.Errorf("postgres: record boot %q: %w", b.StationID, err)
	}
	// greatest() ignores NULLs: a first sighting sets last_seen_at.
	n, err := s.exec(ctx, `UPDATE stations SET
			vendor = $1, model = $2, serial_number = $3, firmware_version = $4,
			ocpp_version = coalesce(nullif($5, ''), ocpp_version),
			last_seen_at = greatest(last_seen_at, $6),
			updated_at = $7
		WHERE id = $8`,
		b.Vendor, b.Model, b.SerialNumber, b.FirmwareVersion, b.OCPPVersion, pgTime(at), pgTime(s.now()), b.StationID)
	if err == nil && n == 0 {
		err = stationNotFound(b.StationID)
	}
	if err != nil {
		return fmt.Errorf("postgres: record boot %q: %w", b.StationID, mapErr(err, "", ""))
	}
	return nil
}

// SetConnected records a connection (its OCPP version, if not empty, and last-seen, never moved
// backwards) or a disconnection (only the flag: the version stays as "the last one seen").
func (s *Store) SetConnected(ctx context.Context, id string, connected bool, ocppVersion string, at time.Time) error {
	at = s.stamp(at)
	if err := checkTime("connection time", at); err != nil {
		return fmt.Errorf("postgres: set connected %q: %w", id, err)
	}
	var (
		n   int64
		err error
	)
	if connected {
		n, err = s.commit.exec(ctx, id+"\x00", `UPDATE stations SET connected = true,
				ocpp_version = coalesce(nullif($1, ''), ocpp_version),
				last_seen_at = greatest(last_seen_at, $2)
			WHERE id = $3`, ocppVersion, pgTime(at), id)
	} else {
		n, err = s.commit.exec(ctx, id+"\x00", `UPDATE stations SET connected = false WHERE id = $1`, id)
	}
	if err == nil && n == 0 {
		err = stationNotFound(id)
	}
	if err != nil {
		return fmt.Errorf("postgres: set connected %q %t: %w", id, connected, mapErr(err, "", ""))
	}
	return nil
}

// MarkAllDisconnected clears every connected flag; for the start-up of a single node, when no
// station can be connected to it yet. (In a cluster, other nodes hold connections: a node must
// not call it there.)
func (s *Store) MarkAllDisconnected(ctx context.Context) error {
	if _, err := s.exec(ctx, `UPDATE stations SET connected = false WHERE connected`); err != nil {
		return fmt.Errorf("postgres: mark all disconnected: %w", err)
	}
	return nil
}

// TouchStation moves last-seen to at unless it is already later.
func (s *Store) TouchStation(ctx context.Context, id string, at time.Time) error {
	at = s.stamp(at)
	if err := checkTime("last seen", at); err != nil {
		return fmt.Errorf("postgres: touch station %q: %w", id, err)
	}
	// The WHERE clause skips the write (and its WAL) when last-seen is already as late, but then
	// matches no row: the existence check below tells that apart from an unknown station.
	n, err := s.commit.exec(ctx, id+"\x00", `UPDATE stations SET last_seen_at = $1
		WHERE id = $2 AND (last_seen_at IS NULL OR last_seen_at < $1)`, pgTime(at), id)
	if err == nil && n == 0 {
		err = s.stationExists(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("postgres: touch station %q: %w", id, mapErr(err, "", ""))
	}
	return nil
}

// TouchStations moves last-seen forward for many stations; unknown ids are skipped. Each
// station is its own write of the group commit, keyed like TouchStation, so that it is ordered
// with the station's other writes and never waits on row locks a batch holds in another order.
func (s *Store) TouchStations(ctx context.Context, seen map[string]time.Time) error {
	sem := make(chan struct{}, 32) // enough writes in flight for the group commit to batch them
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for id, at := range seen {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.TouchStation(ctx, id, at); err != nil && !errors.Is(err, domain.ErrNotFound) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// UpdateStatus upserts one connector's status unless the stored one is newer (reports can arrive
// out of order, e.g. queued while offline). EVSE 0 is the station as a whole: it is kept in the
// station row under the same rule and never becomes an EVSE. A zero At means now.
func (s *Store) UpdateStatus(ctx context.Context, u domain.StatusUpdate) error {
	u.At = s.stamp(u.At)
	if err := validateStatus(u); err != nil {
		return fmt.Errorf("postgres: update status %s/%d/%d: %w", u.StationID, u.EVSEID, u.ConnectorID, err)
	}
	var err error
	if u.EVSEID == 0 {
		var n int64
		n, err = s.commit.exec(ctx, u.StationID+"\x00", `UPDATE stations SET status = $1, ocpp_status = $2,
				error_code = $3, info = $4, vendor_error_code = $5, status_at = $6
			WHERE id = $7 AND (status_at IS NULL OR status_at <= $6)`,
			string(u.Status), u.OCPPStatus, u.ErrorCode, u.Info, u.VendorErrorCode, pgTime(u.At), u.StationID)
		if err == nil && n == 0 {
			// Nothing updated: either an outdated report (fine) or an unknown station.
			err = s.stationExists(ctx, u.StationID)
		}
	} else {
		// Sorted after the station's own row (see groupcommit.go), by EVSE and connector.
		key := fmt.Sprintf("%s\x00%010d/%010d", u.StationID, u.EVSEID, u.ConnectorID)
		_, err = s.commit.exec(ctx, key, `INSERT INTO connectors AS c (station_id, evse_id, connector_id,
				status, ocpp_status, error_code, info, vendor_error_code, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (station_id, evse_id, connector_id) DO UPDATE SET
				status = excluded.status, ocpp_status = excluded.ocpp_status,
				error_code = excluded.error_code, info = excluded.info,
				vendor_error_code = excluded.vendor_error_code, updated_at = excluded.updated_at
			WHERE excluded.updated_at >= c.updated_at`,
			u.StationID, u.EVSEID, u.ConnectorID, string(u.Status), u.OCPPStatus, u.ErrorCode, u.Info,
			u.VendorErrorCode, pgTime(u.At))
	}
	if err != nil {
		return fmt.Errorf("postgres: update status %s/%d/%d: %w", u.StationID, u.EVSEID, u.ConnectorID,
			mapErr(err, "", fmt.Sprintf("station %q not found", u.StationID)))
	}
	return nil
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

const eventInsert = `INSERT INTO station_events (station_id, kind, type, at, detail) VALUES ($1, $2, $3, $4, $5)`

// AddStationEvent stores e; a zero At means now.
func (s *Store) AddStationEvent(ctx context.Context, e domain.StationEvent) error {
	args, err := eventArgs(s, e)
	if err == nil {
		_, err = s.exec(ctx, eventInsert, args...)
		err = mapErr(err, "", fmt.Sprintf("station %q not found", e.StationID))
	}
	if err != nil {
		return fmt.Errorf("postgres: add station event %q: %w", e.StationID, err)
	}
	return nil
}

// eventArgs checks e and returns the arguments of eventInsert; a zero At means now.
func eventArgs(s *Store, e domain.StationEvent) ([]any, error) {
	e.At = s.stamp(e.At)
	detail, err := jsonArg("detail", e.Detail)
	if err == nil && e.Kind == "" {
		err = invalid("the event kind is empty")
	}
	if err == nil {
		err = checkTime("event time", e.At)
	}
	if err != nil {
		return nil, err
	}
	return []any{e.StationID, e.Kind, e.Type, pgTime(e.At), detail}, nil
}

// StationEvents lists the events of a station, newest (by the event's time) first; ErrNotFound
// for an unknown station.
func (s *Store) StationEvents(ctx context.Context, stationID string, p domain.Page) ([]domain.StationEvent, string, error) {
	p = p.Normalized()
	query := `SELECT id, kind, type, at, detail::text FROM station_events WHERE station_id = $1
		ORDER BY at DESC, id DESC LIMIT $2`
	args := []any{stationID, p.Limit + 1}
	if p.Cursor != "" {
		at, id, err := decodeTimeIDCursor("event", p.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("postgres: station events %q: %w", stationID, err)
		}
		query = `SELECT id, kind, type, at, detail::text FROM station_events
			WHERE station_id = $1 AND (at, id) < ($3, $4)
			ORDER BY at DESC, id DESC LIMIT $2`
		args = append(args, at, id)
	}
	var (
		evs    []domain.StationEvent
		lastID int64
		more   bool
	)
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, query, args...)
		defer rows.Close()
		for rows.Next() {
			if len(evs) == p.Limit {
				more = true
				break
			}
			var (
				e      domain.StationEvent
				detail *string
			)
			if err := rows.Scan(&lastID, &e.Kind, &e.Type, &e.At, &detail); err != nil {
				return err
			}
			e.At = e.At.UTC()
			e.StationID = stationID
			e.Detail = jsonBytes(detail)
			evs = append(evs, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(evs) == 0 {
			return stationExistsTx(ctx, tx, stationID)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("postgres: station events %q: %w", stationID, mapErr(err, "", ""))
	}
	next := ""
	if more {
		next = encodeTimeIDCursor("event", evs[len(evs)-1].At, lastID)
	}
	return evs, next, nil
}

func encodeTimeIDCursor(kind string, at time.Time, id int64) string {
	return encodeCursor(kind, at.UTC().Format(cursorTimeLayout)+" "+strconv.FormatInt(id, 10))
}

func decodeTimeIDCursor(kind, c string) (at time.Time, id int64, err error) {
	pos, err := decodeCursor(kind, c)
	if err != nil {
		return time.Time{}, 0, err
	}
	atText, idText, ok := strings.Cut(pos, " ")
	if ok {
		if at, err = time.Parse(cursorTimeLayout, atText); err == nil {
			id, err = strconv.ParseInt(idText, 10, 64)
		}
	}
	if !ok || err != nil {
		return time.Time{}, 0, invalid("invalid cursor")
	}
	return at.UTC(), id, nil
}

func (s *Store) stationExists(ctx context.Context, id string) error {
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM stations WHERE id = $1`, id).Scan(&one)
	if isNoRows(err) {
		return stationNotFound(id)
	}
	return err
}

func stationExistsTx(ctx context.Context, tx pgx.Tx, id string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM stations WHERE id = $1`, id).Scan(&one)
	if isNoRows(err) {
		return stationNotFound(id)
	}
	return err
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

const reservationColumns = `id, station_id, evse_id, id_token, id_token_type, expires_at, status, station_status,
	transaction_id, actor, created_at, updated_at`

// CreateReservation stores r with a new id; CreatedAt and UpdatedAt are the store's clock.
func (s *Store) CreateReservation(ctx context.Context, r domain.Reservation) (domain.Reservation, error) {
	if err := errors.Join(r.ValidateNew(), checkTime("expiry", r.ExpiresAt)); err != nil {
		return domain.Reservation{}, fmt.Errorf("sqlite: create reservation: %w", err)
	}
	now := formatTime(s.now())
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.Reservation, error) {
		out, err := scanReservation(tx.QueryRow(`INSERT INTO reservations (station_id, evse_id, id_token, id_token_type,
				expires_at, status, station_status, transaction_id, actor, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+reservationColumns,
			r.StationID, r.EVSEID, r.IDToken, r.IDTokenType, formatTime(r.ExpiresAt), string(r.Status), r.StationStatus,
			r.TransactionID, r.Actor, now, now), 0)
		if err != nil {
			return domain.Reservation{}, fmt.Errorf("sqlite: create reservation: %w",
				mapErr(err, "", fmt.Sprintf("station %q not found", r.StationID)))
		}
		return out, nil
	})
}

// Reservation returns one reservation.
func (s *Store) Reservation(ctx context.Context, id int64) (domain.Reservation, error) {
	r, err := readOne(ctx, s, `SELECT `+reservationColumns+` FROM reservations WHERE id = ?`,
		func(r scanner) (domain.Reservation, error) { return scanReservation(r, id) }, id)
	if err != nil {
		return domain.Reservation{}, fmt.Errorf("sqlite: reservation %d: %w", id, err)
	}
	return r, nil
}

// Reservations lists reservations newest first.
func (s *Store) Reservations(ctx context.Context, f domain.ReservationFilter, p domain.Page) ([]domain.Reservation, string, error) {
	p = p.Normalized()
	before := int64(math.MaxInt64)
	if p.Cursor != "" {
		var err error
		if before, err = decodeIDCursor("reservation", p.Cursor); err != nil {
			return nil, "", fmt.Errorf("sqlite: reservations: %w", err)
		}
	}
	where, args := []string{"id < ?"}, []any{before}
	if f.StationID != "" {
		where, args = append(where, "station_id = ?"), append(args, f.StationID)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	args = append(args, p.Limit+1)
	var out []domain.Reservation
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+reservationColumns+` FROM reservations WHERE `+strings.Join(where, " AND ")+
			` ORDER BY id DESC LIMIT ?`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanReservation(rows, 0)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: reservations: %w", err)
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		next = encodeCursor("reservation", strconv.FormatInt(out[len(out)-1].ID, 10))
	}
	return out, next, nil
}

// SetReservationStatus moves a reservation between states (see domain.ReservationStore).
func (s *Store) SetReservationStatus(ctx context.Context, id int64, from []domain.ReservationStatus, to domain.ReservationStatus,
	stationStatus, transactionID string) (domain.Reservation, error) {
	if !to.Valid() {
		return domain.Reservation{}, fmt.Errorf("sqlite: reservation %d: %w", id, invalid("reservation status %q is unknown", to))
	}
	now := formatTime(s.now())
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.Reservation, error) {
		cur, err := scanReservation(tx.QueryRow(`SELECT `+reservationColumns+` FROM reservations WHERE id = ?`, id), id)
		if err != nil {
			return domain.Reservation{}, fmt.Errorf("sqlite: reservation %d: %w", id, err)
		}
		if len(from) > 0 && !containsStatus(from, cur.Status) {
			return cur, fmt.Errorf("sqlite: reservation %d: %w", id,
				domain.Errorf(domain.ErrConflict, "reservation %d is %s", id, cur.Status))
		}
		out, err := scanReservation(tx.QueryRow(`UPDATE reservations SET status = ?,
				station_status = CASE WHEN ? = '' THEN station_status ELSE ? END,
				transaction_id = CASE WHEN ? = '' THEN transaction_id ELSE ? END,
				updated_at = ?
			WHERE id = ? RETURNING `+reservationColumns,
			string(to), stationStatus, stationStatus, transactionID, transactionID, now, id), id)
		if err != nil {
			return domain.Reservation{}, fmt.Errorf("sqlite: reservation %d: %w", id, err)
		}
		return out, nil
	})
}

func containsStatus(list []domain.ReservationStatus, s domain.ReservationStatus) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// DueReservations lists open reservations expiring at or before cutoff.
func (s *Store) DueReservations(ctx context.Context, cutoff time.Time, limit int) ([]domain.Reservation, error) {
	limit = domain.Page{Limit: limit}.Normalized().Limit
	var out []domain.Reservation
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+reservationColumns+` FROM reservations
			WHERE status IN ('requested', 'active') AND expires_at <= ? ORDER BY expires_at LIMIT ?`, formatTime(cutoff), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanReservation(rows, 0)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: due reservations: %w", err)
	}
	return out, nil
}

func scanReservation(row scanner, id int64) (domain.Reservation, error) {
	var (
		r                         domain.Reservation
		status                    string
		expires, created, updated string
	)
	err := row.Scan(&r.ID, &r.StationID, &r.EVSEID, &r.IDToken, &r.IDTokenType, &expires, &status, &r.StationStatus,
		&r.TransactionID, &r.Actor, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Reservation{}, domain.Errorf(domain.ErrNotFound, "reservation %d not found", id)
	}
	if err != nil {
		return domain.Reservation{}, err
	}
	r.Status = domain.ReservationStatus(status)
	var err1, err2, err3 error
	r.ExpiresAt, err1 = parseTime(expires)
	r.CreatedAt, err2 = parseTime(created)
	r.UpdatedAt, err3 = parseTime(updated)
	return r, errors.Join(err1, err2, err3)
}

const logColumns = `id, station_id, type, from_at, to_at, status, upload_id, upload_expires_at, file_name, file_size,
	file_path, received_at, actor, created_at, updated_at`

// CreateLogRequest stores l with a new id.
func (s *Store) CreateLogRequest(ctx context.Context, l domain.LogRequest) (domain.LogRequest, error) {
	err := errors.Join(l.ValidateNew(), checkTime("upload expiry", l.UploadExpiresAt))
	if !l.From.IsZero() {
		err = errors.Join(err, checkTime("from", l.From))
	}
	if !l.To.IsZero() {
		err = errors.Join(err, checkTime("to", l.To))
	}
	if err != nil {
		return domain.LogRequest{}, fmt.Errorf("sqlite: create log request: %w", err)
	}
	now := formatTime(s.now())
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.LogRequest, error) {
		out, err := scanLogRequest(tx.QueryRow(`INSERT INTO log_requests (station_id, type, from_at, to_at, status, upload_id,
				upload_expires_at, actor, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+logColumns,
			l.StationID, string(l.Type), nullTime(l.From), nullTime(l.To), l.Status, l.UploadID, formatTime(l.UploadExpiresAt),
			l.Actor, now, now), "")
		if err != nil {
			return domain.LogRequest{}, fmt.Errorf("sqlite: create log request: %w",
				mapErr(err, "upload id already used", fmt.Sprintf("station %q not found", l.StationID)))
		}
		return out, nil
	})
}

func (s *Store) logQuery(ctx context.Context, what, query string, args ...any) (domain.LogRequest, error) {
	var l domain.LogRequest
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		l, err = scanLogRequest(tx.QueryRowContext(ctx, `SELECT `+logColumns+` FROM log_requests WHERE `+query, args...), what)
		return err
	})
	if err != nil {
		return domain.LogRequest{}, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return l, nil
}

// LogRequest returns one log request.
func (s *Store) LogRequest(ctx context.Context, id int64) (domain.LogRequest, error) {
	return s.logQuery(ctx, fmt.Sprintf("log request %d", id), `id = ?`, id)
}

// LatestLogRequest returns the station's newest request of type t.
func (s *Store) LatestLogRequest(ctx context.Context, stationID string, t domain.LogType) (domain.LogRequest, error) {
	return s.logQuery(ctx, fmt.Sprintf("%s log request of station %q", t, stationID),
		`station_id = ? AND type = ? ORDER BY id DESC LIMIT 1`, stationID, string(t))
}

// LogRequestByUpload returns the request of an upload slot.
func (s *Store) LogRequestByUpload(ctx context.Context, uploadID string) (domain.LogRequest, error) {
	return s.logQuery(ctx, "upload slot", `upload_id = ?`, uploadID)
}

// LogRequests lists a station's requests newest first.
func (s *Store) LogRequests(ctx context.Context, stationID string, p domain.Page) ([]domain.LogRequest, string, error) {
	p = p.Normalized()
	before := int64(math.MaxInt64)
	if p.Cursor != "" {
		var err error
		if before, err = decodeIDCursor("log", p.Cursor); err != nil {
			return nil, "", fmt.Errorf("sqlite: log requests: %w", err)
		}
	}
	var out []domain.LogRequest
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+logColumns+` FROM log_requests WHERE station_id = ? AND id < ?
			ORDER BY id DESC LIMIT ?`, stationID, before, p.Limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			l, err := scanLogRequest(rows, "")
			if err != nil {
				return err
			}
			out = append(out, l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: log requests: %w", err)
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		next = encodeCursor("log", strconv.FormatInt(out[len(out)-1].ID, 10))
	}
	return out, next, nil
}

// SetLogStatus records a status; a received file keeps the request "received".
func (s *Store) SetLogStatus(ctx context.Context, id int64, status string) (domain.LogRequest, error) {
	if status == "" {
		return domain.LogRequest{}, fmt.Errorf("sqlite: log request %d: %w", id, invalid("the status is empty"))
	}
	now := formatTime(s.now())
	what := fmt.Sprintf("log request %d", id)
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.LogRequest, error) {
		l, err := scanLogRequest(tx.QueryRow(`UPDATE log_requests SET
				status = CASE WHEN received_at IS NULL THEN ? ELSE status END, updated_at = ?
			WHERE id = ? RETURNING `+logColumns, status, now, id), what)
		if err != nil {
			return domain.LogRequest{}, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		return l, nil
	})
}

// FinishUpload records the file of an upload slot, once.
func (s *Store) FinishUpload(ctx context.Context, uploadID, fileName, filePath string, size int64, at time.Time) (domain.LogRequest, error) {
	at = s.stamp(at)
	if err := checkTime("upload time", at); err != nil {
		return domain.LogRequest{}, fmt.Errorf("sqlite: finish upload: %w", err)
	}
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.LogRequest, error) {
		cur, err := scanLogRequest(tx.QueryRow(`SELECT `+logColumns+` FROM log_requests WHERE upload_id = ?`, uploadID), "upload slot")
		if err != nil {
			return domain.LogRequest{}, fmt.Errorf("sqlite: finish upload: %w", err)
		}
		if !cur.ReceivedAt.IsZero() {
			return domain.LogRequest{}, fmt.Errorf("sqlite: finish upload: %w",
				domain.Errorf(domain.ErrConflict, "the upload URL was already used"))
		}
		l, err := scanLogRequest(tx.QueryRow(`UPDATE log_requests SET status = ?, file_name = ?, file_path = ?, file_size = ?,
				received_at = ?, updated_at = ?
			WHERE upload_id = ? RETURNING `+logColumns,
			domain.LogReceived, fileName, filePath, size, formatTime(at), formatTime(s.now()), uploadID), "upload slot")
		if err != nil {
			return domain.LogRequest{}, fmt.Errorf("sqlite: finish upload: %w", err)
		}
		return l, nil
	})
}

func scanLogRequest(row scanner, what string) (domain.LogRequest, error) {
	var (
		l                               domain.LogRequest
		typ                             string
		from, to, received              sql.NullString
		uploadExpires, created, updated string
	)
	err := row.Scan(&l.ID, &l.StationID, &typ, &from, &to, &l.Status, &l.UploadID, &uploadExpires, &l.FileName, &l.FileSize,
		&l.FilePath, &received, &l.Actor, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.LogRequest{}, domain.Errorf(domain.ErrNotFound, "%s not found", what)
	}
	if err != nil {
		return domain.LogRequest{}, err
	}
	l.Type = domain.LogType(typ)
	var errs [6]error
	l.From, errs[0] = parseNullTime(from)
	l.To, errs[1] = parseNullTime(to)
	l.ReceivedAt, errs[2] = parseNullTime(received)
	l.UploadExpiresAt, errs[3] = parseTime(uploadExpires)
	l.CreatedAt, errs[4] = parseTime(created)
	l.UpdatedAt, errs[5] = parseTime(updated)
	return l, errors.Join(errs[:]...)
}

// Secret returns the named secret, storing candidate if there is none yet.
func (s *Store) Secret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	if name == "" || len(candidate) == 0 {
		return nil, fmt.Errorf("sqlite: secret: %w", invalid("a secret needs a name and a value"))
	}
	return writeValue(ctx, s, func(tx *sql.Tx) ([]byte, error) {
		if _, err := tx.Exec(`INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, candidate); err != nil {
			return nil, fmt.Errorf("sqlite: secret %q: %w", name, err)
		}
		var v []byte
		if err := tx.QueryRow(`SELECT value FROM server_secrets WHERE name = ?`, name).Scan(&v); err != nil {
			return nil, fmt.Errorf("sqlite: secret %q: %w", name, err)
		}
		return v, nil
	})
}

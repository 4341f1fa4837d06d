package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencpo/opencpo/internal/domain"
)

const reservationColumns = `id, station_id, evse_id, id_token, id_token_type, expires_at, status, station_status,
	transaction_id, actor, created_at, updated_at`

// CreateReservation stores r with a new id; CreatedAt and UpdatedAt are the store's clock.
func (s *Store) CreateReservation(ctx context.Context, r domain.Reservation) (domain.Reservation, error) {
	if err := errors.Join(r.ValidateNew(), checkTime("expiry", r.ExpiresAt)); err != nil {
		return domain.Reservation{}, fmt.Errorf("postgres: create reservation: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return domain.Reservation{}, fmt.Errorf("postgres: create reservation: %w", err)
	}
	now := pgTime(s.now())
	out, err := scanReservation(s.pool.QueryRow(ctx, `INSERT INTO reservations (station_id, evse_id, id_token, id_token_type,
			expires_at, status, station_status, transaction_id, actor, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING `+reservationColumns,
		r.StationID, r.EVSEID, r.IDToken, r.IDTokenType, pgTime(r.ExpiresAt), string(r.Status), r.StationStatus,
		r.TransactionID, r.Actor, now), 0)
	if err != nil {
		return domain.Reservation{}, fmt.Errorf("postgres: create reservation: %w",
			mapErr(err, "", fmt.Sprintf("station %q not found", r.StationID)))
	}
	return out, nil
}

// Reservation returns one reservation.
func (s *Store) Reservation(ctx context.Context, id int64) (domain.Reservation, error) {
	if err := ctx.Err(); err != nil {
		return domain.Reservation{}, fmt.Errorf("postgres: reservation %d: %w", id, err)
	}
	r, err := scanReservation(s.pool.QueryRow(ctx, `SELECT `+reservationColumns+` FROM reservations WHERE id = $1`, id), id)
	if err != nil {
		return domain.Reservation{}, fmt.Errorf("postgres: reservation %d: %w", id, mapErr(err, "", ""))
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
			return nil, "", fmt.Errorf("postgres: reservations: %w", err)
		}
	}
	where, args := []string{"id < $1"}, []any{before}
	if f.StationID != "" {
		args = append(args, f.StationID)
		where = append(where, fmt.Sprintf("station_id = $%d", len(args)))
	}
	if f.Status != "" {
		args = append(args, string(f.Status))
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	}
	args = append(args, p.Limit+1)
	out, err := s.queryReservations(ctx, `SELECT `+reservationColumns+` FROM reservations WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: reservations: %w", err)
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		next = encodeCursor("reservation", strconv.FormatInt(out[len(out)-1].ID, 10))
	}
	return out, next, nil
}

func (s *Store) queryReservations(ctx context.Context, query string, args ...any) ([]domain.Reservation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, query, args...)
	defer rows.Close()
	var out []domain.Reservation
	for rows.Next() {
		r, err := scanReservation(rows, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetReservationStatus moves a reservation between states (see domain.ReservationStore).
func (s *Store) SetReservationStatus(ctx context.Context, id int64, from []domain.ReservationStatus, to domain.ReservationStatus,
	stationStatus, transactionID string) (domain.Reservation, error) {
	if !to.Valid() {
		return domain.Reservation{}, fmt.Errorf("postgres: reservation %d: %w", id, invalid("reservation status %q is unknown", to))
	}
	var out domain.Reservation
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := scanReservation(tx.QueryRow(ctx, `SELECT `+reservationColumns+` FROM reservations WHERE id = $1 FOR UPDATE`, id), id)
		if err != nil {
			return err
		}
		if len(from) > 0 && !containsStatus(from, cur.Status) {
			out = cur
			return domain.Errorf(domain.ErrConflict, "reservation %d is %s", id, cur.Status)
		}
		out, err = scanReservation(tx.QueryRow(ctx, `UPDATE reservations SET status = $1,
				station_status = CASE WHEN $2 = '' THEN station_status ELSE $2 END,
				transaction_id = CASE WHEN $3 = '' THEN transaction_id ELSE $3 END,
				updated_at = $4
			WHERE id = $5 RETURNING `+reservationColumns,
			string(to), stationStatus, transactionID, pgTime(s.now()), id), id)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("postgres: reservation %d: %w", id, mapErr(err, "", ""))
	}
	return out, nil
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
	out, err := s.queryReservations(ctx, `SELECT `+reservationColumns+` FROM reservations
		WHERE status IN ('requested', 'active') AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, pgTime(cutoff), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: due reservations: %w", err)
	}
	return out, nil
}

func scanReservation(row pgx.Row, id int64) (domain.Reservation, error) {
	var (
		r      domain.Reservation
		status string
	)
	err := row.Scan(&r.ID, &r.StationID, &r.EVSEID, &r.IDToken, &r.IDTokenType, &r.ExpiresAt, &status, &r.StationStatus,
		&r.TransactionID, &r.Actor, &r.CreatedAt, &r.UpdatedAt)
	if isNoRows(err) {
		return domain.Reservation{}, domain.Errorf(domain.ErrNotFound, "reservation %d not found", id)
	}
	if err != nil {
		return domain.Reservation{}, err
	}
	r.Status = domain.ReservationStatus(status)
	r.ExpiresAt, r.CreatedAt, r.UpdatedAt = r.ExpiresAt.UTC(), r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
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
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return domain.LogRequest{}, fmt.Errorf("postgres: create log request: %w", err)
	}
	now := pgTime(s.now())
	out, err := scanLogRequest(s.pool.QueryRow(ctx, `INSERT INTO log_requests (station_id, type, from_at, to_at, status, upload_id,
			upload_expires_at, actor, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING `+logColumns,
		l.StationID, string(l.Type), nullTime(l.From), nullTime(l.To), l.Status, l.UploadID, pgTime(l.UploadExpiresAt),
		l.Actor, now), "")
	if err != nil {
		return domain.LogRequest{}, fmt.Errorf("postgres: create log request: %w",
			mapErr(err, "upload id already used", fmt.Sprintf("station %q not found", l.StationID)))
	}
	return out, nil
}

func (s *Store) logQuery(ctx context.Context, what, query string, args ...any) (domain.LogRequest, error) {
	if err := ctx.Err(); err != nil {
		return domain.LogRequest{}, fmt.Errorf("postgres: %s: %w", what, err)
	}
	l, err := scanLogRequest(s.pool.QueryRow(ctx, `SELECT `+logColumns+` FROM log_requests WHERE `+query, args...), what)
	if err != nil {
		return domain.LogRequest{}, fmt.Errorf("postgres: %s: %w", what, mapErr(err, "", ""))
	}
	return l, nil
}

// LogRequest returns one log request.
func (s *Store) LogRequest(ctx context.Context, id int64) (domain.LogRequest, error) {
	return s.logQuery(ctx, fmt.Sprintf("log request %d", id), `id = $1`, id)
}

// LatestLogRequest returns the station's newest request of type t.
func (s *Store) LatestLogRequest(ctx context.Context, stationID string, t domain.LogType) (domain.LogRequest, error) {
	return s.logQuery(ctx, fmt.Sprintf("%s log request of station %q", t, stationID),
		`station_id = $1 AND type = $2 ORDER BY id DESC LIMIT 1`, stationID, string(t))
}

// LogRequestByUpload returns the request of an upload slot.
func (s *Store) LogRequestByUpload(ctx context.Context, uploadID string) (domain.LogRequest, error) {
	return s.logQuery(ctx, "upload slot", `upload_id = $1`, uploadID)
}

// LogRequests lists a station's requests newest first.
func (s *Store) LogRequests(ctx context.Context, stationID string, p domain.Page) ([]domain.LogRequest, string, error) {
	p = p.Normalized()
	before := int64(math.MaxInt64)
	if p.Cursor != "" {
		var err error
		if before, err = decodeIDCursor("log", p.Cursor); err != nil {
			return nil, "", fmt.Errorf("postgres: log requests: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("postgres: log requests: %w", err)
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+logColumns+` FROM log_requests WHERE station_id = $1 AND id < $2
		ORDER BY id DESC LIMIT $3`, stationID, before, p.Limit+1)
	defer rows.Close()
	var out []domain.LogRequest
	for rows.Next() {
		l, err := scanLogRequest(rows, "")
		if err != nil {
			return nil, "", fmt.Errorf("postgres: log requests: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("postgres: log requests: %w", err)
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
	what := fmt.Sprintf("log request %d", id)
	if status == "" {
		return domain.LogRequest{}, fmt.Errorf("postgres: %s: %w", what, invalid("the status is empty"))
	}
	if err := ctx.Err(); err != nil {
		return domain.LogRequest{}, fmt.Errorf("postgres: %s: %w", what, err)
	}
	l, err := scanLogRequest(s.pool.QueryRow(ctx, `UPDATE log_requests SET
			status = CASE WHEN received_at IS NULL THEN $1 ELSE status END, updated_at = $2
		WHERE id = $3 RETURNING `+logColumns, status, pgTime(s.now()), id), what)
	if err != nil {
		return domain.LogRequest{}, fmt.Errorf("postgres: %s: %w", what, mapErr(err, "", ""))
	}
	return l, nil
}

// FinishUpload records the file of an upload slot, once.
func (s *Store) FinishUpload(ctx context.Context, uploadID, fileName, filePath string, size int64, at time.Time) (domain.LogRequest, error) {
	at = s.stamp(at)
	if err := checkTime("upload time", at); err != nil {
		return domain.LogRequest{}, fmt.Errorf("postgres: finish upload: %w", err)
	}
	var out domain.LogRequest
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := scanLogRequest(tx.QueryRow(ctx, `SELECT `+logColumns+` FROM log_requests WHERE upload_id = $1 FOR UPDATE`, uploadID), "upload slot")
		if err != nil {
			return err
		}
		if !cur.ReceivedAt.IsZero() {
			return domain.Errorf(domain.ErrConflict, "the upload URL was already used")
		}
		out, err = scanLogRequest(tx.QueryRow(ctx, `UPDATE log_requests SET status = $1, file_name = $2, file_path = $3, file_size = $4,
				received_at = $5, updated_at = $6
			WHERE upload_id = $7 RETURNING `+logColumns,
			domain.LogReceived, fileName, filePath, size, pgTime(at), pgTime(s.now()), uploadID), "upload slot")
		return err
	})
	if err != nil {
		return domain.LogRequest{}, fmt.Errorf("postgres: finish upload: %w", mapErr(err, "", ""))
	}
	return out, nil
}

func scanLogRequest(row pgx.Row, what string) (domain.LogRequest, error) {
	var (
		l                  domain.LogRequest
		typ                string
		from, to, received *time.Time
	)
	err := row.Scan(&l.ID, &l.StationID, &typ, &from, &to, &l.Status, &l.UploadID, &l.UploadExpiresAt, &l.FileName, &l.FileSize,
		&l.FilePath, &received, &l.Actor, &l.CreatedAt, &l.UpdatedAt)
	if isNoRows(err) {
		return domain.LogRequest{}, domain.Errorf(domain.ErrNotFound, "%s not found", what)
	}
	if err != nil {
		return domain.LogRequest{}, err
	}
	l.Type = domain.LogType(typ)
	l.From, l.To, l.ReceivedAt = fromNull(from), fromNull(to), fromNull(received)
	l.UploadExpiresAt, l.CreatedAt, l.UpdatedAt = l.UploadExpiresAt.UTC(), l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return l, nil
}

// Secret returns the named secret, storing candidate if there is none yet.
func (s *Store) Secret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	if name == "" || len(candidate) == 0 {
		return nil, fmt.Errorf("postgres: secret: %w", invalid("a secret needs a name and a value"))
	}
	var v []byte
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, candidate); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&v)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: secret %q: %w", name, err)
	}
	return v, nil
}

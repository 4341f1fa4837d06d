package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/opencpo/opencpo/internal/domain"
)

// ReplaceStationConfig replaces all of a station's stored configuration.
func (s *Store) ReplaceStationConfig(ctx context.Context, stationID string, items []domain.ConfigItem) error {
	return s.putConfig(ctx, stationID, items, true)
}

// UpsertStationConfig adds or changes some of a station's configuration items.
func (s *Store) UpsertStationConfig(ctx context.Context, stationID string, items []domain.ConfigItem) error {
	return s.putConfig(ctx, stationID, items, false)
}

func (s *Store) putConfig(ctx context.Context, stationID string, items []domain.ConfigItem, replace bool) error {
	if err := domain.ValidateConfigItems(items); err != nil {
		return fmt.Errorf("sqlite: station %q configuration: %w", stationID, err)
	}
	type row struct {
		key, value, at string
		readOnly       int
		detail         any
	}
	rows := make([]row, len(items))
	for i, it := range items {
		detail, err := jsonText("configuration detail", it.Detail)
		if err != nil {
			return fmt.Errorf("sqlite: station %q configuration: %w", stationID, err)
		}
		at := it.UpdatedAt
		if at.IsZero() {
			at = s.now()
		}
		if err := checkTime("configuration time", at); err != nil {
			return fmt.Errorf("sqlite: station %q configuration: %w", stationID, err)
		}
		rows[i] = row{key: it.Key, value: it.Value, at: formatTime(at), detail: detail}
		if it.ReadOnly {
			rows[i].readOnly = 1
		}
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := stationExists(ctx, tx, stationID); err != nil {
			return fmt.Errorf("sqlite: station %q configuration: %w", stationID, err)
		}
		if replace {
			if _, err := tx.ExecContext(ctx, `DELETE FROM station_config WHERE station_id = ?`, stationID); err != nil {
				return fmt.Errorf("sqlite: station %q configuration: %w", stationID, err)
			}
		}
		for _, r := range rows {
			_, err := tx.ExecContext(ctx, `INSERT INTO station_config (station_id, key, value, read_only, detail, updated_at)
				VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (station_id, key) DO UPDATE SET value = excluded.value,
					read_only = excluded.read_only,
					detail = coalesce(excluded.detail, station_config.detail), updated_at = excluded.updated_at`,
				stationID, r.key, r.value, r.readOnly, r.detail, r.at)
			if err != nil {
				return fmt.Errorf("sqlite: station %q configuration: %w", stationID, mapErr(err, "", fmt.Sprintf("station %q not found", stationID)))
			}
		}
		return nil
	})
}

// StationConfig returns a station's configuration ordered by key.
func (s *Store) StationConfig(ctx context.Context, stationID string) ([]domain.ConfigItem, error) {
	var out []domain.ConfigItem
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := stationExists(ctx, tx, stationID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT key, value, read_only, detail, updated_at FROM station_config
			WHERE station_id = ? ORDER BY key`, stationID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				it       domain.ConfigItem
				readOnly int
				detail   sql.NullString
				at       string
			)
			if err := rows.Scan(&it.Key, &it.Value, &readOnly, &detail, &at); err != nil {
				return err
			}
			it.ReadOnly = readOnly == 1
			it.Detail = jsonBytes(detail)
			if it.UpdatedAt, err = parseTime(at); err != nil {
				return err
			}
			out = append(out, it)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: station %q configuration: %w", stationID, err)
	}
	return out, nil
}

// PutConfigTemplate creates or replaces a template.
func (s *Store) PutConfigTemplate(ctx context.Context, t domain.ConfigTemplate) (bool, error) {
	if err := t.Validate(); err != nil {
		return false, fmt.Errorf("sqlite: put template %q: %w", t.ID, err)
	}
	vals, err := json.Marshal(t.Values)
	if err != nil {
		return false, err
	}
	now := formatTime(s.now())
	return writeValue(ctx, s, func(tx *sql.Tx) (bool, error) {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM config_templates WHERE id = ?`, t.ID).Scan(&n); err != nil {
			return false, fmt.Errorf("sqlite: put template %q: %w", t.ID, err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO config_templates (id, vendor, model, vals, created_at, updated_at)
			VALUES (?1, ?2, ?3, ?4, ?5, ?5)
			ON CONFLICT (id) DO UPDATE SET vendor = excluded.vendor, model = excluded.model, vals = excluded.vals,
				updated_at = excluded.updated_at`, t.ID, t.Vendor, t.Model, string(vals), now)
		if err != nil {
			return false, fmt.Errorf("sqlite: put template %q: %w", t.ID, err)
		}
		return n == 0, nil
	})
}

const templateColumns = `id, vendor, model, vals, created_at, updated_at`

func scanTemplate(row scanner) (domain.ConfigTemplate, error) {
	var (
		t            domain.ConfigTemplate
		vals         string
		created, upd string
	)
	if err := row.Scan(&t.ID, &t.Vendor, &t.Model, &vals, &created, &upd); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(vals), &t.Values); err != nil {
		return t, err
	}
	var err1, err2 error
	t.CreatedAt, err1 = parseTime(created)
	t.UpdatedAt, err2 = parseTime(upd)
	return t, errors.Join(err1, err2)
}

func templateNotFound(id string) error {
	return domain.Errorf(domain.ErrNotFound, "configuration template %q not found", id)
}

// ConfigTemplate returns one template.
func (s *Store) ConfigTemplate(ctx context.Context, id string) (domain.ConfigTemplate, error) {
	var t domain.ConfigTemplate
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = scanTemplate(tx.QueryRowContext(ctx, `SELECT `+templateColumns+` FROM config_templates WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return templateNotFound(id)
		}
		return err
	})
	if err != nil {
		return domain.ConfigTemplate{}, fmt.Errorf("sqlite: template %q: %w", id, err)
	}
	return t, nil
}

// ConfigTemplates lists every template ordered by id.
func (s *Store) ConfigTemplates(ctx context.Context) ([]domain.ConfigTemplate, error) {
	var out []domain.ConfigTemplate
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+templateColumns+` FROM config_templates ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTemplate(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: templates: %w", err)
	}
	return out, nil
}

// DeleteConfigTemplate removes a template.
func (s *Store) DeleteConfigTemplate(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.Exec(`DELETE FROM config_templates WHERE id = ?`, id))
		if err == nil && n == 0 {
			err = templateNotFound(id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: delete template %q: %w", id, err)
		}
		return nil
	})
}

// LocalList returns the local list last sent to a station.
func (s *Store) LocalList(ctx context.Context, stationID string) (domain.LocalList, error) {
	l := domain.LocalList{StationID: stationID}
	err := s.read(ctx, func(tx *sql.Tx) error {
		var entries, sentAt string
		err := tx.QueryRowContext(ctx, `SELECT version, update_type, entries, sent_at FROM local_lists WHERE station_id = ?`, stationID).
			Scan(&l.Version, &l.UpdateType, &entries, &sentAt)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.Errorf(domain.ErrNotFound, "no local list was sent to station %q", stationID)
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(entries), &l.Entries); err != nil {
			return err
		}
		l.SentAt, err = parseTime(sentAt)
		return err
	})
	if err != nil {
		return domain.LocalList{}, fmt.Errorf("sqlite: local list of %q: %w", stationID, err)
	}
	return l, nil
}

// SaveLocalList records the local list sent to a station.
func (s *Store) SaveLocalList(ctx context.Context, l domain.LocalList) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("sqlite: save local list of %q: %w", l.StationID, err)
	}
	entries, err := json.Marshal(l.Entries)
	if err != nil {
		return err
	}
	at := l.SentAt
	if at.IsZero() {
		at = s.now()
	}
	if err := checkTime("sent time", at); err != nil {
		return fmt.Errorf("sqlite: save local list of %q: %w", l.StationID, err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO local_lists (station_id, version, update_type, entries, sent_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (station_id) DO UPDATE SET version = excluded.version, update_type = excluded.update_type,
				entries = excluded.entries, sent_at = excluded.sent_at`,
			l.StationID, l.Version, l.UpdateType, string(entries), formatTime(at))
		if err != nil {
			return fmt.Errorf("sqlite: save local list of %q: %w", l.StationID, mapErr(err, "", fmt.Sprintf("station %q not found", l.StationID)))
		}
		return nil
	})
}

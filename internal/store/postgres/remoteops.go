package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

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
		return fmt.Errorf("postgres: station %q configuration: %w", stationID, err)
	}
	details := make([]any, len(items))
	for i, it := range items {
		d, err := jsonArg("configuration detail", it.Detail)
		if err != nil {
			return fmt.Errorf("postgres: station %q configuration: %w", stationID, err)
		}
		details[i] = d
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := stationExistsTx(ctx, tx, stationID); err != nil {
			return fmt.Errorf("postgres: station %q configuration: %w", stationID, err)
		}
		if replace {
			if _, err := tx.Exec(ctx, `DELETE FROM station_config WHERE station_id = $1`, stationID); err != nil {
				return fmt.Errorf("postgres: station %q configuration: %w", stationID, err)
			}
		}
		batch := &pgx.Batch{}
		for i, it := range items {
			batch.Queue(`INSERT INTO station_config (station_id, key, value, read_only, detail, updated_at)
				VALUES ($1, $2, $3, $4, $5::jsonb, $6)
				ON CONFLICT (station_id, key) DO UPDATE SET value = excluded.value, read_only = excluded.read_only,
					detail = coalesce(excluded.detail, station_config.detail), updated_at = excluded.updated_at`,
				stationID, it.Key, it.Value, it.ReadOnly, details[i], pgTime(s.stamp(it.UpdatedAt)))
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("postgres: station %q configuration: %w", stationID, mapErr(err, "", fmt.Sprintf("station %q not found", stationID)))
		}
		return nil
	})
}

// StationConfig returns a station's configuration ordered by key.
func (s *Store) StationConfig(ctx context.Context, stationID string) ([]domain.ConfigItem, error) {
	var out []domain.ConfigItem
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		if err := stationExistsTx(ctx, tx, stationID); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT key, value, read_only, detail::text, updated_at FROM station_config
			WHERE station_id = $1 ORDER BY key`, stationID)
		defer rows.Close()
		for rows.Next() {
			var (
				it     domain.ConfigItem
				detail *string
			)
			if err := rows.Scan(&it.Key, &it.Value, &it.ReadOnly, &detail, &it.UpdatedAt); err != nil {
				return err
			}
			it.Detail = jsonBytes(detail)
			it.UpdatedAt = it.UpdatedAt.UTC()
			out = append(out, it)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: station %q configuration: %w", stationID, err)
	}
	return out, nil
}

// PutConfigTemplate creates or replaces a template.
func (s *Store) PutConfigTemplate(ctx context.Context, t domain.ConfigTemplate) (bool, error) {
	if err := t.Validate(); err != nil {
		return false, fmt.Errorf("postgres: put template %q: %w", t.ID, err)
	}
	vals, err := json.Marshal(t.Values)
	if err != nil {
		return false, err
	}
	now := pgTime(s.now())
	var created bool
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO config_templates (id, vendor, model, vals, created_at, updated_at)
			VALUES ($1, $2, $3, $4::jsonb, $5, $5)
			ON CONFLICT (id) DO UPDATE SET vendor = excluded.vendor, model = excluded.model, vals = excluded.vals,
				updated_at = excluded.updated_at
			RETURNING (xmax = 0)`, t.ID, t.Vendor, t.Model, string(vals), now).Scan(&created)
	})
	if err != nil {
		return false, fmt.Errorf("postgres: put template %q: %w", t.ID, mapErr(err, "", ""))
	}
	return created, nil
}

const templateColumns = `id, vendor, model, vals::text, created_at, updated_at`

func scanTemplate(row pgx.Row) (domain.ConfigTemplate, error) {
	var (
		t    domain.ConfigTemplate
		vals string
	)
	if err := row.Scan(&t.ID, &t.Vendor, &t.Model, &vals, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, json.Unmarshal([]byte(vals), &t.Values)
}

func templateNotFound(id string) error {
	return domain.Errorf(domain.ErrNotFound, "configuration template %q not found", id)
}

// ConfigTemplate returns one template.
func (s *Store) ConfigTemplate(ctx context.Context, id string) (domain.ConfigTemplate, error) {
	if err := ctx.Err(); err != nil {
		return domain.ConfigTemplate{}, err
	}
	t, err := scanTemplate(s.pool.QueryRow(ctx, `SELECT `+templateColumns+` FROM config_templates WHERE id = $1`, id))
	if isNoRows(err) {
		err = templateNotFound(id)
	}
	if err != nil {
		return domain.ConfigTemplate{}, fmt.Errorf("postgres: template %q: %w", id, err)
	}
	return t, nil
}

// ConfigTemplates lists every template ordered by id.
func (s *Store) ConfigTemplates(ctx context.Context) ([]domain.ConfigTemplate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+templateColumns+` FROM config_templates ORDER BY id`)
	defer rows.Close()
	var out []domain.ConfigTemplate
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: templates: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: templates: %w", err)
	}
	return out, nil
}

// DeleteConfigTemplate removes a template.
func (s *Store) DeleteConfigTemplate(ctx context.Context, id string) error {
	n, err := s.exec(ctx, `DELETE FROM config_templates WHERE id = $1`, id)
	if err == nil && n == 0 {
		err = templateNotFound(id)
	}
	if err != nil {
		return fmt.Errorf("postgres: delete template %q: %w", id, err)
	}
	return nil
}

// LocalList returns the local list last sent to a station.
func (s *Store) LocalList(ctx context.Context, stationID string) (domain.LocalList, error) {
	if err := ctx.Err(); err != nil {
		return domain.LocalList{}, err
	}
	l := domain.LocalList{StationID: stationID}
	var entries string
	err := s.pool.QueryRow(ctx, `SELECT version, update_type, entries::text, sent_at FROM local_lists WHERE station_id = $1`, stationID).
		Scan(&l.Version, &l.UpdateType, &entries, &l.SentAt)
	if isNoRows(err) {
		err = domain.Errorf(domain.ErrNotFound, "no local list was sent to station %q", stationID)
	}
	if err == nil {
		err = json.Unmarshal([]byte(entries), &l.Entries)
	}
	if err != nil {
		return domain.LocalList{}, fmt.Errorf("postgres: local list of %q: %w", stationID, err)
	}
	l.SentAt = l.SentAt.UTC()
	return l, nil
}

// SaveLocalList records the local list sent to a station.
func (s *Store) SaveLocalList(ctx context.Context, l domain.LocalList) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("postgres: save local list of %q: %w", l.StationID, err)
	}
	entries, err := json.Marshal(l.Entries)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO local_lists (station_id, version, update_type, entries, sent_at) VALUES ($1, $2, $3, $4::jsonb, $5)
		ON CONFLICT (station_id) DO UPDATE SET version = excluded.version, update_type = excluded.update_type,
			entries = excluded.entries, sent_at = excluded.sent_at`,
		l.StationID, l.Version, l.UpdateType, string(entries), pgTime(s.stamp(l.SentAt)))
	if err != nil {
		return fmt.Errorf("postgres: save local list of %q: %w", l.StationID, mapErr(err, "", fmt.Sprintf("station %q not found", l.StationID)))
	}
	return nil
}

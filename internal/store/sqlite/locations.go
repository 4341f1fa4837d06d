package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/opencpo/opencpo/internal/domain"
)

const locationColumns = `id, name, street, city, postal_code, country, latitude, longitude, time_zone, operator,
	opening_hours, created_at, updated_at`

func locationNotFound(id string) error {
	return domain.Errorf(domain.ErrNotFound, "location %q not found", id)
}

// locationArgs validates l and returns its column values in locationColumns order.
func locationArgs(l domain.Location) ([]any, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if err := errors.Join(checkTime("creation time", l.CreatedAt), checkTime("update time", l.UpdatedAt)); err != nil {
		return nil, err
	}
	var hours any
	if l.OpeningHours != nil {
		b, err := json.Marshal(l.OpeningHours)
		if err != nil {
			return nil, err
		}
		hours = string(b)
	}
	return []any{l.ID, l.Name, l.Address.Street, l.Address.City, l.Address.PostalCode, l.Address.Country,
		l.Latitude, l.Longitude, l.TimeZone, l.Operator, hours, formatTime(l.CreatedAt), formatTime(l.UpdatedAt)}, nil
}

// CreateLocation inserts l.
func (s *Store) CreateLocation(ctx context.Context, l domain.Location) error {
	l.CreatedAt, l.UpdatedAt = s.stamp(l.CreatedAt), s.stamp(l.UpdatedAt)
	args, err := locationArgs(l)
	if err != nil {
		return fmt.Errorf("sqlite: create location %q: %w", l.ID, err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO locations (`+locationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
			return fmt.Errorf("sqlite: create location %q: %w", l.ID,
				mapErr(err, fmt.Sprintf("location %q already exists", l.ID), ""))
		}
		return nil
	})
}

// Location returns one location.
func (s *Store) Location(ctx context.Context, id string) (domain.Location, error) {
	var l domain.Location
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		l, err = scanLocation(tx.QueryRowContext(ctx, `SELECT `+locationColumns+` FROM locations WHERE id = ?`, id), id)
		return err
	})
	if err != nil {
		return domain.Location{}, fmt.Errorf("sqlite: location %q: %w", id, err)
	}
	return l, nil
}

// Locations lists a page of locations ordered by id.
func (s *Store) Locations(ctx context.Context, p domain.Page) ([]domain.Location, string, error) {
	items, next, err := pageByKey(ctx, s, "location", `SELECT `+locationColumns+` FROM locations WHERE id > ? ORDER BY id LIMIT ?`, p,
		func(r scanner) (domain.Location, error) { return scanLocation(r, "") }, func(l domain.Location) string { return l.ID })
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: locations: %w", err)
	}
	return items, next, nil
}

// UpdateLocation applies change to the stored location in one transaction.
func (s *Store) UpdateLocation(ctx context.Context, id string, change func(*domain.Location) error) (domain.Location, error) {
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.Location, error) {
		l, err := scanLocation(tx.QueryRow(`SELECT `+locationColumns+` FROM locations WHERE id = ?`, id), id)
		if err != nil {
			return domain.Location{}, fmt.Errorf("sqlite: update location %q: %w", id, err)
		}
		before := l.UpdatedAt
		if err := change(&l); err != nil {
			return domain.Location{}, fmt.Errorf("sqlite: update location %q: %w", id, err)
		}
		l.ID = id
		if l.UpdatedAt.Equal(before) {
			l.UpdatedAt = s.now()
		}
		args, err := locationArgs(l)
		if err != nil {
			return domain.Location{}, fmt.Errorf("sqlite: update location %q: %w", id, err)
		}
		if _, err := tx.Exec(`UPDATE locations SET name = ?2, street = ?3, city = ?4, postal_code = ?5, country = ?6,
				latitude = ?7, longitude = ?8, time_zone = ?9, operator = ?10, opening_hours = ?11, updated_at = ?13
			WHERE id = ?1`, args...); err != nil {
			return domain.Location{}, fmt.Errorf("sqlite: update location %q: %w", id, err)
		}
		return l, nil
	})
}

// DeleteLocation removes a location, unassigning its stations first when force is set.
func (s *Store) DeleteLocation(ctx context.Context, id string, force bool) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if force {
			if _, err := tx.Exec(`DELETE FROM station_locations WHERE location_id = ?`, id); err != nil {
				return fmt.Errorf("sqlite: delete location %q: %w", id, err)
			}
		} else {
			var n int
			if err := tx.QueryRow(`SELECT count(*) FROM station_locations WHERE location_id = ?`, id).Scan(&n); err != nil {
				return fmt.Errorf("sqlite: delete location %q: %w", id, err)
			}
			if n > 0 {
				return domain.Errorf(domain.ErrConflict, "location %q has %d stations; unassign them or delete with force", id, n)
			}
		}
		n, err := rowsAffected(tx.Exec(`DELETE FROM locations WHERE id = ?`, id))
		if err == nil && n == 0 {
			err = locationNotFound(id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: delete location %q: %w", id, err)
		}
		return nil
	})
}

// SetStationLocation assigns a station to a location, or unassigns it.
func (s *Store) SetStationLocation(ctx context.Context, stationID, locationID string) error {
	return locationLink.set(ctx, s, stationID, locationID)
}

// StationLocations returns the locations of the given stations.
func (s *Store) StationLocations(ctx context.Context, stationIDs []string) (map[string]string, error) {
	return locationLink.of(ctx, s, stationIDs)
}

func chunks(ids []string, n int) func(yield func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(ids) > 0 {
			k := min(n, len(ids))
			if !yield(ids[:k]) {
				return
			}
			ids = ids[k:]
		}
	}
}

// LocationStations lists the station ids of a location.
func (s *Store) LocationStations(ctx context.Context, locationID string, limit int) ([]string, error) {
	var ids []string
	err := s.read(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM locations WHERE id = ?`, locationID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return locationNotFound(locationID)
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT station_id FROM station_locations WHERE location_id = ?
			ORDER BY station_id LIMIT ?`, locationID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: stations of location %q: %w", locationID, err)
	}
	return ids, nil
}

func scanLocation(row scanner, id string) (domain.Location, error) {
	var (
		l                domain.Location
		hours            sql.NullString
		created, updated string
	)
	err := row.Scan(&l.ID, &l.Name, &l.Address.Street, &l.Address.City, &l.Address.PostalCode, &l.Address.Country,
		&l.Latitude, &l.Longitude, &l.TimeZone, &l.Operator, &hours, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Location{}, locationNotFound(id)
	}
	if err != nil {
		return domain.Location{}, err
	}
	if hours.Valid {
		l.OpeningHours = new(domain.OpeningHours)
		if err := json.Unmarshal([]byte(hours.String), l.OpeningHours); err != nil {
			return domain.Location{}, fmt.Errorf("bad opening hours in database: %w", err)
		}
	}
	var err1, err2 error
	l.CreatedAt, err1 = parseTime(created)
	l.UpdatedAt, err2 = parseTime(updated)
	return l, errors.Join(err1, err2)
}

package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
	l, err := readOne(ctx, s, `SELECT `+locationColumns+` FROM locations WHERE id = ?`,
		func(r scanner) (domain.Location, error) { return scanLocation(r, id) }, id)
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
			for _, table := range []string{"station_locations", "evse_locations"} {
				if _, err := tx.Exec(`DELETE FROM `+table+` WHERE location_id = ?`, id); err != nil {
					return fmt.Errorf("sqlite: delete location %q: %w", id, err)
				}
			}
		} else {
			var stations, evses int
			if err := tx.QueryRow(`SELECT (SELECT count(*) FROM station_locations WHERE location_id = ?1),
					(SELECT count(*) FROM evse_locations WHERE location_id = ?1)`, id).Scan(&stations, &evses); err != nil {
				return fmt.Errorf("sqlite: delete location %q: %w", id, err)
			}
			if stations+evses > 0 {
				return domain.Errorf(domain.ErrConflict, "location %q has %d stations and %d EVSEs assigned; unassign them or delete with force", id, stations, evses)
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

// SetEVSELocation puts an EVSE at a location of its own, or back where its station is.
func (s *Store) SetEVSELocation(ctx context.Context, stationID string, evseID int, locationID string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRow(`SELECT 1 FROM stations WHERE id = ?`, stationID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return stationNotFound(stationID)
		}
		if err == nil {
			err = tx.QueryRow(`SELECT 1 FROM connectors WHERE station_id = ? AND evse_id = ? LIMIT 1`, stationID, evseID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return domain.Errorf(domain.ErrNotFound, "station %q has no EVSE %d", stationID, evseID)
			}
		}
		if err == nil && locationID == "" {
			_, err = tx.Exec(`DELETE FROM evse_locations WHERE station_id = ? AND evse_id = ?`, stationID, evseID)
		} else if err == nil {
			err = tx.QueryRow(`SELECT 1 FROM locations WHERE id = ?`, locationID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return domain.Errorf(domain.ErrInvalid, "location %q does not exist", locationID)
			}
			if err == nil {
				_, err = tx.Exec(`INSERT INTO evse_locations (station_id, evse_id, location_id) VALUES (?1, ?2, ?3)
					ON CONFLICT (station_id, evse_id) DO UPDATE SET location_id = ?3`, stationID, evseID, locationID)
			}
		}
		if err != nil {
			return fmt.Errorf("sqlite: set location of EVSE %d of station %q: %w", evseID, stationID, err)
		}
		return nil
	})
}

// EVSELocations returns the EVSE-level assignments of the given stations.
func (s *Store) EVSELocations(ctx context.Context, stationIDs []string) (map[string]map[int]string, error) {
	out := map[string]map[int]string{}
	if len(stationIDs) == 0 {
		return out, nil
	}
	err := s.read(ctx, func(tx *sql.Tx) error {
		for chunk := range chunks(stationIDs, 500) {
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			rows, err := tx.QueryContext(ctx, `SELECT station_id, evse_id, location_id FROM evse_locations
				WHERE station_id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var (
					st, loc string
					evse    int
				)
				if err := rows.Scan(&st, &evse, &loc); err != nil {
					rows.Close()
					return err
				}
				if out[st] == nil {
					out[st] = map[int]string{}
				}
				out[st][evse] = loc
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: EVSE locations: %w", err)
	}
	return out, nil
}

// LocationEVSEs lists the EVSEs assigned to a location on their own.
func (s *Store) LocationEVSEs(ctx context.Context, locationID string, limit int) ([]domain.EVSERef, error) {
	var refs []domain.EVSERef
	err := s.read(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM locations WHERE id = ?`, locationID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return locationNotFound(locationID)
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT station_id, evse_id FROM evse_locations WHERE location_id = ?
			ORDER BY station_id, evse_id LIMIT ?`, locationID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r domain.EVSERef
			if err := rows.Scan(&r.StationID, &r.EVSEID); err != nil {
				return err
			}
			refs = append(refs, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: EVSEs of location %q: %w", locationID, err)
	}
	return refs, nil
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

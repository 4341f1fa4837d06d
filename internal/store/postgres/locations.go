package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

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
		l.Latitude, l.Longitude, l.TimeZone, l.Operator, hours, pgTime(l.CreatedAt), pgTime(l.UpdatedAt)}, nil
}

// CreateLocation inserts l.
func (s *Store) CreateLocation(ctx context.Context, l domain.Location) error {
	l.CreatedAt, l.UpdatedAt = s.stamp(l.CreatedAt), s.stamp(l.UpdatedAt)
	args, err := locationArgs(l)
	if err != nil {
		return fmt.Errorf("postgres: create location %q: %w", l.ID, err)
	}
	if _, err := s.exec(ctx, `INSERT INTO locations (`+locationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13)`, args...); err != nil {
		return fmt.Errorf("postgres: create location %q: %w", l.ID,
			mapErr(err, fmt.Sprintf("location %q already exists", l.ID), ""))
	}
	return nil
}

// Location returns one location.
func (s *Store) Location(ctx context.Context, id string) (domain.Location, error) {
	if err := ctx.Err(); err != nil {
		return domain.Location{}, fmt.Errorf("postgres: location %q: %w", id, err)
	}
	l, err := scanLocation(s.pool.QueryRow(ctx, `SELECT `+locationColumns+` FROM locations WHERE id = $1`, id), id)
	if err != nil {
		return domain.Location{}, fmt.Errorf("postgres: location %q: %w", id, mapErr(err, "", ""))
	}
	return l, nil
}

// Locations lists a page of locations ordered by id.
func (s *Store) Locations(ctx context.Context, p domain.Page) ([]domain.Location, string, error) {
	ls, next, err := pageByKey(ctx, s.pool, "location", `SELECT `+locationColumns+` FROM locations WHERE id > $1 ORDER BY id LIMIT $2`, p,
		func(r pgx.Row) (domain.Location, error) { return scanLocation(r, "") }, func(l domain.Location) string { return l.ID })
	if err != nil {
		return nil, "", fmt.Errorf("postgres: locations: %w", err)
	}
	return ls, next, nil
}

// UpdateLocation applies change to the stored location in one transaction; the row is locked
// so that concurrent changes apply one after the other.
func (s *Store) UpdateLocation(ctx context.Context, id string, change func(*domain.Location) error) (domain.Location, error) {
	var out domain.Location
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		l, err := scanLocation(tx.QueryRow(ctx, `SELECT `+locationColumns+` FROM locations WHERE id = $1 FOR UPDATE`, id), id)
		if err != nil {
			return err
		}
		before := l.UpdatedAt
		if err := change(&l); err != nil {
			return err
		}
		l.ID = id
		if l.UpdatedAt.Equal(before) {
			l.UpdatedAt = s.now()
		}
		args, err := locationArgs(l)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE locations SET name = $2, street = $3, city = $4, postal_code = $5, country = $6,
				latitude = $7, longitude = $8, time_zone = $9, operator = $10, opening_hours = $11::jsonb, updated_at = $12
			WHERE id = $1`, append(args[:11:11], args[12])...); err != nil {
			return mapErr(err, "", "")
		}
		l.CreatedAt, l.UpdatedAt = pgTime(l.CreatedAt), pgTime(l.UpdatedAt)
		out = l
		return nil
	})
	if err != nil {
		return domain.Location{}, fmt.Errorf("postgres: update location %q: %w", id, err)
	}
	return out, nil
}

// DeleteLocation removes a location, unassigning its stations first when force is set.
func (s *Store) DeleteLocation(ctx context.Context, id string, force bool) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the location first, so that no station is assigned to it between the check and
		// the delete.
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM locations WHERE id = $1 FOR UPDATE`, id).Scan(&one); err != nil {
			if isNoRows(err) {
				return locationNotFound(id)
			}
			return err
		}
		if force {
			for _, table := range []string{"station_locations", "evse_locations"} {
				if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE location_id = $1`, id); err != nil {
					return err
				}
			}
		} else {
			var stations, evses int
			if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM station_locations WHERE location_id = $1),
					(SELECT count(*) FROM evse_locations WHERE location_id = $1)`, id).Scan(&stations, &evses); err != nil {
				return err
			}
			if stations+evses > 0 {
				return domain.Errorf(domain.ErrConflict, "location %q has %d stations and %d EVSEs assigned; unassign them or delete with force", id, stations, evses)
			}
		}
		_, err := tx.Exec(ctx, `DELETE FROM locations WHERE id = $1`, id)
		return mapErr(err, "", "")
	})
	if err != nil {
		return fmt.Errorf("postgres: delete location %q: %w", id, err)
	}
	return nil
}

// SetStationLocation assigns a station to a location, or unassigns it.
func (s *Store) SetStationLocation(ctx context.Context, stationID, locationID string) error {
	return locationLink.set(ctx, s, stationID, locationID)
}

// StationLocations returns the locations of the given stations.
func (s *Store) StationLocations(ctx context.Context, stationIDs []string) (map[string]string, error) {
	return locationLink.of(ctx, s, stationIDs)
}

// LocationStations lists the station ids of a location.
func (s *Store) LocationStations(ctx context.Context, locationID string, limit int) ([]string, error) {
	var ids []string
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM locations WHERE id = $1`, locationID).Scan(&one); err != nil {
			if isNoRows(err) {
				return locationNotFound(locationID)
			}
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT station_id FROM station_locations WHERE location_id = $1
			ORDER BY station_id LIMIT $2`, locationID, limit)
		var err error
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: stations of location %q: %w", locationID, mapErr(err, "", ""))
	}
	return ids, nil
}

// SetEVSELocation puts an EVSE at a location of its own, or back where its station is.
func (s *Store) SetEVSELocation(ctx context.Context, stationID string, evseID int, locationID string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM stations WHERE id = $1`, stationID).Scan(&one); err != nil {
			if isNoRows(err) {
				return stationNotFound(stationID)
			}
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT 1 FROM connectors WHERE station_id = $1 AND evse_id = $2 LIMIT 1`,
			stationID, evseID).Scan(&one); err != nil {
			if isNoRows(err) {
				return domain.Errorf(domain.ErrNotFound, "station %q has no EVSE %d", stationID, evseID)
			}
			return err
		}
		if locationID == "" {
			_, err := tx.Exec(ctx, `DELETE FROM evse_locations WHERE station_id = $1 AND evse_id = $2`, stationID, evseID)
			return err
		}
		// KEY SHARE keeps the location from being deleted until this assignment commits.
		if err := tx.QueryRow(ctx, `SELECT 1 FROM locations WHERE id = $1 FOR KEY SHARE`, locationID).Scan(&one); err != nil {
			if isNoRows(err) {
				return domain.Errorf(domain.ErrInvalid, "location %q does not exist", locationID)
			}
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO evse_locations (station_id, evse_id, location_id) VALUES ($1, $2, $3)
			ON CONFLICT (station_id, evse_id) DO UPDATE SET location_id = excluded.location_id`, stationID, evseID, locationID)
		return mapErr(err, "", fmt.Sprintf("station %q not found", stationID))
	})
	if err != nil {
		return fmt.Errorf("postgres: set location of EVSE %d of station %q: %w", evseID, stationID, mapErr(err, "", ""))
	}
	return nil
}

// EVSELocations returns the EVSE-level assignments of the given stations.
func (s *Store) EVSELocations(ctx context.Context, stationIDs []string) (map[string]map[int]string, error) {
	out := map[string]map[int]string{}
	if len(stationIDs) == 0 {
		return out, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: EVSE locations: %w", err)
	}
	rows, _ := s.pool.Query(ctx, `SELECT station_id, evse_id, location_id FROM evse_locations WHERE station_id = ANY($1)`, stationIDs)
	defer rows.Close()
	for rows.Next() {
		var (
			st, loc string
			evse    int
		)
		if err := rows.Scan(&st, &evse, &loc); err != nil {
			return nil, fmt.Errorf("postgres: EVSE locations: %w", err)
		}
		if out[st] == nil {
			out[st] = map[int]string{}
		}
		out[st][evse] = loc
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: EVSE locations: %w", mapErr(err, "", ""))
	}
	return out, nil
}

// LocationEVSEs lists the EVSEs assigned to a location on their own.
func (s *Store) LocationEVSEs(ctx context.Context, locationID string, limit int) ([]domain.EVSERef, error) {
	var refs []domain.EVSERef
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM locations WHERE id = $1`, locationID).Scan(&one); err != nil {
			if isNoRows(err) {
				return locationNotFound(locationID)
			}
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT station_id, evse_id FROM evse_locations WHERE location_id = $1
			ORDER BY station_id, evse_id LIMIT $2`, locationID, limit)
		var err error
		refs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.EVSERef, error) {
			var ref domain.EVSERef
			err := r.Scan(&ref.StationID, &ref.EVSEID)
			return ref, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: EVSEs of location %q: %w", locationID, mapErr(err, "", ""))
	}
	return refs, nil
}

func scanLocation(row pgx.Row, id string) (domain.Location, error) {
	var (
		l     domain.Location
		hours []byte
	)
	err := row.Scan(&l.ID, &l.Name, &l.Address.Street, &l.Address.City, &l.Address.PostalCode, &l.Address.Country,
		&l.Latitude, &l.Longitude, &l.TimeZone, &l.Operator, &hours, &l.CreatedAt, &l.UpdatedAt)
	if isNoRows(err) {
		return domain.Location{}, locationNotFound(id)
	}
	if err != nil {
		return domain.Location{}, err
	}
	if hours != nil {
		l.OpeningHours = new(domain.OpeningHours)
		if err := json.Unmarshal(hours, l.OpeningHours); err != nil {
			return domain.Location{}, fmt.Errorf("bad opening hours in database: %w", err)
		}
	}
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return l, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/opencpo/opencpo/internal/domain"
)

// stationLink is a table that puts a station in at most one of something: a location, a station
// group. It has the columns station_id (primary key) and column, which refers to parent.
type stationLink struct {
	table, column, parent string
	what                  string // for messages: "location", "station group"
}

var (
	locationLink     = stationLink{table: "station_locations", column: "location_id", parent: "locations", what: "location"}
	stationGroupLink = stationLink{table: "station_group_members", column: "group_id", parent: "station_groups", what: "station group"}
)

// set links a station to target, or unlinks it when target is "". An unknown station is
// ErrNotFound, an unknown target ErrInvalid (it is the caller's input that is wrong).
func (l stationLink) set(ctx context.Context, s *Store, stationID, target string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRow(`SELECT 1 FROM stations WHERE id = ?`, stationID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return stationNotFound(stationID)
		}
		if err != nil {
			return fmt.Errorf("sqlite: set %s of station %q: %w", l.what, stationID, err)
		}
		if target == "" {
			_, err = tx.Exec(`DELETE FROM `+l.table+` WHERE station_id = ?`, stationID)
		} else {
			err = tx.QueryRow(`SELECT 1 FROM `+l.parent+` WHERE id = ?`, target).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return domain.Errorf(domain.ErrInvalid, "%s %q does not exist", l.what, target)
			}
			if err == nil {
				_, err = tx.Exec(`INSERT INTO `+l.table+` (station_id, `+l.column+`) VALUES (?1, ?2)
					ON CONFLICT (station_id) DO UPDATE SET `+l.column+` = ?2`, stationID, target)
			}
		}
		if err != nil {
			return fmt.Errorf("sqlite: set %s of station %q: %w", l.what, stationID, err)
		}
		return nil
	})
}

// of returns what each given station is linked to (stations without a link are absent).
func (l stationLink) of(ctx context.Context, s *Store, stationIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(stationIDs))
	if len(stationIDs) == 0 {
		return out, nil
	}
	err := s.read(ctx, func(tx *sql.Tx) error {
		// Chunks keep the statement under SQLite's limit of bound parameters.
		for chunk := range chunks(stationIDs, 500) {
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			rows, err := tx.QueryContext(ctx, `SELECT station_id, `+l.column+` FROM `+l.table+`
				WHERE station_id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var st, target string
				if err := rows.Scan(&st, &target); err != nil {
					rows.Close()
					return err
				}
				out[st] = target
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s of stations: %w", l.what, err)
	}
	return out, nil
}

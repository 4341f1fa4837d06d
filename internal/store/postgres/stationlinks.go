package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM stations WHERE id = $1`, stationID).Scan(&one); err != nil {
			if isNoRows(err) {
				return stationNotFound(stationID)
			}
			return err
		}
		if target == "" {
			_, err := tx.Exec(ctx, `DELETE FROM `+l.table+` WHERE station_id = $1`, stationID)
			return err
		}
		// KEY SHARE keeps the target from being deleted until this link commits.
		if err := tx.QueryRow(ctx, `SELECT 1 FROM `+l.parent+` WHERE id = $1 FOR KEY SHARE`, target).Scan(&one); err != nil {
			if isNoRows(err) {
				return domain.Errorf(domain.ErrInvalid, "%s %q does not exist", l.what, target)
			}
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+l.table+` (station_id, `+l.column+`) VALUES ($1, $2)
			ON CONFLICT (station_id) DO UPDATE SET `+l.column+` = excluded.`+l.column, stationID, target)
		return mapErr(err, "", fmt.Sprintf("station %q not found", stationID))
	})
	if err != nil {
		return fmt.Errorf("postgres: set %s of station %q: %w", l.what, stationID, err)
	}
	return nil
}

// of returns what each given station is linked to (stations without a link are absent).
func (l stationLink) of(ctx context.Context, s *Store, stationIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(stationIDs))
	if len(stationIDs) == 0 {
		return out, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s of stations: %w", l.what, err)
	}
	rows, _ := s.pool.Query(ctx, `SELECT station_id, `+l.column+` FROM `+l.table+` WHERE station_id = ANY($1)`, stationIDs)
	defer rows.Close()
	for rows.Next() {
		var st, target string
		if err := rows.Scan(&st, &target); err != nil {
			return nil, fmt.Errorf("postgres: %s of stations: %w", l.what, err)
		}
		out[st] = target
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s of stations: %w", l.what, mapErr(err, "", ""))
	}
	return out, nil
}

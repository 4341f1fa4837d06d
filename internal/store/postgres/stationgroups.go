package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/opencpo/opencpo/internal/domain"
)

const stationGroupColumns = `id, name, token_groups, all_tokens, created_at, updated_at`

func stationGroupNotFound(id string) error {
	return domain.Errorf(domain.ErrNotFound, "station group %q not found", id)
}

func scanStationGroup(row pgx.Row, id string) (domain.StationGroup, error) {
	var g domain.StationGroup
	err := row.Scan(&g.ID, &g.Name, &g.TokenGroups, &g.AllTokens, &g.CreatedAt, &g.UpdatedAt)
	if isNoRows(err) {
		return domain.StationGroup{}, stationGroupNotFound(id)
	}
	if err != nil {
		return domain.StationGroup{}, err
	}
	if g.TokenGroups == nil {
		g.TokenGroups = []string{}
	}
	g.CreatedAt, g.UpdatedAt = g.CreatedAt.UTC(), g.UpdatedAt.UTC()
	return g, nil
}

// PutStationGroup creates or replaces a station group, keeping its creation time.
func (s *Store) PutStationGroup(ctx context.Context, g domain.StationGroup) (bool, error) {
	g.CreatedAt, g.UpdatedAt = s.stamp(g.CreatedAt), s.stamp(g.UpdatedAt)
	// Sorted returns nil for no groups; the column holds an empty list.
	g.TokenGroups = append([]string{}, slices.Compact(slices.Sorted(slices.Values(g.TokenGroups)))...)
	if err := errors.Join(g.Validate(), checkTime("creation time", g.CreatedAt), checkTime("update time", g.UpdatedAt)); err != nil {
		return false, fmt.Errorf("postgres: put station group %q: %w", g.ID, err)
	}
	var created bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// xmax = 0 only on a freshly inserted row: it tells an insert from an update.
		return tx.QueryRow(ctx, `INSERT INTO station_groups (`+stationGroupColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, token_groups = excluded.token_groups,
				all_tokens = excluded.all_tokens, updated_at = excluded.updated_at
			RETURNING (xmax = 0)`,
			g.ID, g.Name, g.TokenGroups, g.AllTokens, pgTime(g.CreatedAt), pgTime(g.UpdatedAt)).Scan(&created)
	})
	if err != nil {
		return false, fmt.Errorf("postgres: put station group %q: %w", g.ID, mapErr(err, "", ""))
	}
	return created, nil
}

// StationGroup returns one station group.
func (s *Store) StationGroup(ctx context.Context, id string) (domain.StationGroup, error) {
	var g domain.StationGroup
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var err error
		g, err = scanStationGroup(tx.QueryRow(ctx, `SELECT `+stationGroupColumns+` FROM station_groups WHERE id = $1`, id), id)
		return err
	})
	if err != nil {
		return domain.StationGroup{}, fmt.Errorf("postgres: station group %q: %w", id, mapErr(err, "", ""))
	}
	return g, nil
}

// StationGroups lists a page of station groups ordered by id.
func (s *Store) StationGroups(ctx context.Context, p domain.Page) ([]domain.StationGroup, string, error) {
	gs, next, err := pageByKey(ctx, s.pool, "stationgroup", `SELECT `+stationGroupColumns+` FROM station_groups WHERE id > $1 ORDER BY id LIMIT $2`, p,
		func(r pgx.Row) (domain.StationGroup, error) { return scanStationGroup(r, "") }, func(g domain.StationGroup) string { return g.ID })
	if err != nil {
		return nil, "", fmt.Errorf("postgres: station groups: %w", err)
	}
	return gs, next, nil
}

// DeleteStationGroup removes a station group that no station belongs to.
func (s *Store) DeleteStationGroup(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the group first, so that no station joins it between the check and the delete.
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM station_groups WHERE id = $1 FOR UPDATE`, id).Scan(&one); err != nil {
			if isNoRows(err) {
				return stationGroupNotFound(id)
			}
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM station_group_members WHERE group_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return domain.Errorf(domain.ErrConflict, "station group %q has %d stations; move them out first", id, n)
		}
		_, err := tx.Exec(ctx, `DELETE FROM station_groups WHERE id = $1`, id)
		return mapErr(err, "", "")
	})
	if err != nil {
		return fmt.Errorf("postgres: delete station group %q: %w", id, err)
	}
	return nil
}

// SetStationGroup puts a station in a group, or takes it out.
func (s *Store) SetStationGroup(ctx context.Context, stationID, groupID string) error {
	return stationGroupLink.set(ctx, s, stationID, groupID)
}

// StationGroupsOf returns the group of each given station that has one.
func (s *Store) StationGroupsOf(ctx context.Context, stationIDs []string) (map[string]string, error) {
	return stationGroupLink.of(ctx, s, stationIDs)
}

// StationGroupMembers lists the station ids of a group.
func (s *Store) StationGroupMembers(ctx context.Context, groupID string) ([]string, error) {
	ids := []string{}
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM station_groups WHERE id = $1`, groupID).Scan(&one); err != nil {
			if isNoRows(err) {
				return stationGroupNotFound(groupID)
			}
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT station_id FROM station_group_members WHERE group_id = $1 ORDER BY station_id`, groupID)
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err == nil && got != nil {
			ids = got
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: station group %q members: %w", groupID, mapErr(err, "", ""))
	}
	return ids, nil
}

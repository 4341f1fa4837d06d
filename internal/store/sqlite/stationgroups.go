package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/opencpo/opencpo/internal/domain"
)

const stationGroupColumns = `id, name, token_groups, all_tokens, created_at, updated_at`

func stationGroupNotFound(id string) error {
	return domain.Errorf(domain.ErrNotFound, "station group %q not found", id)
}

func scanStationGroup(row interface{ Scan(...any) error }, id string) (domain.StationGroup, error) {
	var (
		g                    domain.StationGroup
		groups, created, upd string
		all                  int
	)
	if err := row.Scan(&g.ID, &g.Name, &groups, &all, &created, &upd); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return g, stationGroupNotFound(id)
		}
		return g, err
	}
	g.AllTokens = all == 1
	if err := json.Unmarshal([]byte(groups), &g.TokenGroups); err != nil {
		return g, fmt.Errorf("token groups of %q: %w", g.ID, err)
	}
	if g.TokenGroups == nil {
		g.TokenGroups = []string{}
	}
	var err error
	if g.CreatedAt, err = parseTime(created); err != nil {
		return g, err
	}
	g.UpdatedAt, err = parseTime(upd)
	return g, err
}

// PutStationGroup creates or replaces a station group, keeping its creation time.
func (s *Store) PutStationGroup(ctx context.Context, g domain.StationGroup) (bool, error) {
	g.CreatedAt, g.UpdatedAt = s.stamp(g.CreatedAt), s.stamp(g.UpdatedAt)
	// Sorted returns nil for no groups; the column holds an empty list.
	g.TokenGroups = append([]string{}, slices.Compact(slices.Sorted(slices.Values(g.TokenGroups)))...)
	if err := errors.Join(g.Validate(), checkTime("creation time", g.CreatedAt), checkTime("update time", g.UpdatedAt)); err != nil {
		return false, fmt.Errorf("sqlite: put station group %q: %w", g.ID, err)
	}
	groups, err := json.Marshal(g.TokenGroups)
	if err != nil {
		return false, err
	}
	all := 0
	if g.AllTokens {
		all = 1
	}
	var created bool
	err = s.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRow(`SELECT 1 FROM station_groups WHERE id = ?`, g.ID).Scan(&one)
		created = errors.Is(err, sql.ErrNoRows)
		if err != nil && !created {
			return err
		}
		_, err = tx.Exec(`INSERT INTO station_groups (`+stationGroupColumns+`) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
			ON CONFLICT (id) DO UPDATE SET name = ?2, token_groups = ?3, all_tokens = ?4, updated_at = ?6`,
			g.ID, g.Name, string(groups), all, formatTime(g.CreatedAt), formatTime(g.UpdatedAt))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: put station group %q: %w", g.ID, mapErr(err, "", ""))
	}
	return created, nil
}

// StationGroup returns one station group.
func (s *Store) StationGroup(ctx context.Context, id string) (domain.StationGroup, error) {
	g, err := readOne(ctx, s, `SELECT `+stationGroupColumns+` FROM station_groups WHERE id = ?`,
		func(r scanner) (domain.StationGroup, error) { return scanStationGroup(r, id) }, id)
	if err != nil {
		return domain.StationGroup{}, fmt.Errorf("sqlite: station group %q: %w", id, err)
	}
	return g, nil
}

// StationGroups lists a page of station groups ordered by id.
func (s *Store) StationGroups(ctx context.Context, p domain.Page) ([]domain.StationGroup, string, error) {
	items, next, err := pageByKey(ctx, s, "stationgroup", `SELECT `+stationGroupColumns+` FROM station_groups WHERE id > ? ORDER BY id LIMIT ?`, p,
		func(r scanner) (domain.StationGroup, error) { return scanStationGroup(r, "") }, func(g domain.StationGroup) string { return g.ID })
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: station groups: %w", err)
	}
	return items, next, nil
}

// DeleteStationGroup removes a station group that no station belongs to.
func (s *Store) DeleteStationGroup(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM station_group_members WHERE group_id = ?`, id).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: delete station group %q: %w", id, err)
		}
		if n > 0 {
			return domain.Errorf(domain.ErrConflict, "station group %q has %d stations; move them out first", id, n)
		}
		n64, err := rowsAffected(tx.Exec(`DELETE FROM station_groups WHERE id = ?`, id))
		if err == nil && n64 == 0 {
			err = stationGroupNotFound(id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: delete station group %q: %w", id, err)
		}
		return nil
	})
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
	err := s.read(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRow(`SELECT 1 FROM station_groups WHERE id = ?`, groupID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return stationGroupNotFound(groupID)
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT station_id FROM station_group_members WHERE group_id = ? ORDER BY station_id`, groupID)
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
		return nil, fmt.Errorf("sqlite: station group %q members: %w", groupID, err)
	}
	return ids, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ClaimStation records that node holds the station's connection now.
func (s *Store) ClaimStation(ctx context.Context, id, node, ocppVersion string, at time.Time) error {
	at = s.stamp(at)
	if err := checkTime("connection time", at); err != nil {
		return fmt.Errorf("sqlite: claim station %q: %w", id, err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		err := oneStation(id)(tx.ExecContext(ctx, `UPDATE stations SET connected = 1, node = ?,
				ocpp_version = coalesce(nullif(?, ''), ocpp_version),
				last_seen_at = max(coalesce(last_seen_at, ?), ?)
			WHERE id = ?`, node, ocppVersion, formatTime(at), formatTime(at), id))
		if err != nil {
			return fmt.Errorf("sqlite: claim station %q for node %q: %w", id, node, err)
		}
		return nil
	})
}

// ReleaseStation clears the connected flag if node still holds the station.
func (s *Store) ReleaseStation(ctx context.Context, id, node string) (bool, error) {
	return writeValue(ctx, s, func(tx *sql.Tx) (bool, error) {
		res, err := tx.ExecContext(ctx, `UPDATE stations SET connected = 0
			WHERE id = ? AND node = ? AND connected = 1`, id, node)
		var n int64
		if err == nil {
			n, err = res.RowsAffected()
		}
		if err == nil && n == 0 {
			err = stationExists(ctx, tx, id)
		}
		if err != nil {
			return false, fmt.Errorf("sqlite: release station %q for node %q: %w", id, node, err)
		}
		return n > 0, nil
	})
}

// StationNode returns the node holding the station's connection, "" when none does.
func (s *Store) StationNode(ctx context.Context, id string) (string, error) {
	var node string
	err := s.read(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT CASE WHEN connected = 1 THEN node ELSE '' END FROM stations WHERE id = ?`, id).Scan(&node)
		if err == sql.ErrNoRows {
			return stationNotFound(id)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("sqlite: station node %q: %w", id, err)
	}
	return node, nil
}

// ReleaseNode marks the stations node holds, last seen before seenBefore unless it is zero, as
// disconnected.
func (s *Store) ReleaseNode(ctx context.Context, node string, seenBefore time.Time) ([]string, error) {
	cutoff := nullTime(seenBefore) // NULL: every station
	return writeValue(ctx, s, func(tx *sql.Tx) ([]string, error) {
		ids, err := queryStrings(ctx, tx, `UPDATE stations SET connected = 0
			WHERE connected = 1 AND node = ?1
				AND (?2 IS NULL OR last_seen_at IS NULL OR last_seen_at < ?2) RETURNING id`, node, cutoff)
		if err != nil {
			return nil, fmt.Errorf("sqlite: release node %q: %w", node, err)
		}
		return ids, nil
	})
}

// ConnectedNodes lists the nodes holding at least one connection ("" for connections a single
// node recorded).
func (s *Store) ConnectedNodes(ctx context.Context) ([]string, error) {
	var nodes []string
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		nodes, err = queryStrings(ctx, tx, `SELECT DISTINCT node FROM stations WHERE connected = 1 ORDER BY node`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: connected nodes: %w", err)
	}
	return nodes, nil
}

func queryStrings(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

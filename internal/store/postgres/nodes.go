package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ClaimStation records that node holds the station's connection now. It goes through the
// per-station group commit, as SetConnected does, so that a mass reconnect costs few commits.
func (s *Store) ClaimStation(ctx context.Context, id, node, ocppVersion string, at time.Time) error {
	at = s.stamp(at)
	if err := checkTime("connection time", at); err != nil {
		return fmt.Errorf("postgres: claim station %q: %w", id, err)
	}
	n, err := s.commit.exec(ctx, id+"\x00", `UPDATE stations SET connected = true, node = $1,
			ocpp_version = coalesce(nullif($2, ''), ocpp_version),
			last_seen_at = greatest(last_seen_at, $3)
		WHERE id = $4`, node, ocppVersion, pgTime(at), id)
	if err == nil && n == 0 {
		err = stationNotFound(id)
	}
	if err != nil {
		return fmt.Errorf("postgres: claim station %q for node %q: %w", id, node, mapErr(err, "", ""))
	}
	return nil
}

// ReleaseStation clears the connected flag if node still holds the station.
func (s *Store) ReleaseStation(ctx context.Context, id, node string) (bool, error) {
	n, err := s.commit.exec(ctx, id+"\x00", `UPDATE stations SET connected = false
		WHERE id = $1 AND node = $2 AND connected`, id, node)
	if err == nil && n == 0 {
		err = s.stationExists(ctx, id)
	}
	if err != nil {
		return false, fmt.Errorf("postgres: release station %q for node %q: %w", id, node, mapErr(err, "", ""))
	}
	return n > 0, nil
}

// StationNode returns the node holding the station's connection, "" when none does.
func (s *Store) StationNode(ctx context.Context, id string) (string, error) {
	var node string
	err := s.pool.QueryRow(ctx, `SELECT CASE WHEN connected THEN node ELSE '' END FROM stations WHERE id = $1`, id).Scan(&node)
	if isNoRows(err) {
		err = stationNotFound(id)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: station node %q: %w", id, err)
	}
	return node, nil
}

// ReleaseNode marks the stations node holds, last seen before seenBefore unless it is zero, as
// disconnected, in one statement. A dead node may hold thousands of stations, and the statement
// locks their rows in its own order while the live nodes' commits lock some of them in theirs:
// when PostgreSQL picks it as a deadlock's victim it runs again, up to releaseTries times.
func (s *Store) ReleaseNode(ctx context.Context, node string, seenBefore time.Time) ([]string, error) {
	cutoff := nullTime(seenBefore) // NULL: every station
	for try := 1; ; try++ {
		rows, _ := s.pool.Query(ctx, `UPDATE stations SET connected = false
			WHERE connected AND node = $1
				AND ($2::timestamptz IS NULL OR last_seen_at IS NULL OR last_seen_at < $2) RETURNING id`, node, cutoff)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err == nil {
			return ids, nil
		}
		if !retryable(err) || try == releaseTries {
			return nil, fmt.Errorf("postgres: release node %q: %w", node, err)
		}
		// The winner goes on meanwhile, as a deadlock's victim in a batch does (applybatch.go).
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("postgres: release node %q: %w", node, ctx.Err())
		case <-time.After(time.Duration(try) * retryPause):
		}
	}
}

// releaseTries bounds ReleaseNode's runs after deadlocks; the reaper tries again on its next
// round anyway.
const releaseTries = 5

// ConnectedNodes lists the nodes holding at least one connection ("" for connections a single
// node recorded).
func (s *Store) ConnectedNodes(ctx context.Context) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT DISTINCT node FROM stations WHERE connected ORDER BY node`)
	nodes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: connected nodes: %w", err)
	}
	return nodes, nil
}

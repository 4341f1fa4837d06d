package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/opencpo/opencpo/internal/store/migration"
)

// Migrations are SQL files named NNNN_name.sql, applied in order of NNNN, each in its own
// transaction, never edited once released, never undone. They are PostgreSQL's own: the SQLite
// store has its own set with the same numbering and meaning.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockClass is the first half of the advisory lock key that Migrate holds; the second
// is a hash of the schema migrated, so that separate schemas of one database migrate
// independently.
const migrationLockClass = 0x0C90

// Migrate applies the pending migrations in the schema the connection works in (the first of
// its search_path). It is idempotent and safe against other processes migrating the same
// database at the same time: they wait for one another on an advisory lock. It refuses a
// database that has migrations this binary does not know (a newer OpenCPO ran on it).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migration.Load(migrationFiles)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, hashtext(current_schema()))`, migrationLockClass); err != nil {
		return fmt.Errorf("postgres: migrate: take the migration lock: %w", err)
	}
	defer func() {
		// A session lock outlives a failed statement; release it before the connection goes
		// back to the pool. If even that fails, the connection is not reused.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, migrationLockClass); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL
	)`); err != nil {
		return fmt.Errorf("postgres: migrate: create schema_migrations: %w", err)
	}
	var latest int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&latest); err != nil {
		return fmt.Errorf("postgres: migrate: read version: %w", err)
	}
	if latest > len(ms) {
		return fmt.Errorf("postgres: migrate: database is at schema version %d, this binary knows only %d: it was used by a newer OpenCPO", latest, len(ms))
	}
	for _, m := range ms[latest:] {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return fmt.Errorf("postgres: migrate %04d_%s: %w", m.Version, m.Name, err)
		}
		_, err = tx.Exec(ctx, m.SQL) // no arguments: the simple protocol, which runs a whole script
		if err == nil {
			_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, pgTime(s.now()))
		}
		if err == nil {
			err = tx.Commit(ctx)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			return fmt.Errorf("postgres: migrate %04d_%s: %w", m.Version, m.Name, err)
		}
		s.log.Info("applied migration", "version", m.Version, "name", m.Name)
	}
	return nil
}

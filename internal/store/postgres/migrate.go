package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrations are SQL files named NNNN_name.sql, applied in order of NNNN, each in its own
// transaction, never edited once released, never undone. They are PostgreSQL's own: the SQLite
// store has its own set with the same numbering and meaning.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads and checks the embedded migrations: versions must be 1, 2, 3, … with no
// gap or duplicate, so a mistake in numbering fails every test instead of a production start.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, rest, ok := strings.Cut(base, "_")
		if !ok || len(num) != 4 || !strings.HasSuffix(rest, ".sql") || rest == ".sql" {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", base)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: bad version %q", base, num)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(rest, ".sql"), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: expected version %d (versions must be 1, 2, 3, … without gaps or duplicates)", m.version, m.name, i+1)
		}
	}
	return ms, nil
}

// migrationLockClass is the first half of the advisory lock key that Migrate holds; the second
// is a hash of the schema migrated, so that separate schemas of one database migrate
// independently.
const migrationLockClass = 0x0C90

// Migrate applies the pending migrations in the schema the connection works in (the first of
// its search_path). It is idempotent and safe against other processes migrating the same
// database at the same time: they wait for one another on an advisory lock. It refuses a
// database that has migrations this binary does not know (a newer OpenCPO ran on it).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFiles)
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
			return fmt.Errorf("postgres: migrate %04d_%s: %w", m.version, m.name, err)
		}
		_, err = tx.Exec(ctx, m.sql) // no arguments: the simple protocol, which runs a whole script
		if err == nil {
			_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, pgTime(s.now()))
		}
		if err == nil {
			err = tx.Commit(ctx)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			return fmt.Errorf("postgres: migrate %04d_%s: %w", m.version, m.name, err)
		}
		s.log.Info("applied migration", "version", m.version, "name", m.name)
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are SQL files named NNNN_name.sql, applied in order of NNNN, each in its own
// transaction, never edited once released, never undone.
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

// Migrate applies the pending migrations. It is idempotent, and safe against a second process
// migrating the same file at the same time (each step re-checks under the write lock). It
// refuses a database that has migrations this binary does not know (a newer OpenCPO ran on it).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if err := migrate(ctx, s.writer, ms, s.now, s.log); err != nil {
		return err
	}
	return s.prepare(ctx)
}

func migrate(ctx context.Context, db *sql.DB, ms []migration, now func() time.Time, log *slog.Logger) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at TEXT    NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: migrate: create schema_migrations: %w", err)
	}
	var latest int
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&latest); err != nil {
		return fmt.Errorf("sqlite: migrate: read version: %w", err)
	}
	if latest > len(ms) {
		return fmt.Errorf("sqlite: migrate: database is at schema version %d, this binary knows only %d: it was used by a newer OpenCPO", latest, len(ms))
	}
	for _, m := range ms[latest:] {
		applied, err := migrateOne(ctx, db, m, now)
		if err != nil {
			return fmt.Errorf("sqlite: migrate %04d_%s: %w", m.version, m.name, err)
		}
		if applied {
			log.Info("applied migration", "version", m.version, "name", m.name)
		}
	}
	return nil
}

// migrateOne applies m in its own transaction unless another process got there first.
func migrateOne(ctx context.Context, db *sql.DB, m migration, now func() time.Time) (applied bool, err error) {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (writer DSN): the check below is under the lock
	if err != nil {
		return false, err
	}
	defer func() {
		if !applied {
			_ = tx.Rollback()
		}
	}()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, formatTime(now())); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	return true, nil
}

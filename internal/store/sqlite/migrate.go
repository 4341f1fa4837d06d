package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"
	"time"

	"github.com/opencpo/opencpo/internal/store/migration"
)

// Migrations are SQL files named NNNN_name.sql, applied in order of NNNN, each in its own
// transaction, never edited once released, never undone.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate applies the pending migrations. It is idempotent, and safe against a second process
// migrating the same file at the same time (each step re-checks under the write lock). It
// refuses a database that has migrations this binary does not know (a newer OpenCPO ran on it).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migration.Load(migrationFiles)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if err := migrate(ctx, s.writer, ms, s.now, s.log); err != nil {
		return err
	}
	return s.prepare(ctx)
}

func migrate(ctx context.Context, db *sql.DB, ms []migration.Migration, now func() time.Time, log *slog.Logger) error {
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
			return fmt.Errorf("sqlite: migrate %04d_%s: %w", m.Version, m.Name, err)
		}
		if applied {
			log.Info("applied migration", "version", m.Version, "name", m.Name)
		}
	}
	return nil
}

// migrateOne applies m in its own transaction unless another process got there first.
func migrateOne(ctx context.Context, db *sql.DB, m migration.Migration, now func() time.Time) (applied bool, err error) {
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
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.Version, m.Name, formatTime(now())); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	return true, nil
}

// Package postgres implements the domain's store interfaces on PostgreSQL, the store of an
// OpenCPO cluster (several nodes sharing one database).
//
// Public methods run on a pgx connection pool. A commit is durable before the method returns
// (the server's synchronous_commit, on by default, is left alone). The hot writes share
// transactions: the single-statement status writes (groupcommit.go) and Apply (applybatch.go)
// queue their work for writers that run many callers' writes in one transaction and commit
// once, so that a few thousand writes per second cost a few hundred commits (see bench_test.go
// for the rates).
//
// Transactional OCPP messages go through Apply: its transaction first claims the message's key
// in the ledger of applied messages (so that a copy of the message finds the first one's row and
// its answer), runs the caller's function on a SessionTx bound to the transaction in a savepoint
// of its own and records the answer. Each SessionTx write that may fail runs in a further
// savepoint, so that an error the caller handles (a conflict, a missing row) does not abort the
// transaction.
//
// Schema migrations are embedded SQL files, numbered and forward-only, applied under an advisory
// lock so that nodes starting at once do not race.
//
// It may import the domain package and pgx (github.com/jackc/pgx/v5), besides the standard
// library; nothing else of OpenCPO.
package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencpo/opencpo/internal/domain"
)

// defaultMaxConns is the pool size unless the URL says otherwise (pool_max_conns). Measured with
// 200 concurrent stations against a PostgreSQL on the same 2-core machine (bench_test.go), 8
// connections applied the most messages per second: more concurrent transactions mostly wait
// for one another on WAL insertion and hot index pages. A database server of its own may take
// more; set pool_max_conns in the URL.
const defaultMaxConns = 8

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Now is the clock for the timestamps the store sets itself (created/updated, and the time
	// of a write given a zero time). Default time.Now.
	Now func() time.Time
	// Logger receives migration logs. Default: discarded.
	Logger *slog.Logger
	// NoMigrate skips applying pending migrations in Open; call Migrate later.
	NoMigrate bool
}

// Store keeps OpenCPO's data in PostgreSQL: everything of domain.Store. It is safe for
// concurrent use, also by several processes on one database. Long-lived: Open → use → Close.
type Store struct {
	pool   *pgxpool.Pool
	commit *committer // the hot single-statement writes
	apply  *applier   // Apply's group commit
	now    func() time.Time
	log    *slog.Logger

	closeOnce sync.Once
}

var _ domain.Store = (*Store)(nil)

// Open connects to the database at url (postgres://user:password@host:port/db?…; pgx's
// parameters such as pool_max_conns and runtime parameters such as search_path are honoured)
// and applies pending migrations unless opts.NoMigrate. Errors never contain the password.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors redact the password, but say so only for URLs it could split.
		return nil, fmt.Errorf("postgres: open %s: invalid connection URL", Redact(url))
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", Redact(url), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", Redact(url), err)
	}
	s := &Store{pool: pool, commit: newCommitter(pool), now: opts.Now, log: opts.Logger}
	s.apply = newApplier(s, applyWriters(cfg.MaxConns))
	if !opts.NoMigrate {
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Redact returns a connection URL fit for logs and messages: the password, if any, replaced by
// "xxxxx". A string that is no URL comes back as "(connection string)".
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "(connection string)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Close finishes the writes already submitted, waits for the connections in use to be released
// and closes the pool. Calls after Close fail. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.apply.close()
		s.commit.close()
		s.pool.Close()
	})
	return nil
}

// inTx runs fn in one read-write transaction and commits it; an error from fn rolls it back
// and is returned unchanged.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// readTx runs fn in one read-only transaction, so that a method that needs several queries sees
// one snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// stamp returns t, or the store's clock when t is zero: a zero time means "now".
func (s *Store) stamp(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t
}

// exec runs one statement as its own transaction.
func (s *Store) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

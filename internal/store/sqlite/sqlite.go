// Package sqlite implements the domain's store interfaces on an embedded SQLite database, the
// default store of a single-node OpenCPO.
//
// The database runs in WAL mode with synchronous=FULL, so a write is on disk before its method
// returns. One dedicated connection writes, fed by one goroutine that groups concurrent writes
// into shared transactions (group commit: many callers, one fsync); a pool of read-only
// connections serves reads. Schema migrations are embedded SQL files, numbered and forward-only.
//
// Transactional OCPP messages go through Apply: one group-commit operation that checks the
// ledger of applied messages, runs the caller's function on a SessionTx bound to the writer's
// transaction and records the answer, so that a retransmission changes nothing. The statements
// of that path are prepared once (prepared.go).
//
// It may import the domain package, database/sql and the SQLite driver (modernc.org/sqlite),
// besides the standard library; nothing else of OpenCPO.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencpo/opencpo/internal/domain"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// busyTimeout is how long a connection waits for a lock held by another process (a second
// opencpo on the same file, the sqlite3 shell) before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Now is the clock for the timestamps the store sets itself (created/updated, and the time
	// of a write given a zero time). Default time.Now.
	Now func() time.Time
	// Logger receives migration and write-failure logs. Default: discarded.
	Logger *slog.Logger
	// NoMigrate skips applying pending migrations in Open; call Migrate later.
	NoMigrate bool

	// checkpointEvery and restartFrames replace the constants of the same names (tests: a
	// writer on a fast disk fills the WAL many times over in one default tick, and one under
	// the race detector takes a minute to fill 16 MiB).
	checkpointEvery time.Duration
	restartFrames   int
}

// Store keeps OpenCPO's data in SQLite: everything of domain.Store. It is safe for concurrent
// use. Long-lived: Open → use → Close.
type Store struct {
	writer *sql.DB // exactly one connection; used by the committer goroutine and Migrate only
	reader *sql.DB // read-only connections
	// readers runs every read, one per connection of the reader pool at a time (readers.go).
	readers *readers
	commit  *committer
	now     func() time.Time
	log     *slog.Logger

	checkpoint *checkpointer

	stmts atomic.Pointer[preparedStmts] // the hot write statements, once the schema has them
	wtx   txStmts                       // owned by the writer goroutine: see Store.on
	// readStmts holds the statements of the frequent reads (query text → *sql.Stmt), prepared
	// on the reader pool once: database/sql keeps one prepared copy per connection.
	readStmts sync.Map

	closeOnce sync.Once
	closeErr  error
}

var _ domain.Store = (*Store)(nil)

// Open opens (creating it if missing) the SQLite database at path and applies pending
// migrations unless opts.NoMigrate.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	writer, err := sql.Open("sqlite", dsn(abs, connWriter))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	// The first connection creates the file and switches it to WAL before any reader opens it.
	if err := checkWriter(ctx, writer); err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	reader, err := sql.Open("sqlite", dsn(abs, connReader))
	if err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)

	s := &Store{
		writer:  writer,
		reader:  reader,
		readers: newReaders(n),
		now:     opts.Now,
		log:     opts.Logger,
	}
	if !opts.NoMigrate {
		if err := s.Migrate(ctx); err != nil {
			s.readers.close()
			_ = writer.Close()
			_ = reader.Close()
			return nil, err
		}
	}
	s.commit = newCommitter(writer, opts.Logger)
	if s.checkpoint, err = startCheckpointer(abs, cmp.Or(opts.checkpointEvery, checkpointEvery), cmp.Or(opts.restartFrames, restartFrames),
		&s.commit.pause, opts.Logger); err != nil {
		s.commit.close()
		s.readers.close()
		_ = writer.Close()
		_ = reader.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// connKind is what a connection of the store is for.
type connKind int

const (
	connWriter       connKind = iota // the one connection that writes (committer, Migrate)
	connReader                       // the read-only pool
	connCheckpointer                 // the background checkpointer (checkpoint.go)
)

// dsn builds the driver's data source name. The path goes into a file: URI, escaped, so that
// no character of it is taken for a query parameter.
func dsn(abs string, kind connKind) string {
	q := url.Values{}
	// One busy_timeout per connection: the driver runs busy_timeout pragmas first, in no
	// fixed order among themselves, so a second one would not reliably override the first.
	busy := busyTimeout
	if kind == connCheckpointer {
		busy = checkpointerBusy
	}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	// FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss, and an
	// acknowledged OCPP message must survive it. Group commit pays for the fsync.
	q.Add("_pragma", "synchronous(FULL)")
	switch kind {
	case connWriter:
		q.Add("_pragma", "journal_mode(WAL)")
		// Group commit runs every operation in a savepoint, and SQLite copies each page an
		// operation touches into the savepoint's sub-journal, a temporary file once it outgrows
		// 64 KiB: kept in memory, it costs a memcpy instead of write syscalls.
		q.Add("_pragma", "temp_store(MEMORY)")
		// Room for every page a batch dirties (a few per OCPP message), so that none is
		// spilled to the WAL before COMMIT or read back from the file.
		q.Add("_pragma", "cache_size(-65536)")
		// The checkpointer moves the WAL into the database in the background; a checkpoint
		// run by the writer itself stalls every write queued behind that commit (tens of
		// milliseconds for a few thousand pages). The writer's own checkpoint, at 32 MiB of
		// WAL, finds most of the WAL copied already (see writerCheckpointPages).
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerCheckpointPages))
		q.Set("_txlock", "immediate") // take the write lock at BEGIN, never upgrade mid-way
	case connReader:
		q.Add("_pragma", "query_only(1)")
	case connCheckpointer:
		q.Add("_pragma", "wal_autocheckpoint(0)")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), OmitHost: true}
	return u.String() + "?" + q.Encode()
}

func checkWriter(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("journal_mode is %q, want wal", mode)
	}
	var fk int
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return err
	}
	if fk != 1 {
		return errors.New("foreign keys are off")
	}
	return nil
}

// Close finishes the writes already submitted, then closes the database. Writes submitted after
// Close fail with ErrClosed. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.commit.close()
		s.readers.close()
		cpErr := s.checkpoint.close()
		var stmtErr error
		if p := s.stmts.Load(); p != nil {
			stmtErr = p.close()
		}
		s.readStmts.Range(func(_, st any) bool {
			stmtErr = errors.Join(stmtErr, st.(*sql.Stmt).Close())
			return true
		})
		s.closeErr = errors.Join(stmtErr, cpErr, s.reader.Close(), s.writer.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", s.closeErr)
		}
	})
	return s.closeErr
}

// write runs fn in the next group commit and returns once that commit is durable. Every public
// write method goes through it (see committer.do for the rules fn must follow):
//
//	func (s *Store) DoThing(ctx context.Context, x X) error {
//		// validate x and compute arguments here, outside the writer goroutine
//		return s.write(ctx, func(tx *sql.Tx) error {
//			if _, err := tx.Exec(`...`, ...); err != nil {
//				return fmt.Errorf("sqlite: do thing %s: %w", x.ID, mapErr(err, "…exists", "…not found"))
//			}
//			return nil
//		})
//	}
//
// fn runs inside its own savepoint: returning an error undoes fn's changes only, and that error
// is what the caller gets.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.commit.do(ctx, fn)
}

// writeValue is write for operations that produce a value, e.g. a row read back in the same
// transaction. The value is returned only once its commit succeeded.
func writeValue[T any](ctx context.Context, s *Store, fn func(tx *sql.Tx) (T, error)) (T, error) {
	var v T
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// read runs fn in one read-only transaction on the reader pool, so a method that needs several
// queries sees one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.readers.do(ctx, func() error {
		tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return fmt.Errorf("sqlite: begin read: %w", err)
		}
		defer func() { _ = tx.Rollback() }()
		return fn(tx)
	})
}

// readStmt returns query prepared on the reader pool, preparing it on first use. Only fixed query
// texts may come here (the cache is never trimmed). Parsing a statement cost more than running
// these point reads, which the message path makes for every authorization and session start.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.readStmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.reader.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.readStmts.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// readIn returns query prepared (readStmt) and bound to the read transaction tx.
func (s *Store) readIn(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st), nil
}

// queryFunc runs a query inside some transaction, as tx.QueryContext does.
type queryFunc func(ctx context.Context, query string, args ...any) (*sql.Rows, error)

// preparedQuery runs fixed queries in the read transaction tx as prepared statements (readIn).
func (s *Store) preparedQuery(tx *sql.Tx) queryFunc {
	return func(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
		st, err := s.readIn(ctx, tx, query)
		if err != nil {
			return nil, err
		}
		return st.QueryContext(ctx, args...)
	}
}

// readRow runs one single-row query on the reader pool, prepared (readStmt), outside any
// transaction: a single statement reads one snapshot anyway, and BEGIN and ROLLBACK cost about as
// much as the point reads that use this. scan must read the row before it returns.
func (s *Store) readRow(ctx context.Context, query string, scan func(*sql.Row) error, args ...any) error {
	return s.readStmtOnReader(ctx, query, func(st *sql.Stmt) error {
		return scan(st.QueryRowContext(ctx, args...))
	})
}

// readRows is readRow for a query of a few rows; scan must read them all and close rows.
func (s *Store) readRows(ctx context.Context, query string, scan func(*sql.Rows) error, args ...any) error {
	return s.readStmtOnReader(ctx, query, func(st *sql.Stmt) error {
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		return scan(rows)
	})
}

// readStmtOnReader runs use with query prepared (readStmt) on a reader goroutine (readers).
func (s *Store) readStmtOnReader(ctx context.Context, query string, use func(*sql.Stmt) error) error {
	return s.readers.do(ctx, func() error {
		st, err := s.readStmt(ctx, query)
		if err != nil {
			return err
		}
		return use(st)
	})
}

// readOne reads one row with a fixed query (readRow) and scans it with scan.
func readOne[T any](ctx context.Context, s *Store, query string, scan func(scanner) (T, error), args ...any) (T, error) {
	var v T
	err := s.readRow(ctx, query, func(row *sql.Row) error {
		var err error
		v, err = scan(row)
		return err
	}, args...)
	return v, err
}

// stamp returns t, or the store's clock when t is zero: a zero time means "now".
func (s *Store) stamp(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t
}

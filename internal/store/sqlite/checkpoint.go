package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// checkpointEvery is how often the checkpointer copies the WAL into the database. Less
	// often means fewer copies of pages that many commits rewrite (an index's tail, busy
	// session rows); more often means a shorter WAL to read through.
	checkpointEvery = 2 * time.Second
	// restartFrames is the WAL size (in 4 KiB pages, 16 MiB) from which the checkpointer
	// follows its passive checkpoint with a RESTART one. Under a constant stream of writes a
	// passive checkpoint never catches up with the last frame, and SQLite starts the WAL over
	// only once everything in it is in the database: the RESTART pass takes the write lock,
	// copies the few frames written since the passive pass a moment before, and waits for
	// readers to leave the WAL, so that the next write starts it over. It gets the write lock
	// by pausing the store's own writer between two commits (committer.pause), waits at most
	// checkpointerBusy for the readers, and gives up (trying again on the next tick) rather
	// than hold up writes longer.
	restartFrames = 4096
	// writerCheckpointPages is the WAL size (128 MiB) at which the writer checkpoints on its
	// own, after a commit whose callers wait for it: a bound for when the checkpointer keeps
	// failing to restart the WAL. Without a bound the WAL grew to hundreds of MiB, and a
	// restart after a crash read all of it before accepting the first station. At 32 MiB the
	// writer reached it every few seconds under the fleet-15k mix, and each of its checkpoints
	// held up every write queued behind that commit (docs/benchmarks.md).
	writerCheckpointPages = 32768
	// checkpointerBusy is the checkpointer connection's busy timeout.
	checkpointerBusy = 100 * time.Millisecond
)

// checkpointer runs PASSIVE checkpoints on a connection of its own. A passive checkpoint never
// waits for or blocks readers and the writer: it copies what it can, and the writer goes on
// appending to the WAL meanwhile (SQLite restarts the WAL from its start once everything in it
// is in the database).
type checkpointer struct {
	db     *sql.DB
	log    *slog.Logger
	writer sync.Locker // stops the store's writer between commits (committer.pause)
	stop   context.CancelFunc
	done   chan struct{}

	restarts  atomic.Int64 // RESTART passes that finished (tests)
	restartAt int          // restartFrames, or a test's smaller WAL
	tail      int          // the most new frames a RESTART may copy now (checkpoint)
}

func startCheckpointer(abs string, every time.Duration, restartAt int, writer sync.Locker, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn(abs, connCheckpointer))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, log: log, writer: writer, stop: stop, done: make(chan struct{}),
		restartAt: restartAt}
	c.tail = c.firstTail()
	go c.run(ctx, every)
	return c, nil
}

func (c *checkpointer) run(ctx context.Context, every time.Duration) {
	defer close(c.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			err := c.checkpoint(ctx)
			if err != nil && ctx.Err() == nil {
				c.log.Warn("sqlite: background checkpoint failed", "err", err)
			}
		}
	}
}

// Catching up before a RESTART (checkpoint).
const (
	// restartTail is the most frames a RESTART pass may find to copy, at first: it copies
	// them holding the write lock, so every write waits for them (about 1 MiB here).
	restartTail = 256
	// catchUpPasses bounds the passive passes one tick runs to get the tail that short.
	catchUpPasses = 4
)

// checkpoint runs one tick's work: a passive pass, and when the WAL is long, more passive
// passes until one finds at most c.tail new frames, then the RESTART that lets the next
// write start the WAL over. A RESTART copies what the writer added since the last pass while
// it holds the write lock; run after a pass that had copied tens of thousands of frames, on
// a disk that took seconds for them, it held up every write for 0.3–4.7 s
// (docs/benchmarks.md, session 5). A pass that stops short (a reader still needed older
// frames; reads are short, so the next pass gets further) counts as not caught up.
//
// A writer that keeps pace with the passes never leaves a tail of restartTail frames, and
// the WAL would grow until the writer's own checkpoint at writerCheckpointPages, the stall
// this avoids. So every tick that ends without a RESTART doubles the tail the next one
// accepts, up to restartFrames (16 MiB, a few hundred milliseconds on a slow disk), and a
// RESTART sets it back.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	frames, _, _, err := c.pass(ctx, "PASSIVE")
	if err != nil || frames < c.restartAt {
		c.tail = c.firstTail()
		return err
	}
	for range catchUpPasses {
		prev := frames
		var copied int
		if frames, copied, _, err = c.pass(ctx, "PASSIVE"); err != nil {
			return err
		}
		if frames < prev {
			c.tail = c.firstTail()
			return nil // the writer started the WAL over meanwhile
		}
		if frames-prev <= c.tail && copied == frames {
			c.writer.Lock()
			_, _, busy, err := c.pass(ctx, "RESTART")
			c.writer.Unlock()
			if err == nil && !busy {
				c.restarts.Add(1)
				c.tail = c.firstTail()
			}
			return err
		}
	}
	c.tail = min(2*c.tail, c.restartAt)
	return nil
}

// firstTail is the tail a RESTART accepts after a RESTART, or while the WAL is short.
func (c *checkpointer) firstTail() int { return min(restartTail, c.restartAt) }

// pass runs one checkpoint in the given mode (PASSIVE, RESTART or TRUNCATE) and returns the
// number of frames in the WAL, how many of them are in the database now, and whether the
// checkpoint could not finish because the database was busy (not an error: the next one goes
// on).
func (c *checkpointer) pass(ctx context.Context, mode string) (walFrames, copied int, busy bool, err error) {
	var busyFlag int
	start := time.Now()
	err = c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busyFlag, &walFrames, &copied)
	if err != nil {
		return 0, 0, false, fmt.Errorf("checkpoint: %w", err)
	}
	if took := time.Since(start); took >= slowCommit {
		c.log.Warn("sqlite: slow checkpoint", "mode", mode, "walFrames", walFrames, "copied", copied,
			"busy", busyFlag != 0, "took", took.Round(time.Millisecond))
	}
	return walFrames, copied, busyFlag != 0, nil
}

// close stops the checkpointer and leaves an empty WAL behind if nobody else uses the
// database (the writer has committed its last batch by now).
func (c *checkpointer) close() error {
	c.stop()
	<-c.done
	_, _, _, err := c.pass(context.Background(), "TRUNCATE")
	return errors.Join(err, c.db.Close())
}

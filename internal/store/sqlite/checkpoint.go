package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
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
	// readers to leave the WAL, so that the next write starts it over. It waits at most
	// checkpointerBusy for the lock and the readers, and gives up (trying again on the next
	// tick) rather than hold up writes.
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
	db   *sql.DB
	log  *slog.Logger
	stop context.CancelFunc
	done chan struct{}

	restarts atomic.Int64 // RESTART passes that finished (tests)
}

func startCheckpointer(abs string, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn(abs, connCheckpointer))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, log: log, stop: stop, done: make(chan struct{})}
	go c.run(ctx)
	return c, nil
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(checkpointEvery)
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
	// restartTail is the most frames a RESTART pass may find to copy: it copies them holding
	// the write lock, so every write waits for them (about 1 MiB here).
	restartTail = 256
	// catchUpPasses bounds the passive passes one tick runs to get the tail that short.
	catchUpPasses = 4
)

// checkpoint runs one tick's work: a passive pass, and when the WAL is long, more passive
// passes until one finds at most restartTail new frames, then the RESTART that lets the next
// write start the WAL over. A RESTART copies what the writer added since the last pass while
// it holds the write lock; run after a pass that had copied tens of thousands of frames, on
// a disk that took seconds for them, it held up every write for 0.3–4.7 s
// (docs/benchmarks.md, session 5). A pass that stops short (a reader still needed older
// frames; reads are short, so the next pass gets further) counts as not caught up; a writer
// faster than the passes leaves the restart to a later tick.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	frames, _, _, err := c.pass(ctx, "PASSIVE")
	if err != nil || frames < restartFrames {
		return err
	}
	for range catchUpPasses {
		prev := frames
		var copied int
		if frames, copied, _, err = c.pass(ctx, "PASSIVE"); err != nil {
			return err
		}
		if frames < prev {
			return nil // the writer started the WAL over meanwhile
		}
		if frames-prev <= restartTail && copied == frames {
			_, _, busy, err := c.pass(ctx, "RESTART")
			if err == nil && !busy {
				c.restarts.Add(1)
			}
			return err
		}
	}
	return nil
}

// pass runs one checkpoint in the given mode (PASSIVE, RESTART or TRUNCATE) and returns the
// number of frames in the WAL, how many of them are in the database now, and whether the checkpoint could not finish because the database
// was busy (not an error: the next one goes on).
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

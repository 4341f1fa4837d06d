package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

const (
	// checkpointEvery is how often the checkpointer copies the WAL into the database. Less
	// often means fewer copies of pages that many commits rewrite (an index's tail, busy
	// session rows); more often means a shorter WAL to read through.
	checkpointEvery = 2 * time.Second
	// writerCheckpointPages is the WAL size (in 4 KiB pages, 32 MiB) at which the writer
	// checkpoints on its own. Under a constant stream of writes the passive checkpoints never
	// catch up with the last frame, and only a checkpoint run by the writer lets SQLite start
	// the WAL over; by then the checkpointer has copied all but the last seconds of it, so the
	// writer's share is small. Without this bound the WAL grew to hundreds of MiB, and a
	// restart after a crash read all of it before accepting the first station.
	writerCheckpointPages = 8192
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
			if err := c.pass(ctx, "PASSIVE"); err != nil && ctx.Err() == nil {
				c.log.Warn("sqlite: background checkpoint failed", "err", err)
			}
		}
	}
}

// pass runs one checkpoint in the given mode (PASSIVE or TRUNCATE).
func (c *checkpointer) pass(ctx context.Context, mode string) error {
	var busy, walFrames, copied int
	err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &walFrames, &copied)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// close stops the checkpointer and leaves an empty WAL behind if nobody else uses the
// database (the writer has committed its last batch by now).
func (c *checkpointer) close() error {
	c.stop()
	<-c.done
	err := c.pass(context.Background(), "TRUNCATE")
	return errors.Join(err, c.db.Close())
}

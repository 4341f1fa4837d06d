package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/store/postgres"
)

// TestReleaseNodeRetriesADeadlock: the reaper's release of a dead node's stations and a live
// node's transaction lock two stations in opposite orders. PostgreSQL aborts the one that waited
// first, the release; it must run again and release both stations, whichever side lost.
func TestReleaseNodeRetriesADeadlock(t *testing.T) {
	ctx := t.Context()
	dsn := freshSchema(t, databaseURL(t))
	s, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"DL-1", "DL-2"} { // in this order: the release's scan locks DL-1 first
		if err := s.CreateStation(ctx, domain.Station{ID: id, RegistrationStatus: domain.RegistrationAccepted}); err != nil {
			t.Fatal(err)
		}
		if err := s.ClaimStation(ctx, id, "node-dead", domain.OCPP16, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	connect := func() *pgx.Conn {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		return c
	}
	other, probe := connect(), connect()
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	touch := `UPDATE stations SET last_seen_at = last_seen_at WHERE id = $1`
	if _, err := tx.Exec(ctx, touch, "DL-2"); err != nil {
		t.Fatal(err)
	}

	type result struct {
		ids []string
		err error
	}
	done := make(chan result, 1)
	go func() {
		ids, err := s.ReleaseNode(ctx, "node-dead", time.Time{})
		done <- result{ids, err}
	}()
	// The release holds DL-1 and waits for DL-2.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ptx, err := probe.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ptx.Exec(ctx, `SELECT 1 FROM stations WHERE id = 'DL-1' FOR UPDATE NOWAIT`)
		_ = ptx.Rollback(ctx)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55P03" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the release never locked DL-1 (last probe: %v)", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Now the other transaction wants DL-1: a deadlock.
	_, err = tx.Exec(ctx, touch, "DL-1")
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "40P01") {
		t.Fatalf("the other transaction: %v", err)
	}
	if err == nil {
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	} else {
		_ = tx.Rollback(ctx)
	}
	select {
	case r := <-done:
		slices.Sort(r.ids)
		if r.err != nil || !slices.Equal(r.ids, []string{"DL-1", "DL-2"}) {
			t.Fatalf("ReleaseNode after a deadlock = %v, %v; want [DL-1 DL-2]", r.ids, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReleaseNode still running")
	}
}

package main

import (
	"context"
	"crypto/rand"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/opencpo/opencpo/internal/ocpptest"
)

// clusterParts returns the PostgreSQL and NATS URLs the cluster tests need, or skips t when
// either is missing (fails it in CI, where both must be there).
func clusterParts(t testing.TB) (pg, nats string) {
	t.Helper()
	pg, nats = os.Getenv("OPENCPO_TEST_POSTGRES"), os.Getenv("OPENCPO_TEST_NATS")
	if pg != "" && nats != "" {
		return pg, nats
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("OPENCPO_TEST_POSTGRES and OPENCPO_TEST_NATS must both be set in CI (.ci/run sets them)")
	}
	t.Skip("cluster tests skipped: they need OPENCPO_TEST_POSTGRES and OPENCPO_TEST_NATS (e.g. nats://127.0.0.1:4222)")
	return "", ""
}

// clusterDB creates an empty schema for t in the test database and returns the database URL
// with search_path set to it; the schema is dropped when t ends.
func clusterDB(t testing.TB, base string) string {
	t.Helper()
	schema := "cluster_" + strings.ToLower(rand.Text())[:12]
	pgAdmin(t, base, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { pgAdmin(t, base, `DROP SCHEMA `+schema+` CASCADE`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func pgAdmin(t testing.TB, base, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// clusterName returns a cluster name of t's own, whose NATS buckets are removed when t ends.
func clusterName(t testing.TB, natsURL string) string {
	t.Helper()
	name := "t" + strings.ToLower(rand.Text())[:12]
	t.Cleanup(func() {
		nc, err := natsgo.Connect(natsURL)
		if err != nil {
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		for _, b := range []string{"nodes", "leases"} {
			_ = js.DeleteKeyValue(context.Background(), name+"_"+b)
		}
	})
	return name
}

// testCluster is a database and a NATS namespace that several nodes share.
type testCluster struct {
	t        testing.TB
	official *ocpptest.Official
	db, nats string
	name     string
}

func newTestCluster(t testing.TB) *testCluster {
	t.Helper()
	pg, nats := clusterParts(t)
	return &testCluster{t: t, official: ocpptest.LoadOfficial(t), db: clusterDB(t, pg), nats: nats, name: clusterName(t, nats)}
}

// node starts an in-process `serve` that joins the cluster as node.
func (c *testCluster) node(node string) *testServer {
	c.t.Helper()
	cfg, err := parseServeFlags("serve", []string{"--addr", "127.0.0.1:0", "--api-token", testToken,
		"--db", c.db, "--nats", c.nats, "--node", node, "--cluster", c.name, "--node-ttl", "3s",
		"--unknown-stations", "accept", "--heartbeat-interval", "60s"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		c.t.Fatal(err)
	}
	return startServerWith(c.t, c.official, cfg)
}

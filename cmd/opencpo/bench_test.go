package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestBenchFleet runs the fleet-15k machinery at a small scale (100 stations, short phases,
// simulated time 10× faster) and checks that the JSON line carries every figure and that no
// acknowledged message was lost across the kill -9.
func TestBenchFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a server and load processes; takes about 40 s")
	}
	t.Setenv(childEnv, "1") // the spawned test binary acts as opencpo
	var stdout, stderr bytes.Buffer
	profiles := t.TempDir()
	args := []string{"bench", "fleet-15k", "--stations", "100", "--load-procs", "2", "--time-scale", "10",
		"--steady", "3s", "--idle", "2s", "--settle", "1s", "--stress-step", "2s", "--stress-steps", "2",
		"--stress-start", "200", "--json-only", "--profile", profiles}
	code := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("bench exited %d: %s\n%s", code, stderr.String(), stdout.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("--json-only printed %d lines, want 1:\n%s", len(lines), stdout.String())
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &res); err != nil {
		t.Fatal(err)
	}
	positive := []string{"connectionsHeld", "connectStormS", "rssBeforeKiB", "rssIdleKiB", "steadyCallsPerS",
		"steadyP99Ms", "maxCallsPerS", "maxDurableCallsPerS", "reconnectS", "killRecoveryS", "acked", "found"}
	for _, k := range positive {
		v, ok := res[k].(float64)
		if !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, res[k])
		}
	}
	for _, k := range []string{"rssPerConnKiB", "idleCpuPct", "steadyCpuPct", "kneeCallsPerS", "kneeReason", "machine", "targets"} {
		if _, ok := res[k]; !ok {
			t.Errorf("figure %s is missing", k)
		}
	}
	if res["connectionsHeld"] != float64(100) {
		t.Errorf("connectionsHeld = %v, want 100", res["connectionsHeld"])
	}
	if res["acked"] != res["found"] {
		t.Errorf("acked %v != found %v after kill -9", res["acked"], res["found"])
	}
	phases := map[string]map[string]any{}
	for _, p := range res["phases"].([]any) {
		p := p.(map[string]any)
		phases[p["name"].(string)] = p
	}
	for _, name := range []string{"connect", "idle", "steady", "stress-1", "reconnect", "after-kill"} {
		p, ok := phases[name]
		if !ok {
			t.Errorf("phase %s is missing", name)
			continue
		}
		for _, k := range []string{"callsPerS", "p50Ms", "p99Ms", "p999Ms"} {
			if _, ok := p[k].(float64); !ok {
				t.Errorf("phase %s: %s missing", name, k)
			}
		}
	}
	if n := len(res["stress"].([]any)); n < 1 {
		t.Errorf("%d stress steps, want at least 1", n)
	}
	// --profile: the server's and the first load process's profiles, each a gzipped pprof
	// protobuf.
	for _, name := range []string{"idle.heap", "steady.cpu", "stress-1.cpu", "reconnect.cpu",
		"steady-load.cpu", "stress-1-load.cpu", "reconnect-load.cpu"} {
		b, err := os.ReadFile(filepath.Join(profiles, name))
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("profile %s: %v (%d bytes)", name, err, len(b))
		}
	}
}

// TestBenchCluster runs the cluster-45k machinery at a small scale (240 stations over three
// serve processes on the real PostgreSQL and NATS, short phases, simulated time 10× faster)
// and checks the figures: stations spread evenly over the nodes, every cross-node command
// answered, the killed node's stations back on the survivors, no station held twice, every
// acknowledged message stored, no session stored twice, the run's database dropped.
func TestBenchCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns three servers and load processes; takes about 30 s")
	}
	pg, nats := clusterParts(t)
	t.Setenv(childEnv, "1") // the spawned test binary acts as opencpo
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "cluster-45k", "--stations", "240", "--load-procs", "2", "--time-scale", "10",
		"--steady", "3s", "--idle", "2s", "--settle", "1s", "--commands", "150",
		"--postgres", pg, "--nats", nats, "--json-only"}
	code := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("bench exited %d: %s\n%s", code, stderr.String(), stdout.String())
	}
	var res struct {
		Database                         string
		Stations, ConnectionsHeld, Nodes int
		Servers                          []struct {
			Name string
			Held int
		}
		Phases []struct {
			Name                 string
			Calls, Errors        int
			P50Ms, P99Ms, P999Ms float64
		}
		SteadyCallsPerS, SteadyDurableCallsPerS, SteadyP99Ms float64
		CrossNode, AfterRestartCommands                      struct{ Calls, Answered int }
		KilledHeld, KillExpected, HeldTwice                  int
		KillReconnectS, RestartS, AllBackS                   float64
		DuplicateSessions, Acked, Found                      int
		Targets                                              map[string]bool
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if res.ConnectionsHeld != 240 || res.Nodes != 3 || len(res.Servers) != 3 {
		t.Fatalf("held %d on %d nodes (%d figures), want 240 on 3", res.ConnectionsHeld, res.Nodes, len(res.Servers))
	}
	for _, s := range res.Servers {
		// Round robin over the nodes from each load process: 80 each, give or take a few
		// connections that had to try another node.
		if s.Held < 70 || s.Held > 90 {
			t.Errorf("%s holds %d stations, want about 80", s.Name, s.Held)
		}
	}
	if res.SteadyCallsPerS <= 0 || res.SteadyDurableCallsPerS <= 0 || res.SteadyP99Ms <= 0 {
		t.Errorf("steady: %v calls/s, %v durable/s, p99 %v ms", res.SteadyCallsPerS, res.SteadyDurableCallsPerS, res.SteadyP99Ms)
	}
	if res.CrossNode.Calls != 150 || res.CrossNode.Answered != 150 {
		t.Errorf("cross-node commands: %d of %d answered, want 150 of 150", res.CrossNode.Answered, res.CrossNode.Calls)
	}
	if res.KilledHeld < 70 || res.KillExpected != 240 || res.KillReconnectS <= 0 || res.AllBackS <= 0 || res.RestartS <= 0 {
		t.Errorf("kill: held %d, expected back %d, reconnect %v s, all back %v s, restart %v s", res.KilledHeld, res.KillExpected, res.KillReconnectS, res.AllBackS, res.RestartS)
	}
	if res.HeldTwice != 0 || res.DuplicateSessions != 0 {
		t.Errorf("%d stations held twice, %d sessions stored twice", res.HeldTwice, res.DuplicateSessions)
	}
	if res.AfterRestartCommands.Calls == 0 || res.AfterRestartCommands.Answered != res.AfterRestartCommands.Calls {
		t.Errorf("commands through the restarted node: %d of %d answered", res.AfterRestartCommands.Answered, res.AfterRestartCommands.Calls)
	}
	if res.Acked == 0 || res.Acked != res.Found {
		t.Errorf("acked %d, found %d", res.Acked, res.Found)
	}
	phases := map[string]bool{}
	for _, p := range res.Phases {
		phases[p.Name] = true
		if p.Calls == 0 || p.P50Ms <= 0 {
			t.Errorf("phase %s: %d calls, p50 %v ms", p.Name, p.Calls, p.P50Ms)
		}
	}
	for _, name := range []string{"connect", "idle", "steady", "commands", "kill", "restart"} {
		if !phases[name] {
			t.Errorf("phase %s is missing", name)
		}
	}
	for _, k := range []string{"connections", "crossNodeAnswered", "noLoss", "noDuplicateSession", "allBackAfterKill", "noStationHeldTwice", "afterRestartAnswered"} {
		if !res.Targets[k] {
			t.Errorf("target %s not met", k)
		}
	}
	if res.Database == "" || databaseExists(t, pg, res.Database) {
		t.Errorf("the run's database %q was not dropped", res.Database)
	}
}

// TestBenchClusterFlags checks that cluster-45k refuses settings it cannot run with, before
// it starts anything.
func TestBenchClusterFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--stations", "60000"}, "more than --node-capacity"},
		{[]string{"--nodes", "1"}, "--nodes must be from 2"},
		{[]string{"--stations", "2"}, "--stations must be at least --nodes"},
		{[]string{"--node-capacity", "25000"}, "--node-capacity must be from 1 to 19500"},
		{[]string{"--postgres", "mysql://x"}, "--postgres must be a postgres:// URL"},
		{[]string{"--nats", "http://x"}, "--nats must be a nats:// URL"},
		{[]string{"--stress-steps", "-1"}, "--stress-steps must not be negative"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"bench", "cluster-45k"}, tc.args...), func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error with %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// databaseExists reports whether the PostgreSQL server has a database of that name.
func databaseExists(t *testing.T, pg, name string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	// --profile: the server's profiles, each a gzipped pprof protobuf.
	for _, name := range []string{"idle.heap", "steady.cpu", "stress-1.cpu"} {
		b, err := os.ReadFile(filepath.Join(profiles, name))
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("profile %s: %v (%d bytes)", name, err, len(b))
		}
	}
}

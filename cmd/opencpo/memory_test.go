package main

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestMemoryLimit(t *testing.T) {
	for raw, want := range map[string]int64{"max\n": 0, "": 0, "junk": 0, "-5": 0, "1000\n": 900, "2147483648": 1932735283} {
		got, ok := memoryLimit(raw)
		if ok != (want != 0) || got != want {
			t.Errorf("memoryLimit(%q) = %d, %v; want %d", raw, got, ok, want)
		}
	}
}

func TestApplyMemoryDefaults(t *testing.T) {
	oldPct := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(oldPct)
		debug.SetMemoryLimit(oldLimit)
	})
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	log := slog.New(slog.DiscardHandler)

	applyMemoryDefaults(getenv, func() (string, error) { return "", errors.New("no cgroup") }, log)
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("GC percent %d, want %d", got, defaultGCPercent)
	}
	applyMemoryDefaults(getenv, func() (string, error) { return "1048576000\n", nil }, log)
	if got := debug.SetMemoryLimit(-1); got != 943718400 {
		t.Errorf("memory limit %d, want 943718400", got)
	}

	// The environment wins: GOGC and GOMEMLIMIT are left to the runtime.
	debug.SetGCPercent(77)
	debug.SetMemoryLimit(5 << 30)
	env["GOGC"], env["GOMEMLIMIT"] = "77", "5GiB"
	applyMemoryDefaults(getenv, func() (string, error) { return "1000", nil }, log)
	if got := debug.SetGCPercent(100); got != 77 {
		t.Errorf("GC percent %d with GOGC set, want 77", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 5<<30 {
		t.Errorf("memory limit %d with GOMEMLIMIT set, want %d", got, int64(5<<30))
	}
}

func TestShouldRelease(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		free, objects, allocated uint64
		want                     bool
	}{
		{free: 10 * mib, objects: 1 * mib, want: false},                       // small: not worth a collection
		{free: 100 * mib, objects: 150 * mib, want: false},                    // within what GOGC 50 keeps
		{free: 300 * mib, objects: 150 * mib, allocated: 5 * mib, want: true}, // a burst's leftovers
		{free: 64 * mib, objects: 10 * mib, want: true},
		{free: 300 * mib, objects: 150 * mib, allocated: 400 * mib, want: false}, // the burst goes on
	} {
		if got := shouldRelease(c.free, c.objects, c.allocated); got != c.want {
			t.Errorf("shouldRelease(%d MiB free, %d MiB objects, %d MiB allocated) = %v, want %v",
				c.free/mib, c.objects/mib, c.allocated/mib, got, c.want)
		}
	}
}

// TestReleaseAfterBursts frees a burst of 256 MiB and checks that the janitor hands it back to
// the system within a few of its rounds, as the runtime's own scavenger would not.
func TestReleaseAfterBursts(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 256 MiB")
	}
	released := func() int64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		return int64(s[0].Value.Uint64())
	}
	burst := make([][]byte, 256)
	for i := range burst {
		burst[i] = make([]byte, 1<<20)
		burst[i][0] = 1
	}
	runtime.KeepAlive(burst)
	burst = nil
	runtime.GC() // the burst is now free heap memory, most of it not yet released
	before := released()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go releaseAfterBursts(ctx, slog.New(slog.DiscardHandler))
	// One round of the janitor; the runtime's scavenger alone returns far less in that time.
	wait := releaseEvery + 2*time.Second
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if released()-before >= 200<<20 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("released %d MiB within %s, want at least 200 MiB", (released()-before)>>20, wait)
}

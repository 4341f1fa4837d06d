package main

import (
	"errors"
	"log/slog"
	"runtime/debug"
	"testing"
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

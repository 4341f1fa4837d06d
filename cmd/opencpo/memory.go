package main

import (
	"context"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Memory defaults of serve (docs/benchmarks.md, "Memory settings"). Both give way to the
// GOGC and GOMEMLIMIT environment variables.
const (
	// defaultGCPercent: the heap may grow by half its live size between collections instead of
	// doubling. The server's live heap is mostly long-lived per-connection state, so this costs
	// little GC work and keeps RSS per idle connection down.
	defaultGCPercent = 50
	// memLimitShare of a container's memory limit (cgroup v2 memory.max) becomes the soft
	// memory limit, so that the GC works harder before the kernel's OOM killer steps in.
	memLimitShare = 0.9
)

// applyMemoryDefaults sets the GC percentage and, inside a memory-limited cgroup, a soft memory
// limit, unless the environment sets them. cgroupMax is the content of memory.max.
func applyMemoryDefaults(getenv func(string) string, cgroupMax func() (string, error), log *slog.Logger) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if getenv("GOMEMLIMIT") != "" {
		return
	}
	raw, err := cgroupMax()
	if err != nil {
		return // not in a cgroup v2 with a memory controller: no limit
	}
	if limit, ok := memoryLimit(raw); ok {
		debug.SetMemoryLimit(limit)
		log.Info("soft memory limit from the cgroup", "bytes", limit)
	}
}

// memoryLimit turns memory.max ("max" or a byte count) into a soft limit.
func memoryLimit(raw string) (int64, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "max" {
		return 0, false
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n <= 0 || n == math.MaxInt64 {
		return 0, false
	}
	return int64(float64(n) * memLimitShare), true
}

// cgroupMemoryMax reads this process's cgroup v2 memory limit.
func cgroupMemoryMax() (string, error) {
	b, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	return string(b), err
}

// stackGODEBUG turns off adaptivestackstart for serve. With it on (the default), new goroutines
// start with the average stack size the last GC saw; under a connection storm that is the size
// of readers deep in handlers and SQLite (8 KiB), and a station reader started at 8 KiB parks
// using just over a quarter of it, so the GC never shrinks it: every idle connection keeps
// 8 KiB of stack instead of 4 KiB. Measured with opencpo bench fleet-15k --stations 3000:
// stacks 9.0 → 4.3 KiB per idle connection, RSS 31.3 → 23.2 KiB (docs/benchmarks.md).
const stackGODEBUG = "adaptivestackstart=0"

// reexecWithStackDefault re-executes the process (same PID, same arguments) with stackGODEBUG
// added to GODEBUG, because the runtime reads that setting only at start-up and //go:debug does
// not accept it. It does nothing when GODEBUG already mentions adaptivestackstart (so an
// operator can choose otherwise) or when the executable cannot be found; it returns only then.
func reexecWithStackDefault() {
	env := os.Getenv("GODEBUG")
	if strings.Contains(env, "adaptivestackstart=") {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	if env != "" {
		env += ","
	}
	environ := []string{"GODEBUG=" + env + stackGODEBUG}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			environ = append(environ, kv)
		}
	}
	_ = syscall.Exec(exe, os.Args, environ) // on success it does not return
}

// Memory release after bursts (releaseAfterBursts).
const (
	// releaseEvery is how often the heap's idle memory is looked at.
	releaseEvery = 5 * time.Second
	// releaseMinFree: less idle memory than this is not worth a forced collection.
	releaseMinFree = 64 << 20
	// releaseGap is the least time between two forced releases, so that a server whose heap
	// swings all the time pays for at most one extra collection per gap.
	releaseGap = 30 * time.Second
)

// releaseAfterBursts returns the heap memory that a burst left idle (a connection storm or a
// mass reconnect: thousands of handshakes and first messages in flight at once) to the operating
// system within seconds. The runtime's background scavenger does the same, but paced at about
// 1 % of a CPU: after 15,000 stations reconnected it kept ~300 MiB for minutes, on top of the
// ~150 MiB the connections need (docs/benchmarks.md, "Memory after a connection storm").
// It runs until ctx ends.
func releaseAfterBursts(ctx context.Context, log *slog.Logger) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}, {Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/allocs:bytes"}}
	tick := time.NewTicker(releaseEvery)
	defer tick.Stop()
	var last time.Time
	metrics.Read(samples)
	allocs := samples[2].Value.Uint64()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			metrics.Read(samples)
			free, objects := samples[0].Value.Uint64(), samples[1].Value.Uint64()
			allocated := samples[2].Value.Uint64() - allocs
			allocs = samples[2].Value.Uint64()
			if !shouldRelease(free, objects, allocated) || now.Sub(last) < releaseGap {
				continue
			}
			last = now
			debug.FreeOSMemory()
			metrics.Read(samples)
			log.Debug("memory left idle by a burst returned to the system",
				"idleBefore", free, "idleAfter", samples[0].Value.Uint64(), "heapObjects", objects)
		}
	}
}

// shouldRelease reports whether the heap's idle (free, not yet returned) memory is more than a
// burst's leftovers would explain: above releaseMinFree and above the live heap, which is twice
// the headroom the GC keeps at the default GOGC of 50. allocated is what the program allocated
// since the last look: while that is a good part of the idle memory the burst is still going
// on (a connection storm in progress), and what was released would be taken back at once.
func shouldRelease(free, objects, allocated uint64) bool {
	return free >= releaseMinFree && free > objects && allocated < free/4
}

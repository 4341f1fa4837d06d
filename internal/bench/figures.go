package bench

import (
	"context"
	"time"
)

// ServerFigures are one server process's memory and CPU figures: the server of fleet-15k, or
// one node of cluster-45k.
type ServerFigures struct {
	Name string `json:"name"`
	// Held is the number of stations connected to it while idle.
	Held          int     `json:"held"`
	RSSBeforeKiB  int64   `json:"rssBeforeKiB"`
	RSSIdleKiB    int64   `json:"rssIdleKiB"`
	RSSPerConnKiB float64 `json:"rssPerConnKiB"`
	// Go heap and goroutine stacks in use per connection (from /metrics), for the profile.
	HeapPerConnKiB  float64 `json:"heapPerConnKiB"`
	StackPerConnKiB float64 `json:"stackPerConnKiB"`
	// LiveHeapPerConnKiB estimates the live heap per connection: the growth of the next GC's
	// heap goal divided by 1 + GOGC/100, which leaves out garbage of the connect storm not yet
	// collected.
	LiveHeapPerConnKiB float64 `json:"liveHeapPerConnKiB"`
	IdleCPUPct         float64 `json:"idleCpuPct"`   // % of one core, all stations idle
	SteadyCPUPct       float64 `json:"steadyCpuPct"` // during the steady phase

	heap0, stack0, goal0 int64
}

// before records the process's memory before any station connects.
func (f *ServerFigures) before(ctx context.Context, s *serverProc) error {
	var err error
	if f.RSSBeforeKiB, err = rssKiB(s.pid()); err != nil {
		return err
	}
	f.heap0, f.stack0, f.goal0, _, err = goMemory(ctx, s.addr)
	return err
}

// idle records the process's memory with held idle connections.
func (f *ServerFigures) idle(ctx context.Context, s *serverProc, held int) {
	f.Held = held
	f.RSSIdleKiB, _ = rssKiB(s.pid())
	if held == 0 {
		return
	}
	n := float64(held)
	f.RSSPerConnKiB = float64(f.RSSIdleKiB-f.RSSBeforeKiB) / n
	if heap1, stack1, goal1, gogc, err := goMemory(ctx, s.addr); err == nil {
		f.HeapPerConnKiB = float64(heap1-f.heap0) / 1024 / n
		f.LiveHeapPerConnKiB = float64(goal1-f.goal0) / (1 + gogc/100) / 1024 / n
		f.StackPerConnKiB = float64(stack1-f.stack0) / 1024 / n
	}
}

func (f *ServerFigures) round() {
	f.RSSPerConnKiB = round(f.RSSPerConnKiB, 100)
	f.HeapPerConnKiB = round(f.HeapPerConnKiB, 100)
	f.StackPerConnKiB = round(f.StackPerConnKiB, 100)
	f.LiveHeapPerConnKiB = round(f.LiveHeapPerConnKiB, 100)
	f.IdleCPUPct = round(f.IdleCPUPct, 10)
	f.SteadyCPUPct = round(f.SteadyCPUPct, 10)
}

// measureCPU waits d and returns the CPU each process used meanwhile, in % of one core.
func measureCPU(ctx context.Context, procs []*serverProc, d time.Duration) ([]float64, error) {
	cpu0 := make([]float64, len(procs))
	for i, s := range procs {
		cpu0[i], _ = cpuSeconds(s.pid())
	}
	t0 := time.Now()
	if err := sleep(ctx, d); err != nil {
		return nil, err
	}
	el := time.Since(t0).Seconds()
	pct := make([]float64, len(procs))
	for i, s := range procs {
		cpu1, _ := cpuSeconds(s.pid())
		pct[i] = 100 * (cpu1 - cpu0[i]) / el
	}
	return pct, nil
}

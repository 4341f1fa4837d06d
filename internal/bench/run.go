package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencpo/opencpo/internal/sim"
)

// Options configure a run of the fleet-15k scenario.
type Options struct {
	// Exe and Env start the opencpo binary: Exe serve … runs the server, Exe WorkerArgs…
	// a load process (the caller's WorkerArgs function builds the arguments).
	Exe        string
	Env        []string
	WorkerArgs func(cfgJSON string) []string

	Stations      int           // charge points (2 EVSEs each)
	LoadProcs     int           // load processes
	Steady        time.Duration // steady-state measurement
	Idle          time.Duration // idle CPU measurement
	StressStep    time.Duration // length of one stress-ramp step
	StressStart   float64       // first stress rate (calls/s on top of the mix)
	StressMax     int           // most stress steps
	TimeScale     float64       // simulated seconds per real second
	RampUp        time.Duration // spread of the first connections (0: all at once)
	StressConns   int           // stress connections per load process
	SkipKill      bool
	Dir           string        // working directory (database, logs); a temporary one when empty
	Progress      io.Writer     // progress lines (nil: none)
	ChargingShare float64       // share of EVSEs charging in the realistic mix
	Settle        time.Duration // quiet time before the idle and kill phases
	ProfileDir    string        // where the server's CPU and heap profiles go ("": not taken)
}

func (o *Options) defaults() {
	if o.Stations <= 0 {
		o.Stations = 15000
	}
	if o.LoadProcs <= 0 {
		o.LoadProcs = 4
	}
	o.LoadProcs = min(o.LoadProcs, o.Stations)
	if o.Steady <= 0 {
		o.Steady = 60 * time.Second
	}
	if o.Idle <= 0 {
		o.Idle = 20 * time.Second
	}
	if o.StressStep <= 0 {
		o.StressStep = 10 * time.Second
	}
	if o.StressStart <= 0 {
		o.StressStart = 1000
	}
	if o.StressMax <= 0 {
		o.StressMax = 10
	}
	if o.TimeScale <= 0 {
		o.TimeScale = 1
	}
	if o.StressConns <= 0 {
		o.StressConns = min(250, max(10, 1000/o.LoadProcs))
	}
	if o.ChargingShare <= 0 {
		o.ChargingShare = 0.3
	}
	if o.Settle <= 0 {
		o.Settle = 5 * time.Second
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

const (
	p99Target      = 20 * time.Millisecond
	stressP99Limit = 5 * time.Second // the stress ramp stops past this p99 even while throughput rises
	heartbeatEvery = 60 * time.Second
	meterEvery     = 30 * time.Second
	sessionLength  = 45 * time.Minute
	apiToken       = "bench-token-0123456789abcdef"
)

// coordinator holds the processes of one run.
type coordinator struct {
	o       Options
	dir     string
	db      string
	addr    string
	debug   string // the server's profiler address, when profiles are taken
	server  *exec.Cmd
	srvDone chan error
	workers []*workerProc
	res     *Result
}

type workerProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	done chan error
	mu   sync.Mutex
}

// ask sends one command and decodes its answer.
func (w *workerProc) ask(cmd string, v any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := io.WriteString(w.in, cmd+"\n"); err != nil {
		return fmt.Errorf("load process: %s: %w", cmd, err)
	}
	if !w.out.Scan() {
		return fmt.Errorf("load process ended during %q: %v", cmd, w.out.Err())
	}
	line := w.out.Bytes()
	var e struct{ Error string }
	if json.Unmarshal(line, &e) == nil && e.Error != "" {
		return fmt.Errorf("load process: %s: %s", cmd, e.Error)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(line, v)
}

// all runs one command on every worker in parallel.
func (c *coordinator) all(cmd func(i int) string, out func(i int) any) error {
	errs := make([]error, len(c.workers))
	var wg sync.WaitGroup
	for i, w := range c.workers {
		wg.Go(func() {
			var v any
			if out != nil {
				v = out(i)
			}
			errs[i] = w.ask(cmd(i), v)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func same(s string) func(int) string { return func(int) string { return s } }

func (c *coordinator) logf(format string, args ...any) {
	fmt.Fprintf(c.o.Progress, "bench: %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// Run runs the fleet-15k scenario and returns every figure.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	c := &coordinator{o: o, res: newResult(o)}
	c.dir = o.Dir
	if c.dir == "" {
		d, err := os.MkdirTemp("", "opencpo-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		c.dir = d
	}
	c.db = filepath.Join(c.dir, "opencpo.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c.addr = ln.Addr().String()
	ln.Close()
	if o.ProfileDir != "" {
		if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
			return nil, err
		}
		if c.debug, err = freeLoopbackAddr(); err != nil {
			return nil, err
		}
	}
	defer c.cleanup()
	if err := c.run(ctx); err != nil {
		return c.res, err
	}
	return c.res, nil
}

func (c *coordinator) cleanup() {
	// The load processes have nothing left to report: a polite close of thousands of
	// simulated connections would only make the user wait.
	for _, w := range c.workers {
		_ = w.in.Close()
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	c.workers = nil
	if c.server != nil {
		_ = c.server.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.srvDone:
		case <-time.After(15 * time.Second):
			_ = c.server.Process.Kill()
			<-c.srvDone
		}
		c.server = nil
	}
}

// startServer starts `serve` on the run's database and address and waits until it listens.
func (c *coordinator) startServer(ctx context.Context) error {
	logf, err := os.OpenFile(filepath.Join(c.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.o.Exe, "serve", "--addr", c.addr, "--db", c.db, "--api-token", apiToken,
		"--unknown-stations", "accept", "--heartbeat-interval", heartbeatEvery.String(), "--log-level", "warn")
	if c.debug != "" {
		cmd.Args = append(cmd.Args, "--debug-addr", c.debug)
	}
	cmd.Env = c.o.Env
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := false
		for sc.Scan() {
			if !once && strings.HasPrefix(sc.Text(), "OpenCPO listening on") {
				once = true
				close(ready)
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logf.Close() }()
	select {
	case <-ready:
	case err := <-done:
		return fmt.Errorf("server exited at start (%v); see %s", err, filepath.Join(c.dir, "server.log"))
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return errors.New("server did not start within 60s")
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		return ctx.Err()
	}
	c.server, c.srvDone = cmd, done
	return nil
}

func (c *coordinator) startWorkers() error {
	n, procs := c.o.Stations, c.o.LoadProcs
	first := 1
	const ipsPerProc = 4
	for i := range procs {
		count := n / procs
		if i < n%procs {
			count++
		}
		var ips []string
		for j := range ipsPerProc {
			k := 2 + i*ipsPerProc + j // 127.0.0.2 … : one ephemeral port range per address
			ips = append(ips, fmt.Sprintf("127.0.%d.%d", k/250, 1+k%250))
		}
		cfg := WorkerConfig{
			Index: i, URL: "ws://" + c.addr + "/ocpp", IDPrefix: "BENCH", FirstNumber: first, Stations: count,
			EVSEs: 2, Seed: int64(1 + i), TimeScale: c.o.TimeScale, MeterInterval: meterEvery, MeanStay: sessionLength,
			RampUp: c.o.RampUp, ReconnectMin: 100 * time.Millisecond, ReconnectMax: 2 * time.Second,
			CallTimeout: 30 * time.Second, SourceIPs: ips, StressConns: c.o.StressConns,
		}
		if cfg.RampUp == 0 {
			cfg.RampUp = -1
		}
		first += count
		b, _ := json.Marshal(cfg)
		cmd := exec.Command(c.o.Exe, c.o.WorkerArgs(string(b))...)
		cmd.Env = c.o.Env
		logf, err := os.Create(filepath.Join(c.dir, fmt.Sprintf("load-%d.log", i)))
		if err != nil {
			return err
		}
		cmd.Stderr = logf
		in, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		w := &workerProc{cmd: cmd, in: in, out: sc, done: make(chan error, 1)}
		go func() { w.done <- cmd.Wait(); logf.Close() }()
		c.workers = append(c.workers, w)
	}
	return nil
}

// totals sums the workers' counters.
func (c *coordinator) totals() (workerStats, error) {
	sts := make([]workerStats, len(c.workers))
	err := c.all(same("stats"), func(i int) any { return &sts[i] })
	var t workerStats
	for _, s := range sts {
		t.Connected += s.Connected
		t.Online += s.Online
		t.Queued += s.Queued
		t.Sent += s.Sent
		t.Acked += s.Acked
		t.Timeouts += s.Timeouts
		t.Errors += s.Errors
		t.Stress += s.Stress
	}
	return t, err
}

// waitConnected polls until every station is connected and accepted, and returns how long
// that took from start.
func (c *coordinator) waitConnected(ctx context.Context, start time.Time, limit time.Duration) (time.Duration, error) {
	deadline := start.Add(limit)
	lastLog := time.Now()
	for {
		t, err := c.totals()
		if err != nil {
			return 0, err
		}
		if t.Connected >= c.o.Stations {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("only %d of %d stations connected after %s", t.Connected, c.o.Stations, limit)
		}
		if time.Since(lastLog) > 5*time.Second {
			c.logf("%d/%d connected", t.Connected, c.o.Stations)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// phase closes the current measurement phase on every worker and merges it; an empty name
// discards it.
func (c *coordinator) phase(name string) (PhaseResult, error) {
	reps := make([]phaseReport, len(c.workers))
	err := c.all(same("phase"), func(i int) any { return &reps[i] })
	var h Hist
	byAction := map[string]*Hist{}
	p := PhaseResult{Name: name}
	for _, r := range reps {
		h.Merge(r.Hist)
		for a, ah := range r.ByAction {
			if byAction[a] == nil {
				byAction[a] = &Hist{}
			}
			byAction[a].Merge(*ah)
		}
		p.Calls += r.Calls
		p.DurableCalls += r.Durable
		p.Errors += r.Errors
		p.Seconds = max(p.Seconds, r.Seconds)
	}
	p.fill(&h)
	for a, ah := range byAction {
		if p.ByAction == nil {
			p.ByAction = map[string]ActionLatency{}
		}
		p.ByAction[a] = ActionLatency{Calls: ah.N, P50Ms: ms(ah.Quantile(0.5)), P99Ms: ms(ah.Quantile(0.99)), MaxMs: ms(time.Duration(ah.Max) * time.Microsecond)}
	}
	if name != "" && err == nil {
		c.res.Phases = append(c.res.Phases, p)
	}
	return p, err
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func (c *coordinator) run(ctx context.Context) error {
	o, r := c.o, c.res
	c.logf("server: %s, database %s", c.addr, c.db)
	if err := c.startServer(ctx); err != nil {
		return err
	}
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	if err := c.createTokens(ctx); err != nil {
		return err
	}
	pid := c.server.Process.Pid
	var err error
	if r.RSSBeforeKiB, err = rssKiB(pid); err != nil {
		return err
	}
	heap0, stack0, goal0, _, err := goMemory(ctx, c.addr)
	if err != nil {
		return err
	}

	// Connect storm.
	c.logf("connect storm: %d stations from %d load processes", o.Stations, o.LoadProcs)
	start := time.Now()
	if err := c.startWorkers(); err != nil {
		return err
	}
	limit := max(60*time.Second, time.Duration(o.Stations)*10*time.Millisecond)
	d, err := c.waitConnected(ctx, start, limit)
	if err != nil {
		return fmt.Errorf("connect storm: %w", err)
	}
	r.ConnectStormS = d.Seconds()
	r.ConnectionsHeld = o.Stations
	c.logf("all %d connected in %.1fs", o.Stations, d.Seconds())
	if _, err := c.phase("connect"); err != nil {
		return err
	}

	// Idle: all connected, no EV anywhere; heartbeats only.
	if err := sleep(ctx, o.Settle); err != nil {
		return err
	}
	if _, err := c.phase(""); err != nil {
		return err
	}
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := sleep(ctx, o.Idle); err != nil {
		return err
	}
	cpu1, _ := cpuSeconds(pid)
	r.IdleCPUPct = 100 * (cpu1 - cpu0) / time.Since(t0).Seconds()
	c.profileHeap(ctx, "idle")
	r.RSSIdleKiB, _ = rssKiB(pid)
	r.RSSPerConnKiB = float64(r.RSSIdleKiB-r.RSSBeforeKiB) / float64(o.Stations)
	if heap1, stack1, goal1, gogc, err := goMemory(ctx, c.addr); err == nil {
		r.HeapPerConnKiB = float64(heap1-heap0) / 1024 / float64(o.Stations)
		r.LiveHeapPerConnKiB = float64(goal1-goal0) / (1 + gogc/100) / 1024 / float64(o.Stations)
		r.StackPerConnKiB = float64(stack1-stack0) / 1024 / float64(o.Stations)
	}
	if _, err := c.phase("idle"); err != nil {
		return err
	}
	c.logf("idle: server CPU %.1f %% of a core, RSS %d KiB (%.2f KiB per connection; Go heap %.2f (live ≈ %.2f) + stacks %.2f KiB)",
		r.IdleCPUPct, r.RSSIdleKiB, r.RSSPerConnKiB, r.HeapPerConnKiB, r.LiveHeapPerConnKiB, r.StackPerConnKiB)

	// Steady state: the realistic mix.
	c.logf("steady: %g %% of EVSEs charging (warm-up %s)", 100*o.ChargingShare, c.warmup())
	if err := c.all(same(fmt.Sprintf("charge %g", o.ChargingShare)), nil); err != nil {
		return err
	}
	if err := sleep(ctx, c.warmup()); err != nil {
		return err
	}
	if _, err := c.phase(""); err != nil {
		return err
	}
	cpu0, _ = cpuSeconds(pid)
	t0 = time.Now()
	waitProfile := c.profileCPU(ctx, "steady", o.Steady)
	if err := sleep(ctx, o.Steady); err != nil {
		return err
	}
	cpu1, _ = cpuSeconds(pid)
	waitProfile()
	r.SteadyCPUPct = 100 * (cpu1 - cpu0) / time.Since(t0).Seconds()
	steady, err := c.phase("steady")
	if err != nil {
		return err
	}
	c.logf("steady: %.0f calls/s, p99 %.2f ms", steady.CallsPerS, steady.P99Ms)

	// Stress ramp.
	if err := c.stress(ctx); err != nil {
		return err
	}

	// Mass reconnect.
	if err := sleep(ctx, c.o.Settle); err != nil {
		return err
	}
	if _, err := c.phase(""); err != nil {
		return err
	}
	c.logf("mass disconnect")
	start = time.Now()
	if err := c.all(same("drop"), nil); err != nil {
		return err
	}
	d, err = c.waitConnected(ctx, start, limit)
	if err != nil {
		return fmt.Errorf("mass reconnect: %w", err)
	}
	r.ReconnectS = d.Seconds()
	if _, err := c.phase("reconnect"); err != nil {
		return err
	}
	c.logf("all %d back in %.1fs", o.Stations, d.Seconds())

	if !o.SkipKill {
		if err := c.kill(ctx, limit); err != nil {
			return err
		}
	}
	r.KillSkipped = o.SkipKill
	r.finish()
	return nil
}

// warmup lets the first EVs plug in (spread over a meter interval) and start charging.
func (c *coordinator) warmup() time.Duration {
	return time.Duration(float64(meterEvery)/c.o.TimeScale) + 2*c.o.Settle
}

// stress ramps extra durable load on top of the mix, ×1.5 per step, and finds two knees: the
// latency knee (the last step with p99 ≤ 20 ms) and the throughput knee (where durable calls/s
// stop growing with the offered rate). It keeps ramping past the latency knee until throughput
// saturates, a step has errors, p99 passes stressP99Limit, or the steps run out.
func (c *coordinator) stress(ctx context.Context) error {
	o, r := c.o, c.res
	rate := o.StressStart
	var prev float64
	for step := 1; step <= o.StressMax; step++ {
		per := rate / float64(len(c.workers))
		if err := c.all(same(fmt.Sprintf("stress %g", per)), nil); err != nil {
			return fmt.Errorf("stress: %w", err)
		}
		if err := sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		if _, err := c.phase(""); err != nil {
			return err
		}
		waitProfile := c.profileCPU(ctx, fmt.Sprintf("stress-%d", step), o.StressStep)
		if err := sleep(ctx, o.StressStep); err != nil {
			return err
		}
		waitProfile()
		p, err := c.phase(fmt.Sprintf("stress-%d", step))
		if err != nil {
			return err
		}
		s := StressStep{Step: step, ExtraRate: rate, CallsPerS: p.CallsPerS, DurablePerS: p.DurablePerS, P50Ms: p.P50Ms, P99Ms: p.P99Ms, P999Ms: p.P999Ms, Errors: p.Errors}
		r.Stress = append(r.Stress, s)
		c.logf("stress step %d: +%.0f/s asked, %.0f calls/s (%.0f durable), p99 %.2f ms, %d errors", step, rate, p.CallsPerS, p.DurablePerS, p.P99Ms, p.Errors)
		if p.DurablePerS > r.MaxDurablePerS {
			r.MaxDurablePerS, r.MaxDurableP99Ms, r.MaxDurableStep = p.DurablePerS, p.P99Ms, step
		}
		r.MaxCallsPerS = max(r.MaxCallsPerS, p.CallsPerS)
		if r.KneeReason == "" {
			if p.P99Ms <= float64(p99Target)/1e6 {
				r.KneeCallsPerS, r.KneeDurablePerS, r.KneeP99Ms = p.CallsPerS, p.DurablePerS, p.P99Ms
			} else {
				r.KneeReason = fmt.Sprintf("p99 %.1f ms > 20 ms at step %d", p.P99Ms, step)
			}
		}
		switch {
		case p.Errors > 0:
			r.SaturationReason = fmt.Sprintf("%d errors at step %d", p.Errors, step)
		case prev > 0 && p.DurablePerS < prev*1.05:
			r.SaturationReason = fmt.Sprintf("durable calls/s stopped rising at step %d (%.0f/s after %.0f/s)", step, p.DurablePerS, prev)
		case p.P99Ms > float64(stressP99Limit)/1e6:
			r.SaturationReason = fmt.Sprintf("p99 %.0f ms > %s at step %d", p.P99Ms, stressP99Limit, step)
		}
		if r.SaturationReason != "" {
			break
		}
		prev = p.DurablePerS
		rate *= 1.5
	}
	if r.KneeReason == "" {
		r.KneeReason = "p99 stayed ≤ 20 ms at every step"
	}
	if r.SaturationReason == "" {
		r.SaturationReason = "still rising at the last step (more --stress-steps)"
	}
	return c.all(same("stress 0"), nil)
}

// kill kills the server with SIGKILL under the realistic mix, restarts it on the same
// database and checks that every acknowledged transaction message is in the ledger.
func (c *coordinator) kill(ctx context.Context, limit time.Duration) error {
	r := c.res
	if err := sleep(ctx, c.o.Settle); err != nil {
		return err
	}
	c.logf("kill -9 of the server")
	_ = c.server.Process.Signal(syscall.SIGKILL)
	<-c.srvDone
	c.server = nil
	start := time.Now()
	if err := c.startServer(ctx); err != nil {
		return fmt.Errorf("restart after kill: %w", err)
	}
	d, err := c.waitConnected(ctx, start, limit)
	if err != nil {
		return fmt.Errorf("after kill -9: %w", err)
	}
	r.KillRecoveryS = d.Seconds()
	// Let the stations' backlogs drain before counting (not needed for the check itself).
	for range 100 {
		t, err := c.totals()
		if err != nil {
			return err
		}
		if t.Queued == 0 {
			break
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	if _, err := c.phase("after-kill"); err != nil {
		return err
	}
	var files []string
	counts := make([]struct{ Acks int }, len(c.workers))
	err = c.all(func(i int) string {
		return "acks " + filepath.Join(c.dir, fmt.Sprintf("acks-%d.tsv", i))
	}, func(i int) any { return &counts[i] })
	if err != nil {
		return err
	}
	for i := range c.workers {
		files = append(files, filepath.Join(c.dir, fmt.Sprintf("acks-%d.tsv", i)))
	}
	acked, found, err := checkLedger(ctx, c.db, files)
	if err != nil {
		return err
	}
	r.Acked, r.Found = acked, found
	c.logf("after kill -9: %d acknowledged transaction messages, %d found in the store; all back in %.1fs", acked, found, d.Seconds())
	return nil
}

// Machine describes where the run happened.
type Machine struct {
	CPUs   int     `json:"cpus"`
	MemGiB float64 `json:"memGiB"`
	Go     string  `json:"go"`
}

func thisMachine() Machine {
	return Machine{CPUs: runtime.NumCPU(), MemGiB: float64(int(memTotalGiB()*10)) / 10, Go: runtime.Version()}
}

// createTokens registers the RFID cards the simulated drivers tap, through the REST API.
func (c *coordinator) createTokens(ctx context.Context) error {
	for _, uid := range sim.DefaultTokens() {
		body, _ := json.Marshal(map[string]string{"uid": uid})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.addr+"/api/v1/tokens", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("create tokens: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
			return fmt.Errorf("create tokens: POST /api/v1/tokens answered %s", resp.Status)
		}
	}
	return nil
}

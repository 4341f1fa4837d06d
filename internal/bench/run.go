package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"
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
	StressMax     int           // most stress steps (0: no stress ramp)
	TimeScale     float64       // simulated seconds per real second
	RampUp        time.Duration // spread of the first connections (0: all at once)
	StressConns   int           // stress connections per load process
	SkipKill      bool
	Dir           string        // working directory (database, logs); a temporary one when empty
	Progress      io.Writer     // progress lines (nil: none)
	ChargingShare float64       // share of EVSEs charging in the realistic mix
	Settle        time.Duration // quiet time before the idle and kill phases
	ProfileDir    string        // fleet-15k: where the server's CPU and heap profiles go ("": none)
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
	o.StressMax = max(o.StressMax, 0) // 0: no stress ramp
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

// coordinator holds the processes of one fleet-15k run.
type coordinator struct {
	*fleetLoad
	o      Options
	db     string
	server *serverProc
	res    *Result
}

// Run runs the fleet-15k scenario and returns every figure.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	c := &coordinator{o: o, res: newResult(o)}
	c.fleetLoad = &fleetLoad{o: &c.o, dir: o.Dir, phases: &c.res.Phases}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "opencpo-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		c.dir = d
	}
	c.db = filepath.Join(c.dir, "opencpo.db")
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	c.server = &serverProc{name: "server", addr: addr, log: filepath.Join(c.dir, "server.log"),
		args: []string{"--addr", addr, "--db", c.db, "--api-token", apiToken, "--unknown-stations", "accept",
			"--heartbeat-interval", heartbeatEvery.String(), "--log-level", "warn"}}
	if o.ProfileDir != "" {
		if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
			return nil, err
		}
		debug, err := freeAddr()
		if err != nil {
			return nil, err
		}
		c.server.args = append(c.server.args, "--debug-addr", debug)
		c.profile = &profiler{addr: debug, dir: o.ProfileDir, logf: c.logf}
	}
	defer c.cleanup()
	if err := c.run(ctx); err != nil {
		return c.res, err
	}
	return c.res, nil
}

func (c *coordinator) cleanup() {
	c.stop()
	c.server.stop()
}

func (c *coordinator) run(ctx context.Context) error {
	o, r := c.o, c.res
	c.logf("server: %s, database %s", c.server.addr, c.db)
	if err := c.server.start(ctx, o.Exe, o.Env); err != nil {
		return err
	}
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	if err := createTokens(ctx, c.server.addr); err != nil {
		return err
	}
	if err := r.ServerFigures.before(ctx, c.server); err != nil {
		return err
	}

	// Connect storm.
	c.logf("connect storm: %d stations from %d load processes", o.Stations, o.LoadProcs)
	d, err := c.connectStorm(ctx, "ws://"+c.server.addr+"/ocpp", nil, 0)
	if err != nil {
		return err
	}
	r.ConnectStormS, r.ConnectionsHeld = d.Seconds(), o.Stations

	// Idle: all connected, no EV anywhere; heartbeats only.
	cpu, err := measureCPU(ctx, []*serverProc{c.server}, o.Idle)
	if err != nil {
		return err
	}
	r.IdleCPUPct = cpu[0]
	r.ServerFigures.idle(ctx, c.server, o.Stations)
	c.profile.heap(ctx, "idle")
	if _, err := c.phase("idle"); err != nil {
		return err
	}
	c.logf("idle: server CPU %.1f %% of a core, RSS %d KiB (%.2f KiB per connection; Go heap %.2f (live ≈ %.2f) + stacks %.2f KiB)",
		r.IdleCPUPct, r.RSSIdleKiB, r.RSSPerConnKiB, r.HeapPerConnKiB, r.LiveHeapPerConnKiB, r.StackPerConnKiB)

	// Steady state: the realistic mix.
	if err := c.startMix(ctx); err != nil {
		return err
	}
	waitProfile := c.profile.cpu(ctx, "steady", o.Steady)
	if cpu, err = measureCPU(ctx, []*serverProc{c.server}, o.Steady); err != nil {
		return err
	}
	waitProfile()
	r.SteadyCPUPct = cpu[0]
	steady, err := c.phase("steady")
	if err != nil {
		return err
	}
	c.logf("steady: %.0f calls/s, p99 %.2f ms", steady.CallsPerS, steady.P99Ms)

	// Stress ramp.
	if err := c.stressRamp(ctx, &r.StressSummary); err != nil {
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
	limit := connectLimit(o.Stations)
	start := time.Now()
	// The first 15 s of the reconnect, the time the target allows.
	waitProfile = c.profile.cpu(ctx, "reconnect", 15*time.Second)
	if err := c.all(same("drop"), nil); err != nil {
		return err
	}
	d, err = c.waitConnected(ctx, start, limit, o.Stations)
	waitProfile()
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

// connectLimit is how long a connect storm of n stations may take before the run fails.
func connectLimit(n int) time.Duration {
	return max(60*time.Second, time.Duration(n)*10*time.Millisecond)
}

// kill kills the server with SIGKILL under the realistic mix, restarts it on the same
// database and checks that every acknowledged transaction message is in the ledger.
func (c *coordinator) kill(ctx context.Context, limit time.Duration) error {
	r := c.res
	if err := sleep(ctx, c.o.Settle); err != nil {
		return err
	}
	c.logf("kill -9 of the server")
	c.server.kill()
	start := time.Now()
	if err := c.server.start(ctx, c.o.Exe, c.o.Env); err != nil {
		return fmt.Errorf("restart after kill: %w", err)
	}
	d, err := c.waitConnected(ctx, start, limit, c.o.Stations)
	if err != nil {
		return fmt.Errorf("after kill -9: %w", err)
	}
	r.KillRecoveryS = d.Seconds()
	// Let the stations' backlogs drain before counting (not needed for the check itself).
	if err := c.drain(ctx); err != nil {
		return err
	}
	if _, err := c.phase("after-kill"); err != nil {
		return err
	}
	files, err := c.writeAcks()
	if err != nil {
		return err
	}
	acked, found, err := checkLedgerSQLite(ctx, c.db, files)
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

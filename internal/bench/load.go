package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/opencpo/opencpo/internal/sim"
)

// fleetLoad is the load side of a run, the same for every scenario: the load processes that
// simulate the fleet, the commands they take, and the phases measured from their answers.
type fleetLoad struct {
	o       *Options
	dir     string
	workers []*workerProc
	phases  *[]PhaseResult // named phases are appended here
	profile *profiler      // the server's profiles of the stress steps (nil: none)
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
func (l *fleetLoad) all(cmd func(i int) string, out func(i int) any) error {
	errs := make([]error, len(l.workers))
	var wg sync.WaitGroup
	for i, w := range l.workers {
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

func (l *fleetLoad) logf(format string, args ...any) {
	fmt.Fprintf(l.o.Progress, "bench: %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// stationsOf is how many of the fleet's stations load process i simulates.
func (l *fleetLoad) stationsOf(i int) int {
	n, procs := l.o.Stations, l.o.LoadProcs
	count := n / procs
	if i < n%procs {
		count++
	}
	return count
}

// start starts the load processes; their stations connect to url, or, when nodes are given,
// through a nodeBalancer to those nodes with at most nodeShare connections per node from each
// process.
func (l *fleetLoad) start(url string, nodes []string, nodeShare int) error {
	first := 1
	const ipsPerProc = 4
	for i := range l.o.LoadProcs {
		count := l.stationsOf(i)
		var ips []string
		for j := range ipsPerProc {
			k := 2 + i*ipsPerProc + j // 127.0.0.2 … : one ephemeral port range per address
			ips = append(ips, fmt.Sprintf("127.0.%d.%d", k/250, 1+k%250))
		}
		cfg := WorkerConfig{
			Index: i, URL: url, IDPrefix: "BENCH", FirstNumber: first, Stations: count,
			EVSEs: 2, Seed: int64(1 + i), TimeScale: l.o.TimeScale, MeterInterval: meterEvery, MeanStay: sessionLength,
			RampUp: l.o.RampUp, ReconnectMin: 100 * time.Millisecond, ReconnectMax: 2 * time.Second,
			CallTimeout: 30 * time.Second, SourceIPs: ips, StressConns: l.o.StressConns,
			Nodes: nodes, NodeShare: nodeShare,
		}
		if cfg.RampUp == 0 {
			cfg.RampUp = -1
		}
		first += count
		b, _ := json.Marshal(cfg)
		cmd := exec.Command(l.o.Exe, l.o.WorkerArgs(string(b))...)
		cmd.Env = l.o.Env
		logf, err := os.Create(filepath.Join(l.dir, fmt.Sprintf("load-%d.log", i)))
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
		l.workers = append(l.workers, w)
	}
	if l.profile != nil {
		l.profile.load = l.workers[0]
	}
	return nil
}

// stop ends the load processes. They have nothing left to report: a polite close of thousands
// of simulated connections would only make the user wait.
func (l *fleetLoad) stop() {
	for _, w := range l.workers {
		_ = w.in.Close()
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	l.workers = nil
}

// totals sums the workers' counters.
func (l *fleetLoad) totals() (workerStats, error) {
	sts := make([]workerStats, len(l.workers))
	err := l.all(same("stats"), func(i int) any { return &sts[i] })
	var t workerStats
	for _, s := range sts {
		t.Connected += s.Connected
		t.Online += s.Online
		t.Connects += s.Connects
		t.Queued += s.Queued
		t.Sent += s.Sent
		t.Acked += s.Acked
		t.Timeouts += s.Timeouts
		t.Errors += s.Errors
		t.Stress += s.Stress
	}
	return t, err
}

// waitConnected polls until want stations are connected and accepted, and returns how long
// that took from start.
func (l *fleetLoad) waitConnected(ctx context.Context, start time.Time, limit time.Duration, want int) (time.Duration, error) {
	return l.waitReconnected(ctx, start, limit, want, 0)
}

// waitReconnected is waitConnected that also waits for the fleet to have opened at least
// connects connections in all, so that connections about to notice they were cut do not count.
func (l *fleetLoad) waitReconnected(ctx context.Context, start time.Time, limit time.Duration, want int, connects int64) (time.Duration, error) {
	deadline := start.Add(limit)
	lastLog := time.Now()
	for {
		t, err := l.totals()
		if err != nil {
			return 0, err
		}
		if t.Connected >= want && t.Connects >= connects {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("only %d of %d stations connected after %s", t.Connected, want, limit)
		}
		if time.Since(lastLog) > 5*time.Second {
			l.logf("%d/%d connected", t.Connected, want)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// drain waits up to 10 s for the stations' backlogs of unanswered messages to empty.
func (l *fleetLoad) drain(ctx context.Context) error {
	for range 100 {
		t, err := l.totals()
		if err != nil {
			return err
		}
		if t.Queued == 0 {
			return nil
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// phase closes the current measurement phase on every worker and merges it; a named phase is
// recorded, an empty name discards it.
func (l *fleetLoad) phase(name string) (PhaseResult, error) {
	reps := make([]phaseReport, len(l.workers))
	err := l.all(same("phase"), func(i int) any { return &reps[i] })
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
		*l.phases = append(*l.phases, p)
	}
	return p, err
}

// startMix plugs EVs into the configured share of EVSEs and waits out the warm-up (the first
// EVs plug in over a meter interval and start charging); the measurement starts afterwards.
func (l *fleetLoad) startMix(ctx context.Context) error {
	l.logf("steady: %g %% of EVSEs charging (warm-up %s)", 100*l.o.ChargingShare, l.warmup())
	if err := l.all(same(fmt.Sprintf("charge %g", l.o.ChargingShare)), nil); err != nil {
		return err
	}
	if err := sleep(ctx, l.warmup()); err != nil {
		return err
	}
	_, err := l.phase("")
	return err
}

func (l *fleetLoad) warmup() time.Duration {
	return time.Duration(float64(meterEvery)/l.o.TimeScale) + 2*l.o.Settle
}

// writeAcks has every load process write the transaction messages it saw acknowledged and
// returns the files.
func (l *fleetLoad) writeAcks() ([]string, error) {
	files := make([]string, len(l.workers))
	for i := range l.workers {
		files[i] = filepath.Join(l.dir, fmt.Sprintf("acks-%d.tsv", i))
	}
	counts := make([]struct{ Acks int }, len(l.workers))
	err := l.all(func(i int) string { return "acks " + files[i] }, func(i int) any { return &counts[i] })
	return files, err
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// createTokens registers the RFID cards the simulated drivers tap, through the REST API of the
// server at addr.
func createTokens(ctx context.Context, addr string) error {
	for _, uid := range sim.DefaultTokens() {
		body, _ := json.Marshal(map[string]string{"uid": uid})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/v1/tokens", bytes.NewReader(body))
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

// connectStorm starts the load processes against url (through the balancer over addrs when
// there are several nodes, share connections each), waits until every station is connected,
// records the "connect" phase and lets the fleet settle before the next one. It returns how
// long the storm took.
func (l *fleetLoad) connectStorm(ctx context.Context, url string, addrs []string, share int) (time.Duration, error) {
	start := time.Now()
	if err := l.start(url, addrs, share); err != nil {
		return 0, err
	}
	d, err := l.waitConnected(ctx, start, connectLimit(l.o.Stations), l.o.Stations)
	if err != nil {
		return 0, fmt.Errorf("connect storm: %w", err)
	}
	l.logf("all %d connected in %.1fs", l.o.Stations, d.Seconds())
	if _, err := l.phase("connect"); err != nil {
		return 0, err
	}
	if err := sleep(ctx, l.o.Settle); err != nil {
		return 0, err
	}
	if _, err := l.phase(""); err != nil {
		return 0, err
	}
	return d, nil
}

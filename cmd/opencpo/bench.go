package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/bench"
)

// workerScenario is the hidden scenario name under which bench runs one of its own load
// processes.
const workerScenario = "_load-worker"

const benchUsage = `Usage: opencpo bench SCENARIO [flags]

Scenarios:
  fleet-15k    one serve process against 15,000 simulated charge points (2 EVSEs each, OCPP 1.6
               and 2.0.1) driven from several load processes: connect storm, idle, steady
               realistic mix, stress ramp to the knee, mass reconnect, kill -9 and restart.
  cluster-45k  3 serve processes sharing one fresh PostgreSQL database and one NATS server,
               45,000 simulated charge points spread evenly over them: connect storm, idle
               (memory per node), steady realistic mix, cross-node commands, kill -9 of one
               node under the mix, restart of that node.

Prints a table and one JSON line with every figure (docs/benchmarks.md).

Flags:
`

// runBench runs a named benchmark scenario against a freshly started server process.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == workerScenario {
		if len(args) != 2 {
			return errors.New("bench: worker needs its configuration")
		}
		var cfg bench.WorkerConfig
		if err := json.Unmarshal([]byte(args[1]), &cfg); err != nil {
			return fmt.Errorf("bench: worker configuration: %w", err)
		}
		return bench.RunWorker(ctx, cfg, os.Stdin, stdout)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fs, _ := benchFlags("", &bench.ClusterOptions{}, stderr)
		fs.Usage()
		return errUsage
	}
	scenario := args[0]
	if scenario != "fleet-15k" && scenario != "cluster-45k" {
		return fmt.Errorf("bench: unknown scenario %q (known: fleet-15k, cluster-45k)", scenario)
	}
	var co bench.ClusterOptions
	fs, jsonOnly := benchFlags(scenario, &co, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := checkBenchOptions(scenario, &co); err != nil {
		return err
	}
	o := &co.Options
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o.Exe = exe
	o.Env = os.Environ()
	o.WorkerArgs = func(cfg string) []string { return []string{"bench", workerScenario, cfg} }
	if o.Dir != "" {
		if err := os.MkdirAll(o.Dir, 0o755); err != nil {
			return err
		}
	}
	o.Progress = stderr
	if *jsonOnly {
		o.Progress = io.Discard
	}
	var res interface {
		WriteTable(io.Writer) error
		WriteJSON(io.Writer) error
	}
	var runErr error
	if scenario == "cluster-45k" {
		r, err := bench.RunCluster(ctx, co)
		if r != nil {
			res = r
		}
		runErr = err
	} else {
		r, err := bench.Run(ctx, *o)
		if r != nil {
			res = r
		}
		runErr = err
	}
	if res != nil && runErr == nil && !*jsonOnly {
		if err := res.WriteTable(stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
	}
	if res != nil {
		if err := res.WriteJSON(stdout); err != nil {
			return err
		}
	}
	return runErr
}

// benchFlags binds the flags of a scenario ("" for the usage of all) to o; jsonOnly is
// --json-only.
func benchFlags(scenario string, o *bench.ClusterOptions, stderr io.Writer) (fs *flag.FlagSet, jsonOnly *bool) {
	fs = flag.NewFlagSet("opencpo bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	jsonOnly = fs.Bool("json-only", false, "print only the JSON line")
	stations, procs, steps := 15000, 4, 10
	if scenario == "cluster-45k" {
		stations, procs, steps = 45000, 6, 0
	}
	fs.IntVar(&o.Stations, "stations", stations, "simulated charge points (2 EVSEs each); cluster-45k: 45000 by default, spread over the nodes")
	fs.IntVar(&o.LoadProcs, "load-procs", procs, "load processes the stations are split over (cluster-45k: 6 by default)")
	fs.DurationVar(&o.Steady, "steady", 60*time.Second, "length of the steady-state (realistic mix) measurement")
	fs.DurationVar(&o.Idle, "idle", 20*time.Second, "length of the idle CPU measurement")
	fs.DurationVar(&o.StressStep, "stress-step", 10*time.Second, "length of one stress-ramp step")
	fs.Float64Var(&o.StressStart, "stress-start", 1000, "extra calls/s of the first stress step (each step asks 1.5× more)")
	fs.IntVar(&o.StressMax, "stress-steps", steps, "most stress-ramp steps; 0 leaves the ramp out (cluster-45k: 0 by default)")
	fs.Float64Var(&o.TimeScale, "time-scale", 1, "simulated seconds per real second (1: the realistic mix, ~575 calls/s at 15,000 stations)")
	fs.DurationVar(&o.RampUp, "ramp-up", 0, "spread the first connections over this long (0: all at once)")
	fs.DurationVar(&o.Settle, "settle", 5*time.Second, "quiet time before the idle, reconnect and kill phases")
	fs.BoolVar(&o.SkipKill, "skip-kill", false, "leave out the kill -9 phase")
	if scenario != "cluster-45k" {
		fs.StringVar(&o.ProfileDir, "profile", "", "fleet-15k: save the server's CPU profiles of the steady phase, each stress step and the mass reconnect, its heap profile when idle, and the first load process's CPU profiles of the same phases, in this folder (go tool pprof)")
	}
	fs.StringVar(&o.Dir, "dir", "", "keep the database (fleet-15k) and the logs in this folder (default: a temporary one, removed)")
	if scenario != "fleet-15k" {
		fs.IntVar(&o.Nodes, "nodes", 3, "cluster-45k: serve processes in the cluster")
		fs.StringVar(&o.Postgres, "postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
			"cluster-45k: PostgreSQL server; the run creates a database of its own there and drops it afterwards")
		fs.StringVar(&o.NATS, "nats", "nats://127.0.0.1:4222", "cluster-45k: NATS server with JetStream")
		fs.IntVar(&o.NodeCapacity, "node-capacity", 19000, "cluster-45k: most connections the load balancer gives one node (one process may open 20,000 files)")
		fs.IntVar(&o.Commands, "commands", 2000, "cluster-45k: cross-node REST commands under the mix")
	}
	return fs, jsonOnly
}

// checkBenchOptions refuses settings a scenario cannot run with.
func checkBenchOptions(scenario string, o *bench.ClusterOptions) error {
	switch {
	case o.LoadProcs < 1 || o.LoadProcs > 32:
		return errors.New("--load-procs must be from 1 to 32")
	case !(o.TimeScale > 0):
		return errors.New("--time-scale must be positive")
	case o.StressMax < 0:
		return errors.New("--stress-steps must not be negative")
	}
	if scenario == "fleet-15k" {
		if o.Stations < 1 || o.Stations > 18000 {
			return errors.New("--stations must be from 1 to 18000 (one server process may open 20,000 files)")
		}
		return nil
	}
	switch {
	case o.Nodes < 2 || o.Nodes > 16:
		return errors.New("--nodes must be from 2 to 16")
	case o.NodeCapacity < 1 || o.NodeCapacity > 19500:
		return errors.New("--node-capacity must be from 1 to 19500 (one process may open 20,000 files)")
	case o.Stations < o.Nodes:
		return errors.New("--stations must be at least --nodes")
	case (o.Stations+o.Nodes-1)/o.Nodes > o.NodeCapacity:
		return fmt.Errorf("--stations %d over %d nodes is more than --node-capacity %d per node", o.Stations, o.Nodes, o.NodeCapacity)
	case o.NodeCapacity/o.LoadProcs < 1:
		return errors.New("--node-capacity must be at least --load-procs")
	case o.Commands < 1 || o.Commands > 1000000:
		return errors.New("--commands must be from 1 to 1000000")
	case !strings.HasPrefix(o.Postgres, "postgres://") && !strings.HasPrefix(o.Postgres, "postgresql://"):
		return errors.New("--postgres must be a postgres:// URL")
	case !strings.HasPrefix(o.NATS, "nats://") && !strings.HasPrefix(o.NATS, "tls://"):
		return errors.New("--nats must be a nats:// URL")
	}
	return nil
}

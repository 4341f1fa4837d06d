package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/opencpo/opencpo/internal/bench"
)

// workerScenario is the hidden scenario name under which bench runs one of its own load
// processes.
const workerScenario = "_load-worker"

const benchUsage = `Usage: opencpo bench SCENARIO [flags]

Scenarios:
  fleet-15k   one serve process against 15,000 simulated charge points (2 EVSEs each, OCPP 1.6
              and 2.0.1) driven from several load processes: connect storm, idle, steady
              realistic mix, stress ramp to the knee, mass reconnect, kill -9 and restart.

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
	fs := flag.NewFlagSet("opencpo bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	var o bench.Options
	fs.IntVar(&o.Stations, "stations", 15000, "simulated charge points (2 EVSEs each)")
	fs.IntVar(&o.LoadProcs, "load-procs", 4, "load processes the stations are split over")
	fs.DurationVar(&o.Steady, "steady", 60*time.Second, "length of the steady-state (realistic mix) measurement")
	fs.DurationVar(&o.Idle, "idle", 20*time.Second, "length of the idle CPU measurement")
	fs.DurationVar(&o.StressStep, "stress-step", 10*time.Second, "length of one stress-ramp step")
	fs.Float64Var(&o.StressStart, "stress-start", 1000, "extra calls/s of the first stress step (each step asks 1.5× more)")
	fs.IntVar(&o.StressMax, "stress-steps", 10, "most stress-ramp steps")
	fs.Float64Var(&o.TimeScale, "time-scale", 1, "simulated seconds per real second (1: the realistic mix, ~575 calls/s at 15,000 stations)")
	fs.DurationVar(&o.RampUp, "ramp-up", 0, "spread the first connections over this long (0: all at once)")
	fs.DurationVar(&o.Settle, "settle", 5*time.Second, "quiet time before the idle, reconnect and kill phases")
	fs.BoolVar(&o.SkipKill, "skip-kill", false, "leave out the kill -9 phase")
	fs.StringVar(&o.Dir, "dir", "", "keep the database and logs in this folder (default: a temporary one, removed)")
	fs.StringVar(&o.ProfileDir, "profile", "", "save the server's CPU profile of the steady phase and each stress step, and its heap profile when idle, in this folder (go tool pprof)")
	jsonOnly := fs.Bool("json-only", false, "print only the JSON line")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fs.Usage()
		return errUsage
	}
	scenario := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if scenario != "fleet-15k" {
		return fmt.Errorf("bench: unknown scenario %q (known: fleet-15k)", scenario)
	}
	switch {
	case o.Stations < 1 || o.Stations > 18000:
		return errors.New("--stations must be from 1 to 18000 (one server process may open 20,000 files)")
	case o.LoadProcs < 1 || o.LoadProcs > 32:
		return errors.New("--load-procs must be from 1 to 32")
	case !(o.TimeScale > 0):
		return errors.New("--time-scale must be positive")
	}
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
	res, runErr := bench.Run(ctx, o)
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

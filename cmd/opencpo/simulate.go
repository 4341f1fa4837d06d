package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/sim"
)

// runSimulate runs simulated charge points against a CSMS (CONTRACT.md §1 `opencpo simulate`)
// until ctx ends or --duration has passed, printing a status line every few seconds and a
// summary at the end.
func runSimulate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("opencpo simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "ws://127.0.0.1:8080/ocpp", "CSMS OCPP base URL; station ID connects to URL/ID")
	stations := fs.Int("stations", 10, "number of simulated stations")
	prefix := fs.String("id-prefix", "SIM", "station ids are PREFIX-0001, PREFIX-0002, …")
	first := fs.Int("first", 1, "number of the first station (to split a fleet over several processes)")
	versions := fs.String("versions", "1.6,2.0.1", "OCPP versions, assigned round-robin")
	evses := fs.String("evses", "1-4", "EVSEs per station: N or MIN-MAX (at most 4)")
	tokens := fs.String("tokens", strings.Join(sim.DefaultTokens(), ","), "RFID uids the drivers tap, comma-separated")
	password := fs.String("password", getenv("OPENCPO_SIM_PASSWORD"), "Basic auth password of every station, user = station id (env OPENCPO_SIM_PASSWORD)")
	seed := fs.Int64("seed", 1, "random seed: the same seed gives the same fleet and driver behaviour")
	scale := fs.Float64("time-scale", 1, "simulated seconds per real second (60: an hour of charging per minute)")
	duration := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	meter := fs.Duration("meter-interval", 60*time.Second, "simulated time between meter values while charging")
	arrivals := fs.Float64("arrivals-per-day", 12, "EVs arriving per EVSE per simulated day (0: none, stations stay idle)")
	stay := fs.Duration("mean-stay", 90*time.Minute, "mean simulated time an EV stays plugged in")
	faults := fs.Float64("faults-per-day", 0.2, "faults per EVSE per simulated day")
	drops := fs.Float64("drops-per-day", 0.5, "network drops per station per simulated day")
	rampUp := fs.Duration("ramp-up", 0, "spread the first connections over this long (default 1 ms per station, at most 30 s)")
	every := fs.Duration("status-interval", 5*time.Second, "time between status lines")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	cfg := sim.Config{
		URL: *url, Stations: *stations, IDPrefix: *prefix, FirstNumber: *first, Password: *password,
		Seed: *seed, TimeScale: *scale, MeterInterval: *meter, RampUp: *rampUp,
		Behavior: sim.Behavior{ArrivalsPerDay: *arrivals, MeanStay: *stay, FaultsPerDay: *faults, DropsPerDay: *drops},
	}
	var err error
	if cfg.Versions, err = parseSimVersions(*versions); err != nil {
		return err
	}
	if cfg.MinEVSEs, cfg.MaxEVSEs, err = parseEVSERange(*evses); err != nil {
		return err
	}
	for _, t := range strings.Split(*tokens, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.Tokens = append(cfg.Tokens, t)
		}
	}
	switch {
	case *stations < 1:
		return errors.New("--stations must be at least 1")
	case !(*scale > 0):
		return errors.New("--time-scale must be positive")
	case *arrivals < 0 || *faults < 0 || *drops < 0:
		return errors.New("--arrivals-per-day, --faults-per-day and --drops-per-day cannot be negative")
	case *every <= 0:
		return errors.New("--status-interval must be positive")
	}
	if *arrivals == 0 {
		cfg.ArrivalsPerDay = -1 // the library reads 0 as "default"
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level must be debug, info, warn or error")
	}
	cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	fleet, err := sim.New(cfg)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if *duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	fmt.Fprintf(stdout, "simulate: %d stations (%s, %s EVSEs) against %s, time scale %g, seed %d\n",
		*stations, *versions, *evses, *url, *scale, *seed)
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- fleet.Run(runCtx) }()

	ticker := time.NewTicker(*every)
	defer ticker.Stop()
	var last sim.Stats
wait:
	for {
		select {
		case <-runCtx.Done():
			last = fleet.Stats() // before the stations hang up
			break wait
		case <-ticker.C:
			fmt.Fprintf(stdout, "simulate: %s %s\n", time.Since(start).Round(time.Second), simStatusLine(fleet.Stats()))
		}
	}
	runErr := <-errc
	final := fleet.Stats()
	final.Connected = last.Connected
	fmt.Fprintf(stdout, "simulate: done after %s: %s\n", time.Since(start).Round(time.Second), simStatusLine(final))
	return runErr
}

// simStatusLine is the one-line summary of a fleet's counters.
func simStatusLine(st sim.Stats) string {
	return fmt.Sprintf("stations %d, connected %d, sessions %d started / %d completed, messages %d sent / %d acked, "+
		"%d calls answered, %d queued, errors %d, %.1f kWh",
		st.Stations, st.Connected, st.SessionsStarted, st.SessionsCompleted, st.MessagesSent, st.MessagesAcked,
		st.CallsAnswered, st.Queued, st.Errors, st.EnergyWh/1000)
}

// parseSimVersions reads "1.6,2.0.1" (also "16", "201", "ocpp1.6", "ocpp2.0.1").
func parseSimVersions(s string) ([]ocpp.Version, error) {
	var out []ocpp.Version
	for _, part := range strings.Split(s, ",") {
		switch strings.TrimPrefix(strings.TrimSpace(part), "ocpp") {
		case "1.6", "16":
			out = append(out, ocpp.V16)
		case "2.0.1", "201":
			out = append(out, ocpp.V201)
		case "":
		default:
			return nil, fmt.Errorf("--versions: %q is not 1.6 or 2.0.1", strings.TrimSpace(part))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--versions: name at least one of 1.6 and 2.0.1")
	}
	return out, nil
}

// parseEVSERange reads "N" or "MIN-MAX" within 1–4.
func parseEVSERange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "-")
	if lo, err = strconv.Atoi(strings.TrimSpace(a)); err == nil {
		hi = lo
		if isRange {
			hi, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if err != nil || lo < 1 || hi > 4 || lo > hi {
		return 0, 0, fmt.Errorf("--evses: %q is not N or MIN-MAX within 1-4", s)
	}
	return lo, hi, nil
}

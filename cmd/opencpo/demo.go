package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/credential"
	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/sim"
)

// demoTimeScale compresses the fleet's time so that sessions start, charge and end within
// minutes of watching: one simulated minute per real second.
const demoTimeScale = 60

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp(getenv("TMPDIR"), "opencpo-demo-")
	if err != nil {
		return err
	}
	token, err := credential.NewToken()
	if err != nil {
		return err
	}
	stations := 25
	cfg, err := parseFlags("demo", args, getenv, stderr,
		serveDefaults{DB: filepath.Join(dir, "opencpo.db"), APIToken: token, UnknownStations: "accept", LogLevel: "warn"},
		func(fs *flag.FlagSet) {
			fs.IntVar(&stations, "stations", stations, "number of simulated stations to run")
		})
	if err != nil {
		return err
	}
	if stations < 1 || stations > 5000 {
		return fmt.Errorf("--stations must be from 1 to 5000")
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The console admin is created while the server starts; the demo waits for both.
	type adminResult struct {
		password string
		err      error
	}
	adminDone := make(chan adminResult, 1)
	go func(ctx context.Context) {
		p, err := createDemoAdmin(ctx, cfg, log)
		adminDone <- adminResult{p, err}
	}(ctx)
	ready := make(chan string, 1)
	serveDone := make(chan error, 1)
	go func() { serveDone <- serve(ctx, cfg, log, io.Discard, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-serveDone:
		<-adminDone
		return err
	}
	base := "http://" + dialable(addr)
	admin := <-adminDone
	if admin.err != nil {
		cancel()
		<-serveDone
		return fmt.Errorf("create the demo console user: %w", admin.err)
	}
	consolePassword := admin.password

	if err := createDemoTokens(ctx, base, cfg.APIToken); err != nil {
		cancel()
		<-serveDone
		return fmt.Errorf("create demo tokens: %w", err)
	}
	if err := createDemoTariff(ctx, base, cfg.APIToken); err != nil {
		cancel()
		<-serveDone
		return fmt.Errorf("create the demo tariff: %w", err)
	}
	fleet, err := sim.New(sim.Config{
		URL: "ws://" + dialable(addr) + "/ocpp", Stations: stations, IDPrefix: "DEMO", Seed: 1,
		TimeScale: demoTimeScale, Tokens: sim.DefaultTokens(),
		Behavior: sim.Behavior{ArrivalsPerDay: 10, FaultsPerDay: 0.5, DropsPerDay: 1},
		Log:      log,
	})
	if err != nil {
		cancel()
		<-serveDone
		return err
	}
	fleetDone := make(chan error, 1)
	go func() { fleetDone <- fleet.Run(ctx) }()

	fmt.Fprintf(stdout, `OpenCPO demo: %d simulated stations (OCPP 1.6 and 2.0.1) charging against a live server.

  Console    %[2]s/   (sign in as %[7]s, password %[8]s)
  REST API   %[2]s/api/v1   (bearer token: %[3]s)
  OpenAPI    %[2]s/api/v1/openapi.json
  OCPP       ws://%[4]s/ocpp/<stationId>   (connect a real charger here too)
  Metrics    %[2]s/metrics
  Database   %[5]s

Try:
  curl -H 'Authorization: Bearer %[3]s' %[2]s/api/v1/stations
  curl -H 'Authorization: Bearer %[3]s' '%[2]s/api/v1/sessions?status=active'

Simulated time runs %[6]dx faster than real time. Press Ctrl+C to stop.
`, stations, base, cfg.APIToken, dialable(addr), dbName(cfg.DB), demoTimeScale, demoAdmin, consolePassword)

	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			<-fleetDone
			err := <-serveDone
			st := fleet.Stats()
			fmt.Fprintf(stdout, "demo stopped: %d sessions started, %d completed, %.1f kWh delivered\n",
				st.SessionsStarted, st.SessionsCompleted, st.EnergyWh/1000)
			return err
		case err := <-serveDone:
			cancel()
			<-fleetDone
			return err
		case <-tick.C:
			st := fleet.Stats()
			fmt.Fprintf(stdout, "%s  stations online %d/%d · sessions started %d, completed %d · %.1f kWh delivered\n",
				time.Now().Format("15:04:05"), st.Connected, stations, st.SessionsStarted, st.SessionsCompleted, st.EnergyWh/1000)
		}
	}
}

// dialable turns a listening address (":8080", "[::]:8080") into one a local client can dial.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// createDemoTokens registers the RFID cards the simulated drivers tap, through the REST API
// like any integrator would. Tokens that exist already (a reused database) are fine.
func createDemoTokens(ctx context.Context, base, token string) error {
	for _, uid := range sim.DefaultTokens() {
		if err := demoCall(ctx, base, token, http.MethodPost, "/api/v1/tokens", map[string]string{"uid": uid}); err != nil {
			return err
		}
	}
	return nil
}

// demoTariff is what the demo's sessions are priced with: energy, and idle time once the car is
// full, as a public AC tariff in the EU might read.
const demoTariff = `{"currency": "EUR", "tariff_alt_text": [{"language": "en", "text": "0.35 EUR/kWh, idle 6.00 EUR/h"}],
 "elements": [{"price_components": [
   {"type": "ENERGY", "price": 0.35, "vat": 19, "step_size": 1},
   {"type": "PARKING_TIME", "price": 6.00, "vat": 19, "step_size": 60}]}]}`

// createDemoTariff gives every demo station a tariff, so that sessions show their cost.
func createDemoTariff(ctx context.Context, base, token string) error {
	if err := demoCall(ctx, base, token, http.MethodPut, "/api/v1/tariffs/DEMO", json.RawMessage(demoTariff)); err != nil {
		return err
	}
	return demoCall(ctx, base, token, http.MethodPost, "/api/v1/tariff-assignments", map[string]string{"tariffId": "DEMO"})
}

// demoCall makes one REST call of the demo's set-up; an existing resource (409) is fine, since
// the demo may run again on the same database.
func demoCall(ctx context.Context, base, token, method, path string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusConflict {
		return errors.New(method + " " + path + " answered " + resp.Status)
	}
	return nil
}

// demoAdmin is the console user the demo creates.
const demoAdmin = "admin@demo.opencpo.org"

// createDemoAdmin gives the demo a console admin with a fresh random password (set again on a
// reused database) and returns the password, which the demo prints.
func createDemoAdmin(ctx context.Context, cfg serveConfig, log *slog.Logger) (string, error) {
	token, err := credential.NewToken()
	if err != nil {
		return "", err
	}
	password := strings.TrimPrefix(token, "ocpo_")[:20]
	// 120 random bits need no memory-hard stretching: the cheap station parameters keep the
	// demo's start quick.
	hash, err := credential.Hash(password, credential.StationParams())
	if err != nil {
		return "", err
	}
	store, err := openStore(ctx, cfg, log, cfg.NoMigrate)
	if err != nil {
		return "", err
	}
	defer store.Close()
	err = store.CreateUser(ctx, domain.User{Email: demoAdmin, PasswordHash: hash, Role: domain.RoleAdmin})
	if errors.Is(err, domain.ErrConflict) {
		_, err = store.UpdateUser(ctx, demoAdmin, domain.UserPatch{PasswordHash: &hash})
	}
	return password, err
}

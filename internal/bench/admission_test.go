package bench

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/csms"
	"github.com/opencpo/opencpo/internal/ocppws"
	"github.com/opencpo/opencpo/internal/sim"
	"github.com/opencpo/opencpo/internal/store/sqlite"
)

// TestReadmissionProfile measures how fast the server stack (store, csms, ocppws wired as
// serve wires them, in this process) re-admits known stations after every connection dropped,
// and writes a CPU profile of that phase. It is a tool, not a check:
//
//	OPENCPO_PROFILE_DIR=/tmp/prof OPENCPO_PROFILE_N=5000 go test -run ReadmissionProfile -v ./internal/bench
//	go tool pprof -top -focus 'opencpo/internal/(ocppws|csms|store)' /tmp/prof/readmit.cpu
func TestReadmissionProfile(t *testing.T) {
	dir := os.Getenv("OPENCPO_PROFILE_DIR")
	if dir == "" {
		t.Skip("set OPENCPO_PROFILE_DIR to run")
	}
	n := 5000
	if s := os.Getenv("OPENCPO_PROFILE_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "opencpo.db"), sqlite.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	central := csms.New(csms.Config{UnknownStations: csms.UnknownAccept, HeartbeatInterval: time.Minute, Log: log}, store)
	ws := ocppws.New(ocppws.Config{}, central, log, nil)
	central.UseCaller(ws)
	mux := http.NewServeMux()
	mux.Handle("/ocpp/{stationId}", ws)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer ws.Shutdown(ctx)

	w := &worker{cfg: WorkerConfig{EVSEs: 2}}
	hc := &http.Client{Transport: &http.Transport{DialContext: sourceDialer([]string{"127.0.0.2", "127.0.0.3", "127.0.0.4"})}}
	fleet, err := sim.New(sim.Config{URL: "ws" + srv.URL[len("http"):] + "/ocpp", Stations: n, IDPrefix: "P",
		MinEVSEs: 2, MaxEVSEs: 2, Behavior: sim.Behavior{ArrivalsPerDay: -1}, RampUp: -1,
		ReconnectMin: 100 * time.Millisecond, ReconnectMax: 2 * time.Second, HTTPClient: hc, OnReply: w.onReply})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = fleet.Run(runCtx) })
	defer wg.Wait()
	defer cancel()
	waitAll := func(what string) time.Duration {
		start := time.Now()
		for fleet.Stats().Connected < n {
			if time.Since(start) > 5*time.Minute {
				t.Fatalf("%s: only %d of %d connected", what, fleet.Stats().Connected, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		d := time.Since(start)
		t.Logf("%s: %d stations in %s (%.0f/s)", what, n, d.Round(time.Millisecond), float64(n)/d.Seconds())
		return d
	}
	waitAll("first admission")
	time.Sleep(2 * time.Second)

	f, err := os.Create(filepath.Join(dir, "readmit.cpu"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	var dw sync.WaitGroup
	for _, st := range fleet.Stations() {
		dw.Go(func() { _ = st.DropConnection(ctx, 0) })
	}
	dw.Wait()
	time.Sleep(50 * time.Millisecond) // let the drops register before polling
	waitAll("re-admission")
	pprof.StopCPUProfile()
	f.Close()
	hf, _ := os.Create(filepath.Join(dir, "idle.heap"))
	_ = pprof.Lookup("heap").WriteTo(hf, 0)
	hf.Close()
}

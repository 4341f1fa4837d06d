package ocppws

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/opencpo/opencpo/internal/ocpp"
)

// BenchmarkIdleConnections measures what an idle station connection costs the server:
//
//	go test -run '^$' -bench IdleConnections -benchtime 1x ./internal/ocppws/
//
// N (OCPPWS_IDLE_N, default 2000) stations connect over loopback from a child process (so that
// client memory is not counted), each sends one BootNotification (OCPPWS_CLIENTS_BOOT=0: none)
// and then stays idle. The
// reported numbers are the growth of the server process per connection: heap in use, goroutine
// stacks, both together, and RSS. Nothing is asserted.
func BenchmarkIdleConnections(b *testing.B) {
	n := 2000
	if s := os.Getenv("OCPPWS_IDLE_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	h := &idleHandler{}
	s := New(Config{}, h, slog.New(slog.NewJSONHandler(io.Discard, nil)), nil) // a production-like logger: With allocates
	mux := http.NewServeMux()
	mux.Handle("/ocpp/{stationId}", s)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer s.Shutdown(context.Background())

	before := measure()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "OCPPWS_CLIENTS_URL="+"ws"+strings.TrimPrefix(ts.URL, "http")+"/ocpp/", "OCPPWS_CLIENTS_N="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		if sc.Text() == "ready" {
			ready = true
			break
		}
	}
	go io.Copy(io.Discard, stdout) //nolint:errcheck // drains the child's output until it exits
	if !ready {
		b.Fatal("client process did not get ready")
	}
	if got := s.ConnectionCount(); got != n {
		b.Fatalf("%d connections, want %d", got, n)
	}
	time.Sleep(200 * time.Millisecond) // let handshake garbage die
	after := measure()

	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	heap, stack := per(after.heap, before.heap), per(after.stack, before.stack)
	b.ReportMetric(heap, "heap-B/conn")
	b.ReportMetric(stack, "stack-B/conn")
	b.ReportMetric(heap+stack, "B/conn")
	if after.rss > 0 {
		b.ReportMetric(per(after.rss, before.rss), "rss-B/conn")
	}
	b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/conn")
	b.Logf("%d idle connections: heap %.0f B, stacks %.0f B, together %.0f B (%.1f KiB), RSS %.0f B per connection; %d goroutines",
		n, heap, stack, heap+stack, (heap+stack)/1024, per(after.rss, before.rss), after.goroutines-before.goroutines)
	for range b.N {
		// The measurement above is the benchmark; b.N has no meaning here.
	}
}

type memSample struct {
	heap, stack, rss uint64
	goroutines       int
}

func measure() memSample {
	for range 3 {
		runtime.GC()
	}
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{heap: ms.HeapInuse, stack: ms.StackInuse, rss: rss(), goroutines: runtime.NumGoroutine()}
}

// rss reads the resident set size from /proc (0 where there is none).
func rss() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// idleHandler answers every CALL like a BootNotification.
type idleHandler struct{}

func (idleHandler) Admit(context.Context, string, string, string, bool) error { return nil }
func (idleHandler) Connected(context.Context, string, ocpp.Version)           {}
func (idleHandler) Disconnected(context.Context, string, ocpp.Version)        {}
func (idleHandler) HandleCall(_ context.Context, _ string, _ ocpp.Version, _ string, payload json.RawMessage) (json.RawMessage, error) {
	var v map[string]any
	if err := json.Unmarshal(payload, &v); err != nil {
		return nil, err
	}
	return json.RawMessage(`{"status":"Accepted","currentTime":"2026-01-01T00:00:00Z","interval":300}`), nil
}

// TestIdleClientProcess is the child process of BenchmarkIdleConnections; it skips itself
// otherwise.
func TestIdleClientProcess(t *testing.T) {
	base := os.Getenv("OCPPWS_CLIENTS_URL")
	if base == "" {
		t.Skip("helper process of BenchmarkIdleConnections")
	}
	n, _ := strconv.Atoi(os.Getenv("OCPPWS_CLIENTS_N"))
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	conns := make([]*websocket.Conn, n)
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, base+fmt.Sprintf("CP-%05d", i), &websocket.DialOptions{HTTPClient: client, Subprotocols: []string{"ocpp1.6"}})
			if err == nil && os.Getenv("OCPPWS_CLIENTS_BOOT") == "0" {
				conns[i] = ws
				return
			}
			if err == nil {
				err = ws.Write(ctx, websocket.MessageText, []byte(`[2,"boot","BootNotification",{"chargePointVendor":"VendorX","chargePointModel":"ModelY","firmwareVersion":"1.0.0"}]`))
			}
			var data []byte
			if err == nil {
				_, data, err = ws.Read(ctx)
			}
			if err == nil && !bytes.HasPrefix(data, []byte(`[3,"boot"`)) {
				err = fmt.Errorf("answer %s", data)
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return
			}
			conns[i] = ws
		})
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	for _, ws := range conns {
		ws.CloseRead(context.Background()) // keeps answering pings and the close handshake
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark closes stdin
	for _, ws := range conns {
		_ = ws.CloseNow()
	}
}

// BenchmarkInboundCall measures one station CALL → CALLRESULT round trip over loopback.
func BenchmarkInboundCall(b *testing.B) {
	s := New(Config{}, idleHandler{}, slog.New(slog.DiscardHandler), nil)
	mux := http.NewServeMux()
	mux.Handle("/ocpp/{stationId}", s)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer s.Shutdown(context.Background())
	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ocpp/CP-1", &websocket.DialOptions{Subprotocols: []string{"ocpp1.6"}})
	if err != nil {
		b.Fatal(err)
	}
	defer ws.CloseNow()
	frame := []byte(`[2,"1","BootNotification",{"chargePointVendor":"VendorX","chargePointModel":"ModelY"}]`)
	b.ReportAllocs()
	for b.Loop() {
		if err := ws.Write(ctx, websocket.MessageText, frame); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInboundCallParallel measures throughput with many stations calling at once.
func BenchmarkInboundCallParallel(b *testing.B) {
	s := New(Config{}, idleHandler{}, slog.New(slog.DiscardHandler), nil)
	mux := http.NewServeMux()
	mux.Handle("/ocpp/{stationId}", s)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer s.Shutdown(context.Background())
	ctx := context.Background()
	var mu sync.Mutex
	n := 0
	b.SetParallelism(32)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		n++
		id := n
		mu.Unlock()
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+fmt.Sprintf("/ocpp/CP-%d", id), &websocket.DialOptions{Subprotocols: []string{"ocpp1.6"}})
		if err != nil {
			b.Error(err)
			return
		}
		defer ws.CloseNow()
		frame := []byte(`[2,"1","BootNotification",{"chargePointVendor":"VendorX","chargePointModel":"ModelY"}]`)
		for pb.Next() {
			if err := ws.Write(ctx, websocket.MessageText, frame); err != nil {
				b.Error(err)
				return
			}
			if _, _, err := ws.Read(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

package wscompare

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coder "github.com/coder/websocket"
)

// bootFrame is what each client sends; the server answers with answerPayload.
var bootFrame = []byte(`[2,"19223201","BootNotification",{"chargePointVendor":"VendorX","chargePointModel":"ModelY","firmwareVersion":"1.0.0"}]`)

// BenchmarkIdleConn measures what an idle connection costs the server with each library:
// N (WSCOMPARE_N, default 3000) clients in a child process connect over loopback, send one
// BootNotification CALL each, read the answer and then stay idle. Reported per connection: Go
// heap in use, goroutine stacks in use, both, and RSS, as the growth of this process after GC.
// b.N has no meaning; run it with -benchtime 1x. WSCOMPARE_HEAP_DIR=dir (with -memprofilerate 1)
// writes a heap profile of the idle connections of each variant into dir.
func BenchmarkIdleConn(b *testing.B) {
	n := 3000
	if s := os.Getenv("WSCOMPARE_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			h, closeAll := v.newHandler()
			mux := http.NewServeMux()
			mux.Handle("/ocpp/{stationId}", h)
			ts := httptest.NewServer(mux)
			defer ts.Close()
			defer closeAll()

			before := measure()
			stop := startClients(b, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ocpp/", n)
			defer stop()
			time.Sleep(200 * time.Millisecond) // the last handshakes' garbage
			after := measure()
			if dir := os.Getenv("WSCOMPARE_HEAP_DIR"); dir != "" {
				writeHeapProfile(b, filepath.Join(dir, v.name+".heap"))
			}

			per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
			heap, stack := per(after.heap, before.heap), per(after.stack, before.stack)
			b.ReportMetric(heap, "heap-B/conn")
			b.ReportMetric(stack, "stack-B/conn")
			b.ReportMetric(heap+stack, "B/conn")
			b.ReportMetric(per(after.rss, before.rss), "rss-B/conn")
			b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/conn")
			for range b.N {
				// The measurement above is the benchmark.
			}
		})
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

func rss() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// writeHeapProfile saves what is live now (run with -memprofilerate 1 to see every object).
func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the user+system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startClients runs TestClientProcess in a child process (its memory is not ours) and waits until
// its n connections are up and answered. stop closes them.
func startClients(b *testing.B, base string, n int) (stop func()) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestClientProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "WSCOMPARE_CLIENTS_URL="+base, "WSCOMPARE_CLIENTS_N="+strconv.Itoa(n))
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
	stop = func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		if sc.Text() == "ready" {
			ready = true
			break
		}
		b.Log("client: " + sc.Text())
	}
	go io.Copy(io.Discard, stdout) //nolint:errcheck // drains the child's output until it exits
	if !ready {
		stop()
		b.Fatal("client process did not get ready")
	}
	return stop
}

// TestClientProcess is the child process of BenchmarkIdleConn; it skips itself otherwise.
func TestClientProcess(t *testing.T) {
	base := os.Getenv("WSCOMPARE_CLIENTS_URL")
	if base == "" {
		t.Skip("helper process of BenchmarkIdleConn")
	}
	n, _ := strconv.Atoi(os.Getenv("WSCOMPARE_CLIENTS_N"))
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	conns := make([]*coder.Conn, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ws, err := roundTripOnce(client, base+fmt.Sprintf("CP-%05d", i))
			if err != nil {
				errs <- err
				return
			}
			conns[i] = ws
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
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

func roundTripOnce(client *http.Client, url string) (*coder.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := coder.Dial(ctx, url, &coder.DialOptions{HTTPClient: client, Subprotocols: []string{"ocpp1.6"}})
	if err != nil {
		return nil, err
	}
	if err := roundTrip(ctx, ws); err != nil {
		_ = ws.CloseNow()
		return nil, err
	}
	return ws, nil
}

func roundTrip(ctx context.Context, ws *coder.Conn) error {
	if err := ws.Write(ctx, coder.MessageText, bootFrame); err != nil {
		return err
	}
	_, data, err := ws.Read(ctx)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(data, []byte(`[3,"19223201",{"status":"Accepted"`)) {
		return fmt.Errorf("answer %s", data)
	}
	return nil
}

// BenchmarkRoundTrip measures CALL → CALLRESULT round trips of small text frames: 64 clients
// (each its own connection, in this process, all using the same client library) call as fast as
// answers come back. ns/op is per round trip over all clients; allocs/op count client and server
// together (the client side is the same for every variant); p50/p99 are the latencies seen by the
// clients; cpu-ns/op is the process's CPU time (clients and server) per round trip.
func BenchmarkRoundTrip(b *testing.B) {
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			h, closeAll := v.newHandler()
			mux := http.NewServeMux()
			mux.Handle("/ocpp/{stationId}", h)
			ts := httptest.NewServer(mux)
			defer ts.Close()
			defer closeAll()
			base := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ocpp/"
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

			var mu sync.Mutex
			var lat []time.Duration
			id := 0
			b.SetParallelism(32) // × GOMAXPROCS clients
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				mu.Lock()
				id++
				url := base + fmt.Sprintf("CP-%d", id)
				mu.Unlock()
				ws, err := roundTripOnce(client, url)
				if err != nil {
					b.Error(err)
					return
				}
				defer ws.CloseNow()
				ctx := context.Background()
				var mine []time.Duration
				for pb.Next() {
					start := time.Now()
					if err := roundTrip(ctx, ws); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			// CPU time of the process (clients and server) per round trip: less sensitive to
			// other load on the machine than ns/op.
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			if len(lat) > 0 {
				slices.Sort(lat)
				q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
				b.ReportMetric(q(0.5), "p50-ms")
				b.ReportMetric(q(0.99), "p99-ms")
			}
		})
	}
}

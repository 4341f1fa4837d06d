package netlimit

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// serve runs an http.Server with handler h on a loopback Listener limited to limit connections
// in set-up.
func serve(t *testing.T, limit int, h http.Handler) (*Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, limit)
	srv := &http.Server{Handler: h, ConnState: l.ConnState, ConnContext: l.ConnContext, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return l, ln.Addr().String()
}

// get sends one GET on a new connection and returns the connection and a channel that receives
// the status line once the answer comes.
func get(t *testing.T, addr, path string) (net.Conn, <-chan string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	status := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(c).ReadString('\n')
		status <- line
	}()
	return c, status
}

// expectStatus waits for the status line of a request sent with get.
func expectStatus(t *testing.T, status <-chan string, want, what string) {
	t.Helper()
	select {
	case line := <-status:
		if line != want {
			t.Fatalf("%s: %q", what, line)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: never answered", what)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLimitHoldsConnectionsBeyondIt(t *testing.T) {
	release := make(chan struct{})
	var running, most atomic.Int32
	l, addr := serve(t, 2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		running.Add(-1)
	}))
	var answers []<-chan string
	for range 5 {
		_, st := get(t, addr, "/")
		answers = append(answers, st)
	}
	waitFor(t, "two requests in their handler", func() bool { return running.Load() == 2 })
	time.Sleep(50 * time.Millisecond) // the other three must stay in the accept queue
	if got := most.Load(); got != 2 {
		t.Fatalf("%d requests ran at once, limit 2", got)
	}
	if got := l.InSetup(); got != 2 {
		t.Fatalf("InSetup = %d, want 2", got)
	}
	close(release)
	// Each answered connection goes idle (keep-alive) and frees its slot for the next.
	for i, st := range answers {
		expectStatus(t, st, "HTTP/1.1 200 OK\r\n", fmt.Sprint("request ", i))
	}
	if got := most.Load(); got > 2 {
		t.Fatalf("%d requests ran at once, limit 2", got)
	}
	waitFor(t, "no connection in set-up", func() bool { return l.InSetup() == 0 })
}

func TestHijackedAndClosedConnectionsFreeTheirSlot(t *testing.T) {
	l, addr := serve(t, 1, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hijack" {
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n\r\n")
			_ = brw.Flush()
			t.Cleanup(func() { _ = c.Close() }) // stays open: an upgraded connection
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	_, hijacked := get(t, addr, "/hijack")
	if line := <-hijacked; line != "HTTP/1.1 101 Switching Protocols\r\n" {
		t.Fatalf("hijack: %q", line)
	}
	// A connection that closes before sending a request frees its slot too.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	_, st := get(t, addr, "/plain")
	expectStatus(t, st, "HTTP/1.1 204 No Content\r\n", "after a hijack and a close (did either keep the only slot?)")
	waitFor(t, "no connection in set-up", func() bool { return l.InSetup() == 0 })
}

func TestCloseEndsAnAcceptWaitingForASlot(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, 1)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept() // no slot: waits
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("second Accept returned %v with the only slot taken", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still waiting after Close")
	}
}

func TestReleaseFreesAStreamsSlot(t *testing.T) {
	end := make(chan struct{})
	defer close(end)
	l, addr := serve(t, 1, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			Release(r.Context())
			Release(r.Context()) // twice: frees one slot only
			w.WriteHeader(http.StatusOK)
			http.NewResponseController(w).Flush()
			<-end // a stream that stays open
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	_, stream := get(t, addr, "/stream")
	if line := <-stream; line != "HTTP/1.1 200 OK\r\n" {
		t.Fatalf("stream: %q", line)
	}
	for i := range 3 {
		_, st := get(t, addr, "/plain")
		expectStatus(t, st, "HTTP/1.1 204 No Content\r\n", fmt.Sprintf("request %d beside an open stream (did it keep the only slot?)", i))
	}
	waitFor(t, "no connection in set-up", func() bool { return l.InSetup() == 0 })
}

package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects a command's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDemo runs `opencpo demo` as a new user would and checks that within seconds the API shows
// a live network: stations online and sessions with energy.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a fleet")
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan int, 1)
	getenv := func(k string) string {
		if k == "TMPDIR" {
			return t.TempDir()
		}
		return ""
	}
	go func() {
		done <- run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--stations", "10"}, getenv, nil, out, io.Discard)
	}()
	var api, token string
	eventually(t, "demo prints its URLs", func() bool {
		m := regexp.MustCompile(`REST API\s+(\S+)/api/v1\s+\(bearer token: (\S+)\)`).FindStringSubmatch(out.String())
		if m != nil {
			api, token = m[1], m[2]
		}
		return m != nil
	})
	ts := &testServer{t: t, addr: api[len("http://"):]}
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body := ts.doToken(token, "GET", "/api/v1/sessions", nil)
		if status != http.StatusOK {
			t.Fatalf("sessions: %d %v", status, body)
		}
		withEnergy, priced := 0, 0
		for _, it := range body["items"].([]any) {
			sess := it.(map[string]any)
			if sess["energyWh"].(float64) > 0 {
				withEnergy++
				// The demo's tariff prices every session: energy flowing shows as money.
				if cost, ok := sess["cost"].(map[string]any); ok && cost["currency"] == "EUR" && cost["inclVat"] != "0.00" {
					priced++
				}
			}
		}
		if withEnergy > 0 && priced > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no priced session with energy after 30 s; output:\n%s", out.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	_, stations := ts.doToken(token, "GET", "/api/v1/stations", nil)
	online := 0
	for _, it := range stations["items"].([]any) {
		if it.(map[string]any)["connected"] == true {
			online++
		}
	}
	if online < 8 {
		t.Fatalf("only %d of 10 demo stations online", online)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("demo exited %d; output:\n%s", code, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop")
	}
}

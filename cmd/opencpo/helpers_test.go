package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpptest"
	"github.com/opencpo/opencpo/internal/sim"
)

const testToken = "test-token-0123456789abcdef"

// testServer is a real `serve` on 127.0.0.1:0 with a temporary SQLite file.
type testServer struct {
	t        testing.TB
	addr     string
	official *ocpptest.Official
	cancel   context.CancelFunc
	done     chan error
}

func startServer(t testing.TB, mutate func(*serveConfig)) *testServer {
	t.Helper()
	official := ocpptest.LoadOfficial(t)
	cfg, err := parseServeFlags("serve", []string{"--addr", "127.0.0.1:0", "--api-token", testToken,
		"--db", filepath.Join(t.TempDir(), "opencpo.db"), "--heartbeat-interval", "60s",
		// Tests that count the calls a station gets turn the refresh after boot on themselves.
		"--no-config-refresh"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	return startServerWith(t, official, cfg)
}

func startServerWith(t testing.TB, official *ocpptest.Official, cfg serveConfig) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	ts := &testServer{t: t, official: official, cancel: cancel, done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() { ts.done <- serve(ctx, cfg, log, io.Discard, ready) }()
	select {
	case ts.addr = <-ready:
	case err := <-ts.done:
		t.Fatalf("serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	t.Cleanup(ts.stop)
	return ts
}

// stop shuts the server down the way SIGTERM does and checks it ends cleanly.
func (ts *testServer) stop() {
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	ts.cancel = nil
	select {
	case err := <-ts.done:
		if err != nil {
			ts.t.Errorf("serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		ts.t.Error("server did not shut down within 20s")
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (ts *testServer) wsURL() string { return "ws://" + ts.addr }

func (ts *testServer) dial(id, version string) *ocpptest.Station {
	ts.t.Helper()
	return ocpptest.Dial(ts.t, ts.official, ts.wsURL(), id, version, ocpptest.DialOptions{})
}

// do calls the REST API with the test token and decodes the JSON answer.
func (ts *testServer) do(method, path string, body any) (int, map[string]any) {
	ts.t.Helper()
	return ts.doToken(testToken, method, path, body)
}

func (ts *testServer) doToken(token, method, path string, body any) (int, map[string]any) {
	ts.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, "http://"+ts.addr+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			ts.t.Fatalf("%s %s: answer is not a JSON object: %s", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

// mustDo calls the API and fails unless the status is want.
func (ts *testServer) mustDo(want int, method, path string, body any) map[string]any {
	ts.t.Helper()
	status, out := ts.do(method, path, body)
	if status != want {
		ts.t.Fatalf("%s %s = %d %v; want %d", method, path, status, out, want)
	}
	return out
}

// eventually retries cond until it holds or 5 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// errorCode returns the error.code of an API error body.
func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// frameType returns the message type of a reply frame (3 result, 4 error).
func frameType(f []json.RawMessage) string { return string(f[0]) }

// callErrorCode returns the error code of a CALLERROR frame.
func callErrorCode(f []json.RawMessage) string {
	var c string
	if len(f) > 2 {
		_ = json.Unmarshal(f[2], &c)
	}
	return c
}

func decode[T any](t testing.TB, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

func nowRFC3339() string { return time.Now().UTC().Format(time.RFC3339) }

// runStation runs one simulated station until the test ends, then checks that it stopped
// cleanly and counted no errors.
func runStation(t *testing.T, cfg sim.StationConfig) *sim.Station {
	t.Helper()
	st, err := sim.NewStation(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("sim %s: %v", cfg.ID, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("sim %s did not stop", cfg.ID)
		}
		if s := st.Stats(); s.Errors != 0 {
			t.Errorf("sim %s counted %d errors", cfg.ID, s.Errors)
		}
	})
	return st
}

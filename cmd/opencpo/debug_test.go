package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestDebugAddrOnlyLoopback(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "example.com:6060", "6060"} {
		if _, err := parseServeFlags("serve", []string{"--debug-addr", bad}, noEnv, io.Discard); err == nil {
			t.Errorf("--debug-addr %q accepted", bad)
		}
	}
	for _, good := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:0"} {
		if _, err := parseServeFlags("serve", []string{"--debug-addr", good}, noEnv, io.Discard); err != nil {
			t.Errorf("--debug-addr %q: %v", good, err)
		}
	}
	env := func(k string) string {
		if k == "OPENCPO_DEBUG_ADDR" {
			return "10.0.0.1:6060"
		}
		return ""
	}
	if _, err := parseServeFlags("serve", nil, env, io.Discard); err == nil {
		t.Error("OPENCPO_DEBUG_ADDR=10.0.0.1:6060 accepted")
	}
}

// TestDebugAddrServesProfiler: the profiler answers on its own listener, and the main listener
// does not serve it.
func TestDebugAddrServesProfiler(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	debugAddr := ln.Addr().String()
	ln.Close()
	ts := startServer(t, func(c *serveConfig) { c.DebugAddr = debugAddr })

	resp, err := http.Get("http://" + debugAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "goroutine profile:") {
		t.Fatalf("profiler: %s %.80q", resp.Status, body)
	}
	resp, err = http.Get("http://" + ts.addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.HasPrefix(string(body), "goroutine profile:") {
		t.Fatal("the main listener serves the profiler")
	}
}

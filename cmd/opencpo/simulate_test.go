package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/opencpo/opencpo/internal/csms"
	"github.com/opencpo/opencpo/internal/sim"
)

func TestSimulateFlags(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, c := range []struct {
		args    []string
		usage   bool
		message string
	}{
		{args: []string{"--no-such-flag"}, usage: true},
		{args: []string{"--stations", "x"}, usage: true},
		{args: []string{"--stations", "0"}, message: "--stations"},
		{args: []string{"--versions", "1.5"}, message: "--versions"},
		{args: []string{"--evses", "0-5"}, message: "--evses"},
		{args: []string{"--time-scale", "0"}, message: "--time-scale"},
		{args: []string{"--url", "http://x"}, message: "ws://"},
		{args: []string{"--tokens", "a-token-longer-than-twenty-characters"}, message: "idTag"},
		{args: []string{"extra"}, message: "unexpected argument"},
	} {
		err := runSimulate(context.Background(), c.args, noEnv, io.Discard, io.Discard)
		switch {
		case c.usage && err != errUsage:
			t.Errorf("%v: %v, want errUsage", c.args, err)
		case !c.usage && (err == nil || !strings.Contains(err.Error(), c.message)):
			t.Errorf("%v: %v, want an error about %s", c.args, err, c.message)
		}
	}
}

func TestParseSimVersionsAndEVSEs(t *testing.T) {
	for in, want := range map[string]string{
		"1.6,2.0.1": "[1.6 2.0.1]", "ocpp2.0.1": "[2.0.1]", "16, 201,16": "[1.6 2.0.1 1.6]",
	} {
		got, err := parseSimVersions(in)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("parseSimVersions(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2.1", ",", "1.6;2.0.1"} {
		if _, err := parseSimVersions(bad); err == nil {
			t.Errorf("parseSimVersions(%q) accepted", bad)
		}
	}
	for in, want := range map[string][2]int{"1-4": {1, 4}, "2": {2, 2}, " 3 - 4 ": {3, 4}} {
		lo, hi, err := parseEVSERange(in)
		if err != nil || lo != want[0] || hi != want[1] {
			t.Errorf("parseEVSERange(%q) = %d, %d, %v", in, lo, hi, err)
		}
	}
	for _, bad := range []string{"0", "5", "3-2", "1-", "a-b", ""} {
		if _, _, err := parseEVSERange(bad); err == nil {
			t.Errorf("parseEVSERange(%q) accepted", bad)
		}
	}
}

// opencpo simulate against a real serve: stations boot, charge with the demo tokens, and the
// server records completed sessions.
func TestSimulateAgainstServe(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = csms.UnknownAccept })
	for _, uid := range sim.DefaultTokens() {
		ts.mustDo(201, "POST", "/api/v1/tokens", map[string]any{"uid": uid})
	}
	var out bytes.Buffer
	err := runSimulate(context.Background(), []string{
		"--url", ts.wsURL() + "/ocpp", "--stations", "4", "--id-prefix", "CMD", "--time-scale", "900",
		"--arrivals-per-day", "150", "--mean-stay", "30m", "--duration", "4s", "--status-interval", "1s",
	}, func(string) string { return "" }, &out, io.Discard)
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, out.String())
	}
	text := out.String()
	t.Log(text)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[len(lines)-1], "simulate: done after") {
		t.Fatalf("output:\n%s", text)
	}
	summary := lines[len(lines)-1]
	if !strings.Contains(summary, "stations 4, connected 4") || !strings.Contains(summary, "errors 0") {
		t.Errorf("summary %q", summary)
	}
	m := regexp.MustCompile(`sessions (\d+) started / (\d+) completed`).FindStringSubmatch(summary)
	if m == nil || m[2] == "0" {
		t.Errorf("no completed sessions in %q", summary)
	}
	eventually(t, "completed sessions on the server", func() bool {
		_, body := ts.do("GET", "/api/v1/sessions?status=completed", nil)
		items, _ := body["items"].([]any)
		return len(items) > 0
	})
	_, body := ts.do("GET", "/api/v1/stations/CMD-0002", nil)
	if body["ocppVersion"] != "2.0.1" || body["vendor"] != "OpenCPO-Sim" {
		t.Errorf("station CMD-0002: %v", body)
	}
}

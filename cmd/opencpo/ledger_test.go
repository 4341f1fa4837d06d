package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLedgerRetentionFlag: --ledger-retention (and OPENCPO_LEDGER_RETENTION) set how long the
// exactly-once ledger remembers a message; a value that is not a duration, or shorter than an
// hour, is refused with a message that names the flag.
func TestLedgerRetentionFlag(t *testing.T) {
	parse := func(args []string, env map[string]string) (serveConfig, string, error) {
		var stderr bytes.Buffer
		cfg, err := parseServeFlags("serve", args, func(k string) string { return env[k] }, &stderr)
		return cfg, stderr.String(), err
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want time.Duration
	}{
		{nil, nil, 30 * 24 * time.Hour},
		{[]string{"--ledger-retention", "72h"}, nil, 72 * time.Hour},
		{nil, map[string]string{"OPENCPO_LEDGER_RETENTION": "2160h"}, 2160 * time.Hour},
		{[]string{"--ledger-retention", "1h"}, map[string]string{"OPENCPO_LEDGER_RETENTION": "2160h"}, time.Hour},
	} {
		cfg, _, err := parse(tc.args, tc.env)
		if err != nil || cfg.LedgerRetention != tc.want {
			t.Errorf("%v %v: retention %s, %v; want %s", tc.args, tc.env, cfg.LedgerRetention, err, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--ledger-retention", "30d"}, nil},
		{[]string{"--ledger-retention", "59m"}, nil},
		{[]string{"--ledger-retention", "0"}, nil},
		{[]string{"--ledger-retention", "-5h"}, nil},
		{nil, map[string]string{"OPENCPO_LEDGER_RETENTION": "a month"}},
		{nil, map[string]string{"OPENCPO_LEDGER_RETENTION": "10m"}},
	} {
		_, stderr, err := parse(tc.args, tc.env)
		if err == nil {
			t.Errorf("%v %v accepted", tc.args, tc.env)
			continue
		}
		msg := err.Error() + stderr
		if !strings.Contains(msg, "ledger-retention") && !strings.Contains(msg, "LEDGER_RETENTION") {
			t.Errorf("%v %v: error %q does not name the setting", tc.args, tc.env, msg)
		}
	}
}

// TestLedgerPruneUsesRetention: the sweep forgets ledger entries older than the configured
// retention, and only those. A station sends one StartTransaction twice, a second apart, on two
// servers: with a retention of an hour the second copy is recognised and answered with the
// first's transaction id; with a retention shorter than the wait (set directly, below the
// flag's minimum, to keep the test short) the sweep has forgotten the first and the copy is
// applied as a new transaction.
func TestLedgerPruneUsesRetention(t *testing.T) {
	start := map[string]any{"connectorId": 1, "idTag": "LEDGER", "meterStart": 0, "timestamp": nowRFC3339()}
	twice := func(ts *testServer, station string) (first, second string) {
		st := ts.dial(station, "1.6")
		st.MustCall("BootNotification", boot16())
		r1 := decode[map[string]any](t, st.MustCall("StartTransaction", start))
		time.Sleep(time.Second) // several sweeps
		r2 := decode[map[string]any](t, st.MustCall("StartTransaction", start))
		return fmt.Sprint(r1["transactionId"]), fmt.Sprint(r2["transactionId"])
	}

	long := startServer(t, func(c *serveConfig) {
		cfg, err := parseServeFlags("serve", []string{"--ledger-retention", "1h"}, func(string) string { return "" }, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		c.UnknownStations = "accept"
		c.LedgerRetention = cfg.LedgerRetention
		c.sweepEvery = 100 * time.Millisecond
	})
	if a, b := twice(long, "LEDGER-KEEP"); a != b {
		t.Errorf("retention 1h: the repeated StartTransaction got transaction %s, the first %s; want the same", b, a)
	}

	short := startServer(t, func(c *serveConfig) {
		c.UnknownStations = "accept"
		c.LedgerRetention = 300 * time.Millisecond
		c.sweepEvery = 100 * time.Millisecond
	})
	if a, b := twice(short, "LEDGER-PRUNE"); a == b {
		t.Errorf("retention 300ms: the repeated StartTransaction got the first's transaction %s after the entry should have been pruned", a)
	}
}

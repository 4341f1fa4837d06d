package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConsoleBrowser drives the console in headless Chromium (web/e2e/console.mjs, playwright-
// core) against a real serve with simulated stations: sign in, a station coming online live,
// a remote reset and its answer, a session's chart and cost, the CSV export with costs, a location
// on the map, an EVSE assigned to it on its own, the message log refreshing live, the location
// deleted, an API token created and revoked, a read-only user refused.
// Screenshots go to web/e2e/artifacts. Without Chromium or web/node_modules it skips, except
// under CI=true, where it fails.
func TestConsoleBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	webDir, _ := filepath.Abs(filepath.Join("..", "..", "web"))
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(chromium); err != nil {
		missing = chromium + " is missing (apt-get install chromium)"
	} else if _, err := os.Stat(filepath.Join(webDir, "node_modules", "playwright-core")); err != nil {
		missing = "web/node_modules is missing (make assets runs npm ci)"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser test cannot run: %s", missing)
		}
		t.Skipf("browser test skipped: %s", missing)
	}
	hasChart := "0"
	if _, err := os.Stat(filepath.Join(webDir, "dist", "chart.js")); err == nil {
		hasChart = "1"
	} else if os.Getenv("CI") == "true" {
		t.Fatal("web/dist/chart.js is missing: run make assets before the tests")
	}

	hasMap := "0"
	if _, err := os.Stat(filepath.Join(webDir, "dist", "map.js")); err == nil {
		hasMap = "1"
	} else if os.Getenv("CI") == "true" {
		t.Fatal("web/dist/map.js is missing: run make assets before the tests")
	}

	cs := startConsole(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	// Every session is priced, so that the session page shows a cost.
	cs.mustDo(201, "PUT", "/api/v1/tariffs/E2E", tariffEnergy)
	cs.mustDo(201, "POST", "/api/v1/tariff-assignments", map[string]any{"tariffId": "E2E"})
	artifacts := filepath.Join(webDir, "e2e", "artifacts")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(webDir, "e2e", "console.mjs"))
	cmd.Dir = webDir
	cmd.Env = append(os.Environ(), "CONSOLE_URL=http://"+cs.addr, "OPS_EMAIL=ops@example.com",
		"VIEWER_EMAIL=viewer@example.com", "PASSWORD="+consolePassword, "STATION=WEB-0001",
		"ARTIFACTS="+artifacts, "CHROMIUM="+chromium, "HAS_CHART="+hasChart, "HAS_MAP="+hasMap, "ADMIN_EMAIL=admin@example.com")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		t.Log("browser:", line)
		if line == "READY" { // the stations page is open: now the stations connect
			once.Do(func() { startFleet(t, cs.testServer, "WEB", 2) })
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("browser test failed (%v):\n%s\nscreenshots in %s", err, stderr.String(), artifacts)
	}
	t.Logf("screenshots in %s", artifacts)
}

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpptest"
)

// childServer is `opencpo serve` in its own process.
type childServer struct {
	cmd  *exec.Cmd
	addr string
}

func startChild(t *testing.T, db, addr string) *childServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--addr", addr, "--db", db, "--api-token", testToken,
		"--unknown-stations", "accept", "--log-level", "warn")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "OpenCPO listening on") {
				ready <- true
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("child server did not start")
	}
	return &childServer{cmd: cmd, addr: addr}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// acked records what the server acknowledged, per station.
type acked struct {
	mu       sync.Mutex
	txID     map[string]string    // station → transaction id
	energies map[string][]float64 // station → acknowledged energy readings (Wh)
}

// TestKillDashNine runs 100 chargers (half 1.6, half 2.0.1) through sessions against a server in
// its own process, kills it with SIGKILL mid-stream, restarts it on the same database and checks
// that every message the server acknowledged is stored.
func TestKillDashNine(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a server process")
	}
	official := ocpptest.LoadOfficial(t)
	db := filepath.Join(t.TempDir(), "opencpo.db")
	addr := freeAddr(t)
	child := startChild(t, db, addr)
	ts := &testServer{t: t, addr: addr, official: official}

	const chargers = 100
	got := &acked{txID: map[string]string{}, energies: map[string][]float64{}}
	var wg sync.WaitGroup
	stopAt := make(chan struct{})
	for i := range chargers {
		version := "1.6"
		if i%2 == 1 {
			version = "2.0.1"
		}
		id := fmt.Sprintf("K9-%03d", i)
		st := ts.dial(id, version)
		wg.Add(1)
		go func() {
			defer wg.Done()
			driveCharger(st, got, stopAt)
		}()
	}
	// Let the fleet run, then pull the plug on the server.
	time.Sleep(1500 * time.Millisecond)
	if err := child.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.cmd.Wait()
	close(stopAt)
	wg.Wait()

	startChild(t, db, addr)
	total := 0
	for i := range chargers {
		id := fmt.Sprintf("K9-%03d", i)
		got.mu.Lock()
		txID, energies := got.txID[id], append([]float64(nil), got.energies[id]...)
		got.mu.Unlock()
		if txID == "" {
			continue // the kill came before this charger's start was acknowledged
		}
		sess := sessionByTx(t, ts, id, txID)
		stored := map[float64]bool{}
		cursor := ""
		for {
			page := ts.mustDo(http.StatusOK, "GET", "/api/v1/sessions/"+sess["id"].(string)+"/meter-values?limit=500"+cursor, nil)
			for _, it := range page["items"].([]any) {
				stored[it.(map[string]any)["value"].(float64)] = true
			}
			next, _ := page["nextCursor"].(string)
			if next == "" {
				break
			}
			cursor = "&cursor=" + next
		}
		for _, e := range energies {
			if !stored[e] {
				t.Errorf("%s: acknowledged reading %v Wh is missing after kill -9", id, e)
			}
		}
		total += len(energies)
	}
	if total < chargers {
		t.Fatalf("only %d readings were acknowledged before the kill: the test proved little", total)
	}
	t.Logf("%d acknowledged readings from %d chargers all present after kill -9", total, chargers)
}

// driveCharger starts a transaction and sends meter values until the connection dies.
func driveCharger(st *ocpptest.Station, got *acked, stop <-chan struct{}) {
	const timeout = 5 * time.Second
	t0 := time.Now().UTC().Truncate(time.Second)
	var txID string
	if st.Version == "1.6" {
		reply, err := st.TryCall("StartTransaction", map[string]any{"connectorId": 1, "idTag": "K9", "meterStart": 0, "timestamp": ts3339(t0)}, timeout)
		if err != nil || string(reply[0]) != "3" {
			return
		}
		var res struct{ TransactionId int }
		_ = json.Unmarshal(reply[2], &res)
		txID = fmt.Sprint(res.TransactionId)
	} else {
		txID = "TX-" + st.ID
		reply, err := st.TryCall("TransactionEvent", txEvent("Started", 0, t0, txID, map[string]any{"evse": map[string]any{"id": 1, "connectorId": 1}}), timeout)
		if err != nil || string(reply[0]) != "3" {
			return
		}
	}
	got.mu.Lock()
	got.txID[st.ID] = txID
	got.mu.Unlock()
	for n := 1; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		wh := float64(n * 100)
		at := t0.Add(time.Duration(n) * time.Second)
		var reply []json.RawMessage
		var err error
		if st.Version == "1.6" {
			var tx int
			fmt.Sscan(txID, &tx)
			reply, err = st.TryCall("MeterValues", map[string]any{"connectorId": 1, "transactionId": tx, "meterValue": []any{
				map[string]any{"timestamp": ts3339(at), "sampledValue": []any{map[string]any{"value": fmt.Sprint(wh)}}}}}, timeout)
		} else {
			reply, err = st.TryCall("TransactionEvent", txEvent("Updated", n, at, txID, map[string]any{"meterValue": energyMeter(at, wh, "Sample.Periodic")}), timeout)
		}
		if err != nil {
			return
		}
		if string(reply[0]) == "3" {
			got.mu.Lock()
			got.energies[st.ID] = append(got.energies[st.ID], wh)
			got.mu.Unlock()
		}
	}
}

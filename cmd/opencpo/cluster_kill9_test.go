package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/sim"
)

// startNodeProcess runs `opencpo serve` in its own process as a node of c.
func (c *testCluster) startNodeProcess(node, addr string) *exec.Cmd {
	t := c.t
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--addr", addr, "--db", c.db, "--api-token", testToken,
		"--nats", c.nats, "--node", node, "--cluster", c.name, "--node-ttl", "3s",
		"--unknown-stations", "accept", "--heartbeat-interval", "1h", "--log-level", "warn")
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
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s did not start", node)
	}
	return cmd
}

// balancer is a loopback TCP load balancer, as a cluster has in front of its nodes: each
// connection goes to the next backend that accepts it (round robin), so when a node dies its
// stations' reconnects land on the others.
type balancer struct {
	ln       net.Listener
	backends []string
	next     atomic.Uint64
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
}

func newBalancer(t *testing.T, backends []string) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, backends: backends, conns: map[net.Conn]struct{}{}}
	b.wg.Add(1)
	go b.accept()
	t.Cleanup(b.close)
	return b
}

func (b *balancer) addr() string { return b.ln.Addr().String() }

func (b *balancer) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.proxy(c)
		}()
	}
}

func (b *balancer) track(c net.Conn, add bool) {
	b.mu.Lock()
	if add {
		b.conns[c] = struct{}{}
	} else {
		delete(b.conns, c)
	}
	b.mu.Unlock()
}

func (b *balancer) proxy(client net.Conn) {
	defer client.Close()
	n := b.next.Add(1)
	var backend net.Conn
	for i := range b.backends {
		c, err := net.DialTimeout("tcp", b.backends[(int(n)+i)%len(b.backends)], time.Second)
		if err == nil {
			backend = c
			break
		}
	}
	if backend == nil {
		return
	}
	defer backend.Close()
	b.track(client, true)
	b.track(backend, true)
	defer b.track(client, false)
	defer b.track(backend, false)
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(backend, client)
		_ = backend.Close()
		close(done)
	}()
	_, _ = io.Copy(client, backend)
	_ = client.Close()
	<-done
}

func (b *balancer) close() {
	_ = b.ln.Close()
	b.mu.Lock()
	for c := range b.conns {
		_ = c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// ackLog records the transaction messages the CSMS acknowledged, as the stations saw them.
type ackLog struct {
	mu      sync.Mutex
	starts  map[string]int             // station → acknowledged 1.6 StartTransaction count
	started map[string]bool            // station/txId of acknowledged 2.0.1 starts
	ended   map[string]bool            // station/txId of acknowledged stops
	samples map[string]map[int64]bool  // station/txId → acknowledged meter value times (µs)
	raw     map[string]json.RawMessage // for messages in failures
}

func newAckLog() *ackLog {
	return &ackLog{starts: map[string]int{}, started: map[string]bool{}, ended: map[string]bool{},
		samples: map[string]map[int64]bool{}, raw: map[string]json.RawMessage{}}
}

type ackedPayload struct {
	EventType       string          `json:"eventType"`
	TransactionID   json.RawMessage `json:"transactionId"`
	TransactionInfo struct {
		TransactionID string `json:"transactionId"`
	} `json:"transactionInfo"`
	MeterValue []struct {
		Timestamp time.Time `json:"timestamp"`
	} `json:"meterValue"`
}

func (l *ackLog) record(r sim.Reply) {
	if r.Error || !r.Transactional {
		return
	}
	var p ackedPayload
	if json.Unmarshal(r.Payload, &p) != nil {
		return
	}
	tx := strings.Trim(string(p.TransactionID), `"`)
	if p.TransactionInfo.TransactionID != "" {
		tx = p.TransactionInfo.TransactionID
	}
	key := r.StationID + "/" + tx
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case r.Action == "StartTransaction":
		l.starts[r.StationID]++
		return
	case r.Action == "StopTransaction", r.Action == "TransactionEvent" && p.EventType == "Ended":
		l.ended[key] = true
	case r.Action == "TransactionEvent" && p.EventType == "Started":
		l.started[key] = true
	}
	if r.Action == "MeterValues" && tx == "" {
		return // a reading outside a transaction
	}
	if r.Action == "MeterValues" || r.Action == "TransactionEvent" {
		for _, mv := range p.MeterValue {
			if l.samples[key] == nil {
				l.samples[key] = map[int64]bool{}
			}
			l.samples[key][mv.Timestamp.UnixMicro()] = true
		}
	}
}

// TestClusterKillDashNine runs three `opencpo serve` processes on one PostgreSQL database and
// one NATS server behind a loopback load balancer, with simulated chargers of both versions
// spread over them. Mid-run one node is killed with SIGKILL; its stations reconnect to the
// others and keep charging. Then every station must be reachable by a command given to either
// surviving node, every transaction message the CSMS acknowledged must be stored, and no
// session may exist twice.
func TestClusterKillDashNine(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns three server processes")
	}
	c := newTestCluster(t)
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	nodes := make([]*exec.Cmd, 3)
	for i := range nodes {
		nodes[i] = c.startNodeProcess(fmt.Sprintf("node-%d", i+1), addrs[i])
	}
	api := func(i int) *testServer { return &testServer{t: t, addr: addrs[i], official: c.official} }
	for _, uid := range sim.DefaultTokens() {
		api(0).mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": uid})
	}
	lb := newBalancer(t, addrs)

	const stations = 60
	acks := newAckLog()
	fleet, err := sim.New(sim.Config{
		URL: "ws://" + lb.addr() + "/ocpp", Stations: stations, IDPrefix: "K", Seed: 11,
		Versions:  []ocpp.Version{ocpp.V16, ocpp.V201},
		TimeScale: 300, MeterInterval: 5 * time.Minute,
		Behavior: sim.Behavior{ArrivalsPerDay: 60, MeanStay: 40 * time.Minute},
		RampUp:   time.Second, ReconnectMin: 50 * time.Millisecond, ReconnectMax: 500 * time.Millisecond,
		CallTimeout: 5 * time.Second, OnReply: acks.record,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fleet.Run(ctx) }()

	waitFor := func(what string, limit time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (fleet %+v)", what, fleet.Stats())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor("sessions before the kill", 2*time.Minute, func() bool { return fleet.Stats().SessionsCompleted >= 20 })
	if err := nodes[1].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = nodes[1].Wait()
	atKill := fleet.Stats()
	t.Logf("node-2 killed with SIGKILL; fleet so far: %+v", atKill)
	waitFor("sessions after the kill", 2*time.Minute, func() bool {
		st := fleet.Stats()
		return st.SessionsCompleted >= atKill.SessionsCompleted+30 && st.Connects > atKill.Connects
	})

	// Every station answers a command given to either surviving node (its own or the other).
	for n := range stations {
		id := fmt.Sprintf("K-%04d", n+1)
		for _, i := range []int{0, 2} {
			var code int
			var body map[string]any
			waitFor(id+" reachable through node "+fmt.Sprint(i+1), 20*time.Second, func() bool {
				code, body = api(i).do("POST", "/api/v1/stations/"+id+"/ocpp/TriggerMessage", map[string]any{"requestedMessage": "Heartbeat"})
				return code == http.StatusOK
			})
			if body["status"] != "Accepted" {
				t.Fatalf("%s TriggerMessage through node-%d = %d %v", id, i+1, code, body)
			}
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("fleet: %v", err)
	}
	final := fleet.Stats()
	t.Logf("fleet: %+v", final)
	if final.Errors != 0 {
		t.Errorf("stations saw %d errors", final.Errors)
	}

	checkAcknowledged(t, api(2), acks)
}

// checkAcknowledged compares what the stations saw acknowledged with what the API has.
func checkAcknowledged(t *testing.T, ts *testServer, acks *ackLog) {
	t.Helper()
	type session struct{ id, status string }
	sessions := map[string]session{} // station/txId
	perStation := map[string]int{}
	for cursor := ""; ; {
		page := ts.mustDo(http.StatusOK, "GET", "/api/v1/sessions?limit=500"+cursor, nil)
		for _, it := range page["items"].([]any) {
			s := it.(map[string]any)
			key := fmt.Sprint(s["stationId"], "/", s["transactionId"])
			if _, dup := sessions[key]; dup {
				t.Errorf("transaction %s recorded twice", key)
			}
			sessions[key] = session{id: s["id"].(string), status: s["status"].(string)}
			perStation[s["stationId"].(string)]++
		}
		next, ok := page["nextCursor"].(string)
		if !ok {
			break
		}
		cursor = "&cursor=" + next
	}
	acks.mu.Lock()
	defer acks.mu.Unlock()
	for st, n := range acks.starts {
		if perStation[st] < n {
			t.Errorf("%s: %d starts acknowledged, %d sessions stored", st, n, perStation[st])
		}
	}
	for key := range acks.started {
		if _, ok := sessions[key]; !ok {
			t.Errorf("acknowledged start of %s is missing", key)
		}
	}
	for key := range acks.ended {
		if s, ok := sessions[key]; !ok || s.status != "completed" {
			t.Errorf("acknowledged stop of %s: session %+v", key, s)
		}
	}
	readings := 0
	for key, times := range acks.samples {
		s, ok := sessions[key]
		if !ok {
			t.Errorf("meter values acknowledged for %s, which has no session", key)
			continue
		}
		stored := map[int64]bool{}
		for cursor := ""; ; {
			page := ts.mustDo(http.StatusOK, "GET", "/api/v1/sessions/"+s.id+"/meter-values?limit=500"+cursor, nil)
			for _, it := range page["items"].([]any) {
				at, _ := time.Parse(time.RFC3339Nano, it.(map[string]any)["at"].(string))
				stored[at.UnixMicro()] = true
			}
			next, ok := page["nextCursor"].(string)
			if !ok {
				break
			}
			cursor = "&cursor=" + next
		}
		for at := range times {
			if !stored[at] {
				t.Errorf("%s: the acknowledged meter value of %s is missing", key, time.UnixMicro(at).UTC().Format(time.RFC3339Nano))
			}
			readings++
		}
	}
	if len(acks.ended) < 50 || readings < 100 {
		t.Fatalf("only %d stops and %d readings acknowledged: the test proved little", len(acks.ended), readings)
	}
	t.Logf("%d sessions stored once each; %d acknowledged stops and %d acknowledged readings all found", len(sessions), len(acks.ended), readings)
}

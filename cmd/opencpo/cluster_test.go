package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpptest"
	"github.com/opencpo/opencpo/internal/store/postgres"
)

// TestClusterRoutesCommands: a raw OCPP call given to any node reaches the station on the
// node that holds it, with the status codes of CONTRACT §3 across nodes.
func TestClusterRoutesCommands(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.node("node-a"), c.node("node-b")

	st := a.dial("CL-1", "1.6")
	st.MustCall("BootNotification", boot16())
	st.Handle("Reset", func(json.RawMessage) any { return map[string]any{"status": "Accepted"} })
	st.Handle("UnlockConnector", func(json.RawMessage) any {
		return &ocpptest.CallErrorReply{Code: "NotSupported", Description: "no lock here"}
	})
	st.Handle("ClearCache", func(json.RawMessage) any { time.Sleep(3 * time.Second); return map[string]any{"status": "Accepted"} })
	// The node that holds a connection records it in the background after the upgrade; until
	// that lands, the other nodes rightly answer 409 station_offline.
	eventually(t, "CL-1 recorded as connected", func() bool {
		code, body := b.do("GET", "/api/v1/stations/CL-1", nil)
		return code == http.StatusOK && body["connected"] == true
	})

	res := b.mustDo(http.StatusOK, "POST", "/api/v1/stations/CL-1/ocpp/Reset", map[string]any{"type": "Soft"})
	if res["status"] != "Accepted" {
		t.Fatalf("Reset through node-b = %v", res)
	}
	if got := st.Received(); len(got) != 1 || got[0].Action != "Reset" {
		t.Fatalf("station received %v", got)
	}
	code, body := b.do("POST", "/api/v1/stations/CL-1/ocpp/UnlockConnector", map[string]any{"connectorId": 1})
	if e := body["error"].(map[string]any); code != http.StatusBadGateway || e["code"] != "ocpp_call_error" || e["ocppErrorCode"] != "NotSupported" {
		t.Fatalf("CALLERROR through node-b = %d %v", code, body)
	}
	start := time.Now()
	code, body = b.do("POST", "/api/v1/stations/CL-1/ocpp/ClearCache?timeout=1s", map[string]any{})
	if code != http.StatusGatewayTimeout || errorCode(body) != "timeout" || time.Since(start) > 2500*time.Millisecond {
		t.Fatalf("a silent station through node-b = %d %v after %v", code, body, time.Since(start))
	}
	// The audit entry is written by the node the command was given to, with its actor.
	audit := a.mustDo(http.StatusOK, "GET", "/api/v1/audit?stationId=CL-1", nil)["items"].([]any)
	if len(audit) != 3 {
		t.Fatalf("audit has %d entries, want 3: %v", len(audit), audit)
	}

	// A station connected nowhere is 409 on every node.
	b.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "CL-NEVER"})
	if code, body := b.do("POST", "/api/v1/stations/CL-NEVER/ocpp/Reset", map[string]any{"type": "Soft"}); code != http.StatusConflict {
		t.Fatalf("never connected = %d %v", code, body)
	}
	st.Close()
	eventually(t, "CL-1 offline", func() bool {
		code, body := b.do("POST", "/api/v1/stations/CL-1/ocpp/Reset", map[string]any{"type": "Soft"})
		return code == http.StatusConflict && errorCode(body) == "station_offline"
	})
}

// TestClusterTakeover: a station that reconnects to another node belongs to it; the old node
// drops its stale socket and does not mark the station offline; events reach every node.
func TestClusterTakeover(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.node("node-a"), c.node("node-b")
	eventsA := openEvents(t, a, "")

	old := a.dial("TK-1", "2.0.1")
	if e := eventsA.next(domain.EventStationConnected); e.StationID != "TK-1" || e.Node != "node-a" {
		t.Fatalf("connected event on node-a: %+v", e)
	}
	eventsB := openEvents(t, b, "")
	moved := b.dial("TK-1", "2.0.1")
	if e := eventsA.next(domain.EventStationConnected); e.StationID != "TK-1" || e.Node != "node-b" {
		t.Fatalf("node-a did not hear of the move: %+v", e)
	}
	select {
	case <-old.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("node-a kept the stale connection")
	}
	// The stale socket's end is no disconnection: the station is online, held by node-b.
	time.Sleep(300 * time.Millisecond)
	for _, n := range []*testServer{a, b} {
		if st := n.mustDo(http.StatusOK, "GET", "/api/v1/stations/TK-1", nil); st["connected"] != true {
			t.Fatalf("station after the move: %v", st)
		}
	}
	select {
	case e := <-eventsB.events:
		if e.Kind == domain.EventStationDisconnected {
			t.Fatalf("the stale socket's end was announced: %+v", e)
		}
	default:
	}
	// Commands given to the old node reach the station on its new one.
	moved.Handle("GetVariables", func(json.RawMessage) any {
		return map[string]any{"getVariableResult": []any{map[string]any{"attributeStatus": "Accepted",
			"component": map[string]any{"name": "OCPPCommCtrlr"}, "variable": map[string]any{"name": "HeartbeatInterval"}, "attributeValue": "60"}}}
	})
	a.mustDo(http.StatusOK, "POST", "/api/v1/stations/TK-1/ocpp/GetVariables",
		map[string]any{"getVariableData": []any{map[string]any{"component": map[string]any{"name": "OCPPCommCtrlr"}, "variable": map[string]any{"name": "HeartbeatInterval"}}}})

	// A status on node-b is seen live on node-a.
	moved.MustCall("StatusNotification", map[string]any{"timestamp": nowRFC3339(), "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1})
	if e := eventsA.next(domain.EventConnectorStatus); e.StationID != "TK-1" || e.Node != "node-b" || e.Status != "Occupied" {
		t.Fatalf("status event on node-a: %+v", e)
	}
}

// TestClusterReapsDeadNode: a station left "connected" by a node that died (no heartbeat) is
// offline for commands at once (409, its node does not answer) and is marked disconnected by the
// node holding the reaper lease; a node that joins resets only its own stations.
func TestClusterReapsDeadNode(t *testing.T) {
	c := newTestCluster(t)
	a := c.node("node-a")
	b := c.node("node-b")
	a.dial("RP-A", "1.6")
	b.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "RP-GHOST"})
	b.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "RP-SINGLE"})
	eventually(t, "RP-A online", func() bool {
		return b.mustDo(http.StatusOK, "GET", "/api/v1/stations/RP-A", nil)["connected"] == true
	})
	events := openEvents(t, a, "")
	// What a node killed with SIGKILL leaves behind: a connection it recorded, and no heartbeat.
	store, err := postgres.Open(t.Context(), c.db, postgres.Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.ClaimStation(t.Context(), "RP-GHOST", "node-ghost", domain.OCPP16, time.Now()); err != nil {
		t.Fatal(err)
	}
	// And what a single node left before the database became a cluster's: no node at all.
	if err := store.SetConnected(t.Context(), "RP-SINGLE", true, domain.OCPP16, time.Now()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if code, body := b.do("POST", "/api/v1/stations/RP-GHOST/ocpp/Reset", map[string]any{"type": "Soft"}); code != http.StatusConflict || time.Since(start) > 2*time.Second {
		t.Fatalf("a command for a dead node's station = %d %v after %v; want 409 at once", code, body, time.Since(start))
	}
	deadline := time.Now().Add(15 * time.Second)
	for a.mustDo(http.StatusOK, "GET", "/api/v1/stations/RP-GHOST", nil)["connected"] == true ||
		a.mustDo(http.StatusOK, "GET", "/api/v1/stations/RP-SINGLE", nil)["connected"] == true {
		if time.Now().After(deadline) {
			t.Fatal("the dead node's (or the single node's) station still counts as connected after 15s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	reaped := map[string]bool{}
	for range 2 {
		reaped[events.next(domain.EventStationDisconnected).StationID] = true
	}
	if !reaped["RP-GHOST"] || !reaped["RP-SINGLE"] {
		t.Fatalf("disconnected events for %v", reaped)
	}
	// A node joining (or restarting) resets nothing of the others'.
	c.node("node-c")
	for _, id := range []string{"RP-A"} {
		if st := a.mustDo(http.StatusOK, "GET", "/api/v1/stations/"+id, nil); st["connected"] != true {
			t.Fatalf("a joining node reset another node's station: %v", st)
		}
	}
}

func TestClusterFlags(t *testing.T) {
	env := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nats", "nats://127.0.0.1:4222", "--db", "x.db"}, "needs a PostgreSQL database"},
		{[]string{"--nats", "http://127.0.0.1:4222", "--db", "postgres://h/db"}, "nats:// URL"},
		{[]string{"--nats", "nats://127.0.0.1:4222", "--db", "postgres://h/db", "--node", "a b"}, "printable characters"},
		{[]string{"--nats", "nats://127.0.0.1:4222", "--db", "postgres://h/db", "--node", "n1", "--node-ttl", "1s"}, "at least 3s"},
	} {
		_, err := parseServeFlags("serve", tc.args, env, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error about %q", tc.args, err, tc.want)
		}
	}
	cfg, err := parseServeFlags("serve", []string{"--nats", "nats://a:4222,nats://b:4222", "--db", "postgres://h/db"},
		func(k string) string {
			return map[string]string{"OPENCPO_NODE": "node-7", "OPENCPO_CLUSTER": "east"}[k]
		}, io.Discard)
	if err != nil || cfg.Node != "node-7" || cfg.Cluster != "east" || cfg.NodeTTL != 15*time.Second {
		t.Fatalf("cluster settings from the environment: %+v, %v", cfg, err)
	}
}

// TestClusterRollingRestart: a node stopped cleanly (SIGTERM) mid-session closes its sockets and
// releases its stations; the station reconnects to another node and finishes the same session
// there, recorded once.
func TestClusterRollingRestart(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.node("node-a"), c.node("node-b")
	b.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": "RR-TAG"})

	st := a.dial("RR-1", "1.6")
	st.MustCall("BootNotification", boot16())
	r := decode[map[string]any](t, st.MustCall("StartTransaction",
		map[string]any{"connectorId": 1, "idTag": "RR-TAG", "meterStart": 1000, "timestamp": nowRFC3339()}))
	tx := r["transactionId"]

	a.stop()
	select {
	case <-st.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the stopped node kept the station's socket")
	}
	if got := b.mustDo(http.StatusOK, "GET", "/api/v1/stations/RR-1", nil); got["connected"] != false {
		t.Fatalf("after a clean stop the station still counts as connected: %v", got)
	}

	moved := b.dial("RR-1", "1.6")
	moved.MustCall("BootNotification", boot16())
	moved.MustCall("MeterValues", map[string]any{"connectorId": 1, "transactionId": tx, "meterValue": []any{
		map[string]any{"timestamp": nowRFC3339(), "sampledValue": []any{map[string]any{"value": "3000"}}}}})
	moved.MustCall("StopTransaction", map[string]any{"transactionId": tx, "meterStop": 5000, "timestamp": nowRFC3339()})

	items := b.mustDo(http.StatusOK, "GET", "/api/v1/sessions?stationId=RR-1", nil)["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("%d sessions, want the one session: %v", len(items), items)
	}
	if s := items[0].(map[string]any); s["status"] != "completed" || s["energyWh"] != 4000.0 {
		t.Fatalf("session after the restart: %v", s)
	}
}

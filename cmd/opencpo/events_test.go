package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// eventStream reads GET /api/v1/events as a client would.
type eventStream struct {
	t      *testing.T
	events chan domain.Event
}

func openEvents(t *testing.T, ts *testServer, query string) *eventStream {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+ts.addr+"/api/v1/events"+query, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	es := &eventStream{t: t, events: make(chan domain.Event, 100)}
	go func() {
		defer close(es.events)
		sc := bufio.NewScanner(resp.Body)
		var kind string
		for sc.Scan() {
			line := sc.Text()
			if k, ok := strings.CutPrefix(line, "event: "); ok {
				kind = k
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var e domain.Event
				if err := json.Unmarshal([]byte(data), &e); err != nil || string(e.Kind) != kind {
					t.Errorf("bad event %q (event line %q): %v", data, kind, err)
					return
				}
				es.events <- e
			}
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return es
}

// next waits for the next event of kind, skipping others.
func (es *eventStream) next(kind domain.EventKind) domain.Event {
	es.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e, open := <-es.events:
			if !open {
				es.t.Fatalf("stream ended before a %s event", kind)
			}
			if e.Kind == kind {
				return e
			}
		case <-deadline:
			es.t.Fatalf("no %s event within 5s", kind)
		}
	}
}

func TestLiveEventsFollowStationsAndSessions(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": "TAG-EV"})
	all := openEvents(t, ts, "")
	other := openEvents(t, ts, "?stationId=EV-OTHER")

	st := ts.dial("EV-1", "1.6")
	if e := all.next(domain.EventStationConnected); e.StationID != "EV-1" {
		t.Fatalf("connected event %+v", e)
	}
	st.MustCall("BootNotification", boot16())
	if e := all.next(domain.EventStationBooted); e.Status != "Accepted" {
		t.Fatalf("booted event %+v", e)
	}
	st.MustCall("StatusNotification", map[string]any{"connectorId": 1, "errorCode": "NoError", "status": "Preparing"})
	if e := all.next(domain.EventConnectorStatus); e.EVSEID != 1 || e.Status != "Occupied" {
		t.Fatalf("status event %+v", e)
	}
	start := map[string]any{"connectorId": 1, "idTag": "TAG-EV", "meterStart": 1000, "timestamp": nowRFC3339()}
	r := decode[map[string]any](t, st.MustCall("StartTransaction", start))
	started := all.next(domain.EventSessionStarted)
	if started.SessionID != int64(r["transactionId"].(float64)) || started.Status != "active" {
		t.Fatalf("started event %+v for %v", started, r)
	}
	st.MustCall("StartTransaction", start) // a retransmission changes nothing, so it says nothing
	st.MustCall("StopTransaction", map[string]any{"transactionId": r["transactionId"], "meterStop": 4000, "timestamp": nowRFC3339()})
	ended := all.next(domain.EventSessionEnded)
	if ended.SessionID != started.SessionID || ended.EnergyWh == nil || *ended.EnergyWh != 3000 {
		t.Fatalf("ended event %+v", ended)
	}
	select {
	case e := <-other.events:
		t.Fatalf("a stream for another station got %+v", e)
	default:
	}

	if code, _ := ts.doToken("", "GET", "/api/v1/events", nil); code != http.StatusUnauthorized {
		t.Fatalf("events without a token: %d", code)
	}
}

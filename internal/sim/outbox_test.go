package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/opencpo/opencpo/internal/ocpp"
)

func offlineStation(t *testing.T, v ocpp.Version) *Station {
	t.Helper()
	s, err := NewStation(StationConfig{ID: "CP-Q", Version: v, URL: "ws://127.0.0.1:1/ocpp",
		EVSEs: []EVSE{{MaxPowerW: 11000}}, Seed: 7, Behavior: Behavior{ArrivalsPerDay: -1}})
	if err != nil {
		t.Fatal(err)
	}
	s.commissioned = true // accepted once, now offline
	return s
}

type sentMsg struct {
	action  string
	payload map[string]any
}

// drain plays the CSMS for everything queued: it sends the messages in queue order, answering
// StartTransaction with the next of ids.
func drain(t *testing.T, s *Station, ids ...int) []sentMsg {
	t.Helper()
	var out []sentMsg
	for {
		m := s.ob.next(true)
		if m == nil {
			return out
		}
		raw, err := m.freeze()
		if err != nil {
			if m.onFail != nil {
				m.onFail(nil)
			}
			out = append(out, sentMsg{action: m.action + " (dropped: " + err.Error() + ")"})
			continue
		}
		if err := s.checkRequest(m.action, raw); err != nil {
			t.Errorf("%s payload invalid: %v\n%s", m.action, err, raw)
		}
		var p map[string]any
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, sentMsg{m.action, p})
		if m.action == "StartTransaction" && m.onReply != nil {
			id := ids[0]
			ids = ids[1:]
			m.onReply(json.RawMessage(fmt.Sprintf(`{"transactionId":%d,"idTagInfo":{"status":"Accepted"}}`, id)))
		}
	}
}

// Transaction messages made offline wait in order; a StartTransaction's id is unknown until the
// CSMS answers it, and the later messages of that transaction carry the id it returned.
func TestOfflineQueuePlaceholder16(t *testing.T) {
	s := offlineStation(t, ocpp.V16)
	e := s.evses[0]

	if !s.arrive(e, "TOKEN-A") {
		t.Fatal("arrive failed")
	}
	s.tap(e) // offline: authorized locally, StartTransaction queued
	if e.tx == nil {
		t.Fatal("no transaction started offline")
	}
	s.proto.meter(e, e.tx, readPeriodic)
	s.send(s.proto.heartbeatMsg()) // not a transaction message: not queued offline
	s.proto.meter(e, e.tx, readPeriodic)
	s.endTx(e, stopLocal)
	s.unplug(e)
	s.arrive(e, "TOKEN-B")
	s.tap(e)
	s.proto.meter(e, e.tx, readPeriodic)

	got := drain(t, s, 101, 102)
	want := []struct {
		action string
		txID   float64
	}{{"StartTransaction", 0}, {"MeterValues", 101}, {"MeterValues", 101}, {"StopTransaction", 101}, {"StartTransaction", 0}, {"MeterValues", 102}}
	if len(got) != len(want) {
		t.Fatalf("sent %d messages, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].action != w.action {
			t.Errorf("message %d is %s, want %s", i, got[i].action, w.action)
			continue
		}
		if w.txID != 0 && got[i].payload["transactionId"] != w.txID {
			t.Errorf("message %d (%s) has transactionId %v, want %v", i, w.action, got[i].payload["transactionId"], w.txID)
		}
	}
	if got[0].payload["idTag"] != "TOKEN-A" || got[4].payload["idTag"] != "TOKEN-B" {
		t.Errorf("idTags %v, %v", got[0].payload["idTag"], got[4].payload["idTag"])
	}
	if got[3].payload["reason"] != "Local" || got[3].payload["idTag"] != "TOKEN-A" {
		t.Errorf("StopTransaction %v", got[3].payload)
	}
}

// A StartTransaction the CSMS never answers leaves its transaction without an id: the rest of
// that transaction cannot be sent and is dropped, later transactions are unaffected.
func TestOfflineQueueStartNeverAnswered16(t *testing.T) {
	s := offlineStation(t, ocpp.V16)
	e := s.evses[0]
	s.arrive(e, "TOKEN-A")
	s.tap(e)
	s.proto.meter(e, e.tx, readPeriodic)

	start := s.ob.next(true)
	if start.action != "StartTransaction" {
		t.Fatalf("first message %s", start.action)
	}
	if _, err := start.freeze(); err != nil {
		t.Fatal(err)
	}
	if start.onFail != nil {
		start.onFail(errors.New("CALLERROR"))
	}
	meter := s.ob.next(true)
	if _, err := meter.freeze(); !errors.Is(err, errNoTransactionID) {
		t.Errorf("meter value of an unanswered start: %v, want errNoTransactionID", err)
	}
}

// 2.0.1 events made offline carry offline=true and consecutive seqNos from 0.
func TestOfflineQueue201(t *testing.T) {
	s := offlineStation(t, ocpp.V201)
	e := s.evses[0]
	s.arrive(e, "TOKEN-A")
	s.tap(e)
	s.proto.meter(e, e.tx, readPeriodic)
	s.proto.meter(e, e.tx, readPeriodic)
	s.endTx(e, stopEVDisconnected)
	s.unplug(e)

	got := drain(t, s)
	wantTypes := []string{"Started", "Updated", "Updated", "Ended"}
	if len(got) != len(wantTypes) {
		t.Fatalf("sent %+v", got)
	}
	var txID any
	for i, m := range got {
		if m.action != "TransactionEvent" || m.payload["eventType"] != wantTypes[i] {
			t.Errorf("message %d: %s %v, want TransactionEvent %s", i, m.action, m.payload["eventType"], wantTypes[i])
		}
		if m.payload["seqNo"] != float64(i) {
			t.Errorf("message %d seqNo %v", i, m.payload["seqNo"])
		}
		if m.payload["offline"] != true {
			t.Errorf("message %d not marked offline", i)
		}
		info := m.payload["transactionInfo"].(map[string]any)
		if i == 0 {
			txID = info["transactionId"]
		} else if info["transactionId"] != txID {
			t.Errorf("message %d belongs to %v, want %v", i, info["transactionId"], txID)
		}
	}
	end := got[3].payload
	if end["triggerReason"] != "EVCommunicationLost" || end["transactionInfo"].(map[string]any)["stoppedReason"] != "EVDisconnected" {
		t.Errorf("Ended %v", end)
	}
	if got[0].payload["idToken"].(map[string]any)["idToken"] != "TOKEN-A" {
		t.Errorf("Started without the token: %v", got[0].payload)
	}
}

func TestOutboxOrderAndOverflow(t *testing.T) {
	ob := outbox{max: 4}
	mk := func(action string, tx, meter bool) *outMsg { return &outMsg{action: action, tx: tx, meter: meter} }
	ob.push(mk("Start", true, false))
	ob.push(mk("Status", false, false))
	ob.push(mk("Meter1", true, true))
	ob.push(mk("Meter2", true, true))
	if gone := ob.push(mk("Stop", true, false)); gone == nil || gone.action != "Meter1" {
		t.Fatalf("overflow dropped %v, want Meter1", gone)
	}
	if gone := ob.dropVolatile(); len(gone) != 1 || gone[0].action != "Status" {
		t.Fatalf("dropVolatile removed %v", gone)
	}
	ob.pushFront(mk("Boot", false, false))
	var order []string
	for m := ob.next(true); m != nil; m = ob.next(true) {
		order = append(order, m.action)
	}
	if fmt.Sprint(order) != "[Boot Start Meter2 Stop]" {
		t.Errorf("order %v", order)
	}
	ob.push(mk("Meter", true, true))
	ob.push(&outMsg{action: "Boot", pendingOK: true})
	if m := ob.next(false); m == nil || m.action != "Boot" {
		t.Errorf("before the boot is accepted only pendingOK messages go: got %v", m)
	}
}

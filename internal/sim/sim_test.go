package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
)

var versions = []ocpp.Version{ocpp.V16, ocpp.V201}

// energyOf finds the energy register in a 1.6 meterValue / transactionData list or a 2.0.1
// meterValue list.
func energyOf(mvs any) (float64, bool) {
	list, _ := mvs.([]any)
	for _, mv := range list {
		svs, _ := mv.(map[string]any)["sampledValue"].([]any)
		for _, sv := range svs {
			m := sv.(map[string]any)
			if m["measurand"] == "Energy.Active.Import.Register" {
				return num(m["value"]), true
			}
		}
	}
	return 0, false
}

func measurandOf(mvs any, measurand string) (float64, bool) {
	list, _ := mvs.([]any)
	for _, mv := range list {
		svs, _ := mv.(map[string]any)["sampledValue"].([]any)
		for _, sv := range svs {
			m := sv.(map[string]any)
			if m["measurand"] == measurand {
				return num(m["value"]), true
			}
		}
	}
	return 0, false
}

// checkFlow16 checks every 1.6 transaction a station reported: StartTransaction first, then its
// meter values, then one StopTransaction; the register never goes down. It returns the
// number of completed transactions.
func checkFlow16(t *testing.T, f *fakeCSMS, station string) int {
	t.Helper()
	type tx struct {
		connector int
		last      float64
		stopped   bool
		stop      []byte
	}
	txs := map[float64]*tx{}
	completed := 0
	for _, r := range f.calls(station, "StartTransaction", "MeterValues", "StopTransaction") {
		p := payloadOf(t, r)
		switch r.f.Action {
		case "StartTransaction":
			var ans map[string]any
			_ = json.Unmarshal(r.answer, &ans)
			txs[num(ans["transactionId"])] = &tx{connector: int(num(p["connectorId"])), last: num(p["meterStart"])}
		case "MeterValues":
			id, ok := p["transactionId"]
			if !ok {
				continue // a triggered reading outside a transaction
			}
			x := txs[num(id)]
			if x == nil || x.stopped {
				t.Errorf("%s: MeterValues for transaction %v outside Start…Stop", station, id)
				continue
			}
			e, ok := energyOf(p["meterValue"])
			if !ok || e < x.last {
				t.Errorf("%s: transaction %v register %v after %v", station, id, e, x.last)
			}
			x.last = e
		case "StopTransaction":
			x := txs[num(p["transactionId"])]
			switch {
			case x == nil:
				t.Errorf("%s: StopTransaction for unknown transaction %v", station, p["transactionId"])
			case x.stopped && !bytes.Equal(x.stop, r.f.Payload):
				t.Errorf("%s: transaction %v stopped twice", station, p["transactionId"])
			case !x.stopped:
				if num(p["meterStop"]) < x.last {
					t.Errorf("%s: meterStop %v below the last reading %v", station, p["meterStop"], x.last)
				}
				x.stopped, x.stop = true, r.f.Payload
				completed++
			}
		}
	}
	return completed
}

// checkFlow201 checks every 2.0.1 transaction: Started with seqNo 0 and the token, then
// Updated, then Ended, seqNo going up by one (a retransmission repeats a payload exactly),
// register monotonic. It returns the number of completed transactions.
func checkFlow201(t *testing.T, f *fakeCSMS, station string) int {
	t.Helper()
	type tx struct {
		seq   float64
		last  float64
		ended bool
		prev  []byte
	}
	txs := map[string]*tx{}
	completed := 0
	for _, r := range f.calls(station, "TransactionEvent") {
		p := payloadOf(t, r)
		info := p["transactionInfo"].(map[string]any)
		id := info["transactionId"].(string)
		seq := num(p["seqNo"])
		x := txs[id]
		if x != nil && bytes.Equal(x.prev, r.f.Payload) {
			continue // retransmission
		}
		switch p["eventType"] {
		case "Started":
			if x != nil {
				t.Errorf("%s: transaction %s started twice", station, id)
				continue
			}
			if seq != 0 || p["idToken"] == nil || p["evse"] == nil {
				t.Errorf("%s: Started %v", station, p)
			}
			e, _ := energyOf(p["meterValue"])
			txs[id] = &tx{seq: seq, last: e, prev: r.f.Payload}
			continue
		case "Updated", "Ended":
			if x == nil || x.ended {
				t.Errorf("%s: %s for transaction %s outside Started…Ended", station, p["eventType"], id)
				continue
			}
		}
		if seq != x.seq+1 {
			t.Errorf("%s: transaction %s seqNo %v after %v", station, id, seq, x.seq)
		}
		x.seq, x.prev = seq, r.f.Payload
		if e, ok := energyOf(p["meterValue"]); ok {
			if e < x.last {
				t.Errorf("%s: transaction %s register %v after %v", station, id, e, x.last)
			}
			x.last = e
		}
		if p["eventType"] == "Ended" {
			x.ended = true
			completed++
			if info["stoppedReason"] == nil {
				t.Errorf("%s: Ended without stoppedReason", station)
			}
		}
	}
	return completed
}

func checkFlow(t *testing.T, f *fakeCSMS, v ocpp.Version, station string) int {
	if v == ocpp.V16 {
		return checkFlow16(t, f, station)
	}
	return checkFlow201(t, f, station)
}

// Random sessions at high speed: every frame valid, every transaction in order.
func TestRandomSessions(t *testing.T) {
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			f := newFakeCSMS(t)
			id := "CP-RND-" + strings.ReplaceAll(string(v), ".", "")
			s := startStation(t, StationConfig{ID: id, Version: v, URL: f.url(), Seed: 11, TimeScale: 3000,
				EVSEs:    []EVSE{{MaxPowerW: 50000, DC: true}, {MaxPowerW: 22000, Phases: 3}},
				Behavior: Behavior{ArrivalsPerDay: 300, MeanStay: 30 * time.Minute, FaultsPerDay: 20}})
			waitFor(t, 10*time.Second, "4 completed sessions", func() bool { return s.Stats().SessionsCompleted >= 4 })
			if n := checkFlow(t, f, v, id); n < 4 {
				t.Errorf("%d completed transactions in the record", n)
			}
			if len(f.calls(id, "Heartbeat")) == 0 {
				t.Error("no heartbeat")
			}
			st := s.Stats()
			if st.EnergyWh <= 0 || st.MessagesAcked == 0 || st.Boots != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// A network drop: the station keeps charging, queues its transaction messages and delivers
// them in order after it reconnects and boots; a 1.6 transaction started offline gets the
// CSMS's id in its later messages.
func TestOfflineDelivery(t *testing.T) {
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			f := newFakeCSMS(t)
			id := "CP-OFF-" + strings.ReplaceAll(string(v), ".", "")
			s := startStation(t, StationConfig{ID: id, Version: v, URL: f.url(), Seed: 5, MeterInterval: 30 * time.Second})
			accepted(t, s)
			if err := s.Arrive(context.Background(), 1, "TOK1"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "readings online", func() bool {
				return len(f.calls(id, "MeterValues", "TransactionEvent")) >= 3
			})

			f.refuse(id, true)
			f.drop(id)
			waitFor(t, 5*time.Second, "offline", func() bool { snap, _ := s.Snapshot(context.Background()); return !snap.Online })
			waitFor(t, 5*time.Second, "a backlog", func() bool { snap, _ := s.Snapshot(context.Background()); return snap.Queued >= 3 })
			if err := s.Depart(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			if err := s.Arrive(context.Background(), 1, "TOK2"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "an offline transaction with readings", func() bool {
				snap, _ := s.Snapshot(context.Background())
				return snap.EVSEs[0].PowerW > 0 && snap.Queued >= 8
			})
			offlineFrom := len(f.calls(id))
			f.refuse(id, false)
			waitFor(t, 5*time.Second, "backlog delivered", func() bool {
				snap, _ := s.Snapshot(context.Background())
				return snap.Online && snap.Queued == 0
			})
			if err := s.Depart(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "two completed sessions", func() bool { return s.Stats().SessionsCompleted == 2 })

			after := f.calls(id)[offlineFrom:]
			if after[0].f.Action != "BootNotification" {
				t.Errorf("first message after reconnecting: %s", after[0].f.Action)
			}
			var last time.Time
			for _, r := range after {
				if r.f.Action != "MeterValues" && r.f.Action != "TransactionEvent" {
					continue
				}
				p := payloadOf(t, r)
				var ts string
				if v == ocpp.V16 {
					ts = p["meterValue"].([]any)[0].(map[string]any)["timestamp"].(string)
				} else {
					ts = p["timestamp"].(string)
				}
				at, _ := time.Parse(time.RFC3339Nano, ts)
				if at.Before(last) {
					t.Errorf("backlog out of order: %s after %s", at, last)
				}
				last = at
			}
			if n := checkFlow(t, f, v, id); n != 2 {
				t.Errorf("%d completed transactions", n)
			}
			if v == ocpp.V201 {
				offline := 0
				for _, r := range after {
					if r.f.Action == "TransactionEvent" && payloadOf(t, r)["offline"] == true {
						offline++
					}
				}
				if offline < 5 {
					t.Errorf("only %d events marked offline", offline)
				}
			}
		})
	}
}

// A message whose answer is lost is sent again, byte for byte, after the reconnect.
func TestLostAnswerIsResent(t *testing.T) {
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			f := newFakeCSMS(t)
			id := "CP-LOST-" + strings.ReplaceAll(string(v), ".", "")
			s := startStation(t, StationConfig{ID: id, Version: v, URL: f.url(), Seed: 9})
			accepted(t, s)
			action := "MeterValues"
			if v == ocpp.V201 {
				action = "TransactionEvent"
			}
			if err := s.Arrive(context.Background(), 1, "TOK1"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "transaction started", func() bool { return s.Stats().SessionsStarted == 1 })
			f.mu.Lock()
			f.loseReply[action] = 1
			f.mu.Unlock()
			var lost recFrame
			waitFor(t, 5*time.Second, "the message sent again", func() bool {
				msgs := f.calls(id, action)
				for i, m := range msgs {
					if i > 0 && msgs[i-1].conn != m.conn && bytes.Equal(msgs[i-1].f.Payload, m.f.Payload) {
						lost = m
						return true
					}
				}
				return false
			})
			if lost.f.Payload == nil {
				t.Fatal("no retransmission")
			}
			if s.Stats().Retransmits == 0 {
				t.Error("retransmission not counted")
			}
		})
	}
}

func TestResetReboots(t *testing.T) {
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			f := newFakeCSMS(t)
			id := "CP-RST-" + strings.ReplaceAll(string(v), ".", "")
			s := startStation(t, StationConfig{ID: id, Version: v, URL: f.url(), Seed: 2})
			accepted(t, s)
			if err := s.Arrive(context.Background(), 1, "TOK1"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "transaction started", func() bool { return s.Stats().SessionsStarted == 1 })

			var status string
			if v == ocpp.V16 {
				status = result[struct{ Status string }](t, f, id, "Reset", map[string]string{"type": "Soft"}).Status
			} else {
				status = result[struct{ Status string }](t, f, id, "Reset", map[string]string{"type": "Immediate"}).Status
			}
			if status != "Accepted" {
				t.Fatalf("Reset: %s", status)
			}
			waitFor(t, 5*time.Second, "second boot and the stop delivered", func() bool {
				return len(f.calls(id, "BootNotification")) == 2 && s.Stats().SessionsCompleted == 1 && s.Stats().Connected == 1
			})
			boots := f.calls(id, "BootNotification")
			if boots[0].conn == boots[1].conn {
				t.Error("the station booted again on the same connection")
			}
			if v == ocpp.V16 {
				stop := payloadOf(t, f.calls(id, "StopTransaction")[0])
				if stop["reason"] != "SoftReset" {
					t.Errorf("StopTransaction reason %v", stop["reason"])
				}
			} else {
				if r := payloadOf(t, boots[1])["reason"]; r != "RemoteReset" {
					t.Errorf("boot reason %v", r)
				}
				evs := f.calls(id, "TransactionEvent")
				end := payloadOf(t, evs[len(evs)-1])
				if end["triggerReason"] != "ResetCommand" || end["transactionInfo"].(map[string]any)["stoppedReason"] != "ImmediateReset" {
					t.Errorf("Ended %v", end)
				}
			}
			checkFlow(t, f, v, id)
		})
	}
}

func TestResetOnIdle201(t *testing.T) {
	f := newFakeCSMS(t)
	s := startStation(t, StationConfig{ID: "CP-IDLE", Version: ocpp.V201, URL: f.url(), Seed: 2})
	accepted(t, s)
	if err := s.Arrive(context.Background(), 1, "TOK1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "transaction started", func() bool { return s.Stats().SessionsStarted == 1 })
	if r := result[struct{ Status string }](t, f, "CP-IDLE", "Reset", map[string]string{"type": "OnIdle"}); r.Status != "Scheduled" {
		t.Fatalf("Reset OnIdle during a transaction: %s", r.Status)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(f.calls("CP-IDLE", "BootNotification")); n != 1 {
		t.Fatalf("rebooted before idle (%d boots)", n)
	}
	if err := s.Depart(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "reboot once idle", func() bool { return len(f.calls("CP-IDLE", "BootNotification")) == 2 })
}

func TestRemoteStartStop(t *testing.T) {
	t.Run("1.6", func(t *testing.T) {
		t.Parallel()
		f := newFakeCSMS(t)
		s := startStation(t, StationConfig{ID: "CP-RS16", Version: ocpp.V16, URL: f.url(), Seed: 4,
			EVSEs: []EVSE{{MaxPowerW: 11000}, {MaxPowerW: 11000}}})
		accepted(t, s)
		r := result[struct{ Status string }](t, f, "CP-RS16", "RemoteStartTransaction", map[string]any{"connectorId": 2, "idTag": "REMOTE1"})
		if r.Status != "Accepted" {
			t.Fatalf("RemoteStart: %s", r.Status)
		}
		waitFor(t, 5*time.Second, "StartTransaction", func() bool { return s.Stats().SessionsStarted == 1 })
		start := f.calls("CP-RS16", "StartTransaction")[0]
		p := payloadOf(t, start)
		if p["idTag"] != "REMOTE1" || p["connectorId"] != 2.0 {
			t.Errorf("StartTransaction %v", p)
		}
		if r := result[struct{ Status string }](t, f, "CP-RS16", "RemoteStartTransaction", map[string]any{"connectorId": 2, "idTag": "X"}); r.Status != "Rejected" {
			t.Errorf("RemoteStart on a busy connector: %s", r.Status)
		}
		var ans struct{ TransactionId int }
		_ = json.Unmarshal(start.answer, &ans)
		if r := result[struct{ Status string }](t, f, "CP-RS16", "RemoteStopTransaction", map[string]any{"transactionId": ans.TransactionId + 1000}); r.Status != "Rejected" {
			t.Errorf("RemoteStop of an unknown transaction: %s", r.Status)
		}
		if r := result[struct{ Status string }](t, f, "CP-RS16", "RemoteStopTransaction", map[string]any{"transactionId": ans.TransactionId}); r.Status != "Accepted" {
			t.Fatalf("RemoteStop: %s", r.Status)
		}
		waitFor(t, 5*time.Second, "StopTransaction", func() bool { return s.Stats().SessionsCompleted == 1 })
		stop := payloadOf(t, f.calls("CP-RS16", "StopTransaction")[0])
		if stop["reason"] != "Remote" || num(stop["transactionId"]) != float64(ans.TransactionId) {
			t.Errorf("StopTransaction %v", stop)
		}
		checkFlow16(t, f, "CP-RS16")
	})
	t.Run("2.0.1", func(t *testing.T) {
		t.Parallel()
		f := newFakeCSMS(t)
		s := startStation(t, StationConfig{ID: "CP-RS201", Version: ocpp.V201, URL: f.url(), Seed: 4})
		accepted(t, s)
		r := result[struct{ Status string }](t, f, "CP-RS201", "RequestStartTransaction", map[string]any{
			"evseId": 1, "remoteStartId": 7, "idToken": map[string]string{"idToken": "R2", "type": "ISO14443"}})
		if r.Status != "Accepted" {
			t.Fatalf("RequestStart: %s", r.Status)
		}
		waitFor(t, 5*time.Second, "Started", func() bool { return s.Stats().SessionsStarted == 1 })
		p := payloadOf(t, f.calls("CP-RS201", "TransactionEvent")[0])
		info := p["transactionInfo"].(map[string]any)
		if p["eventType"] != "Started" || p["triggerReason"] != "RemoteStart" || info["remoteStartId"] != 7.0 ||
			p["idToken"].(map[string]any)["idToken"] != "R2" {
			t.Errorf("Started %v", p)
		}
		if r := result[struct{ Status string }](t, f, "CP-RS201", "RequestStopTransaction", map[string]any{"transactionId": info["transactionId"]}); r.Status != "Accepted" {
			t.Fatalf("RequestStop: %s", r.Status)
		}
		waitFor(t, 5*time.Second, "Ended", func() bool { return s.Stats().SessionsCompleted == 1 })
		evs := f.calls("CP-RS201", "TransactionEvent")
		end := payloadOf(t, evs[len(evs)-1])
		if end["triggerReason"] != "RemoteStop" || end["transactionInfo"].(map[string]any)["stoppedReason"] != "Remote" {
			t.Errorf("Ended %v", end)
		}
		checkFlow201(t, f, "CP-RS201")
	})
}

// A charging profile caps the power from the moment it is set; clearing it lifts the cap.
func TestChargingProfileLowersPower(t *testing.T) {
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			f := newFakeCSMS(t)
			id := "CP-PRO-" + strings.ReplaceAll(string(v), ".", "")
			s := startStation(t, StationConfig{ID: id, Version: v, URL: f.url(), Seed: 8, MeterInterval: 20 * time.Second,
				EVSEs: []EVSE{{MaxPowerW: 50000, DC: true}}})
			accepted(t, s)
			if err := s.Arrive(context.Background(), 1, "TOK1"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "charging", func() bool {
				snap, _ := s.Snapshot(context.Background())
				return snap.EVSEs[0].PowerW > 40000
			})
			const limitW = 10000
			var set string
			if v == ocpp.V16 {
				set = result[struct{ Status string }](t, f, id, "SetChargingProfile", map[string]any{"connectorId": 1,
					"csChargingProfiles": map[string]any{"chargingProfileId": 5, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
						"chargingProfileKind": "Relative", "chargingSchedule": map[string]any{"chargingRateUnit": "W",
							"chargingSchedulePeriod": []map[string]any{{"startPeriod": 0, "limit": limitW}}}}}).Status
			} else {
				set = result[struct{ Status string }](t, f, id, "SetChargingProfile", map[string]any{"evseId": 1,
					"chargingProfile": map[string]any{"id": 5, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
						"chargingProfileKind": "Relative", "chargingSchedule": []map[string]any{{"id": 1, "chargingRateUnit": "W",
							"chargingSchedulePeriod": []map[string]any{{"startPeriod": 0, "limit": limitW}}}}}}).Status
			}
			if set != "Accepted" {
				t.Fatalf("SetChargingProfile: %s", set)
			}
			mark := len(f.calls(id))
			snap, _ := s.Snapshot(context.Background())
			if e := snap.EVSEs[0]; e.LimitW != limitW || e.PowerW > limitW {
				t.Errorf("after the profile: limit %.0f W, power %.0f W", e.LimitW, e.PowerW)
			}
			waitFor(t, 5*time.Second, "readings under the limit", func() bool {
				n := 0
				for _, r := range f.calls(id)[mark:] {
					p := payloadOf(t, r)
					if w, ok := measurandOf(p["meterValue"], "Power.Active.Import"); ok {
						if w > limitW {
							t.Fatalf("power %.0f W above the %d W limit", w, limitW)
						}
						n++
					}
				}
				return n >= 3
			})
			if v == ocpp.V201 {
				found := false
				for _, r := range f.calls(id, "TransactionEvent")[0:] {
					if payloadOf(t, r)["triggerReason"] == "ChargingRateChanged" {
						found = true
					}
				}
				if !found {
					t.Error("no ChargingRateChanged event")
				}
				comp := result[struct {
					Status   string
					Schedule struct {
						ChargingSchedulePeriod []struct{ Limit float64 }
					}
				}](t, f, id, "GetCompositeSchedule", map[string]any{"evseId": 1, "duration": 3600})
				if comp.Status != "Accepted" || comp.Schedule.ChargingSchedulePeriod[0].Limit != limitW {
					t.Errorf("GetCompositeSchedule %+v", comp)
				}
			} else {
				comp := result[struct {
					Status           string
					ChargingSchedule struct {
						ChargingSchedulePeriod []struct{ Limit float64 }
					}
				}](t, f, id, "GetCompositeSchedule", map[string]any{"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"})
				if comp.Status != "Accepted" || comp.ChargingSchedule.ChargingSchedulePeriod[0].Limit != limitW {
					t.Errorf("GetCompositeSchedule %+v", comp)
				}
			}
			var clear map[string]any
			if v == ocpp.V16 {
				clear = map[string]any{"id": 5}
			} else {
				clear = map[string]any{"chargingProfileId": 5}
			}
			if r := result[struct{ Status string }](t, f, id, "ClearChargingProfile", clear); r.Status != "Accepted" {
				t.Errorf("ClearChargingProfile: %s", r.Status)
			}
			snap, _ = s.Snapshot(context.Background())
			if snap.EVSEs[0].LimitW != 50000 {
				t.Errorf("limit after clearing: %.0f W", snap.EVSEs[0].LimitW)
			}
			if r := result[struct{ Status string }](t, f, id, "ClearChargingProfile", clear); r.Status != "Unknown" {
				t.Errorf("ClearChargingProfile again: %s", r.Status)
			}
		})
	}
}

// An unknown token does not charge; a token refused only once the transaction reached the
// CSMS (started offline) stops it as DeAuthorized.
func TestRefusedToken(t *testing.T) {
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			f := newFakeCSMS(t)
			f.tokens["BAD"] = "Invalid"
			id := "CP-BAD-" + strings.ReplaceAll(string(v), ".", "")
			s := startStation(t, StationConfig{ID: id, Version: v, URL: f.url(), Seed: 6})
			accepted(t, s)
			if err := s.Arrive(context.Background(), 1, "BAD"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "refusal", func() bool { return s.Stats().Rejected == 1 })
			waitFor(t, 5*time.Second, "EV gone", func() bool {
				snap, _ := s.Snapshot(context.Background())
				return !snap.EVSEs[0].EVPlugged
			})
			if n := len(f.calls(id, "StartTransaction", "TransactionEvent")); n != 0 {
				t.Errorf("%d transaction messages for a refused token", n)
			}

			// Offline the station authorizes on its own; the CSMS refuses the token when the
			// backlog arrives.
			if err := s.DropConnection(context.Background(), time.Second); err != nil {
				t.Fatal(err)
			}
			if err := s.Arrive(context.Background(), 1, "BAD"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "offline start", func() bool {
				snap, _ := s.Snapshot(context.Background())
				return snap.EVSEs[0].PowerW > 0
			})
			if snap, _ := s.Snapshot(context.Background()); snap.Online {
				t.Fatal("back online too early for the test")
			}
			waitFor(t, 5*time.Second, "deauthorized stop", func() bool { return s.Stats().SessionsCompleted == 1 })
			if v == ocpp.V16 {
				if r := payloadOf(t, f.calls(id, "StopTransaction")[0])["reason"]; r != "DeAuthorized" {
					t.Errorf("stop reason %v", r)
				}
			} else {
				evs := f.calls(id, "TransactionEvent")
				end := payloadOf(t, evs[len(evs)-1])
				if end["triggerReason"] != "Deauthorized" || end["transactionInfo"].(map[string]any)["stoppedReason"] != "DeAuthorized" {
					t.Errorf("Ended %v", end)
				}
			}
		})
	}
}

func TestPendingBootAndBasicAuth(t *testing.T) {
	f := newFakeCSMS(t)
	f.bootStatus = []string{"Pending", "Accepted"}
	f.interval = 5
	s := startStation(t, StationConfig{ID: "CP-PEND", Version: ocpp.V16, URL: f.url(), Seed: 1, Password: "s3cret-password-1"})
	waitFor(t, 5*time.Second, "first boot", func() bool { return len(f.calls("CP-PEND")) >= 1 })
	accepted(t, s)
	calls := f.calls("CP-PEND")
	if calls[0].f.Action != "BootNotification" || calls[1].f.Action != "BootNotification" {
		t.Errorf("while Pending the station sent %s", calls[1].f.Action)
	}
	f.mu.Lock()
	auth := f.auth["CP-PEND"]
	f.mu.Unlock()
	if auth != "Basic Q1AtUEVORDpzM2NyZXQtcGFzc3dvcmQtMQ==" { // CP-PEND:s3cret-password-1
		t.Errorf("Authorization %q", auth)
	}
	statuses := f.calls("CP-PEND", "StatusNotification")
	waitFor(t, 5*time.Second, "connector statuses", func() bool {
		statuses = f.calls("CP-PEND", "StatusNotification")
		return len(statuses) >= 2
	})
	if c := payloadOf(t, statuses[0])["connectorId"]; c != 0.0 {
		t.Errorf("first status for connector %v, want 0", c)
	}
	boot := payloadOf(t, calls[0])
	if boot["chargePointVendor"] != "OpenCPO-Sim" || boot["chargePointModel"] != "SimAC22x1-J16" {
		t.Errorf("boot %v", boot)
	}
}

// CSMS-initiated calls get the answers the specifications prescribe.
func TestCSMSCalls16(t *testing.T) {
	f := newFakeCSMS(t)
	const id = "CP-CALL16"
	s := startStation(t, StationConfig{ID: id, Version: ocpp.V16, URL: f.url(), Seed: 1, EVSEs: []EVSE{{MaxPowerW: 7400, Phases: 1}, {MaxPowerW: 7400, Phases: 1}}})
	accepted(t, s)

	conf := result[struct {
		ConfigurationKey []struct {
			Key, Value string
			Readonly   bool
		}
		UnknownKey []string
	}](t, f, id, "GetConfiguration", map[string]any{"key": []string{"NumberOfConnectors", "Nope"}})
	if len(conf.ConfigurationKey) != 1 || conf.ConfigurationKey[0].Value != "2" || !conf.ConfigurationKey[0].Readonly || fmt.Sprint(conf.UnknownKey) != "[Nope]" {
		t.Errorf("GetConfiguration %+v", conf)
	}
	all := result[struct{ ConfigurationKey []struct{ Key string } }](t, f, id, "GetConfiguration", map[string]any{})
	if len(all.ConfigurationKey) < 20 {
		t.Errorf("GetConfiguration of everything: %d keys", len(all.ConfigurationKey))
	}
	for _, c := range []struct{ key, value, want string }{
		{"NumberOfConnectors", "3", "Rejected"},
		{"Nope", "1", "NotSupported"},
		{"HeartbeatInterval", "abc", "Rejected"},
		{"HeartbeatInterval", "120", "Accepted"},
		{"MeterValueSampleInterval", "30", "Accepted"},
	} {
		if r := result[struct{ Status string }](t, f, id, "ChangeConfiguration", map[string]string{"key": c.key, "value": c.value}); r.Status != c.want {
			t.Errorf("ChangeConfiguration %s=%s: %s, want %s", c.key, c.value, r.Status, c.want)
		}
	}
	hb := result[struct{ ConfigurationKey []struct{ Value string } }](t, f, id, "GetConfiguration", map[string]any{"key": []string{"HeartbeatInterval"}})
	if hb.ConfigurationKey[0].Value != "120" {
		t.Errorf("HeartbeatInterval after the change: %s", hb.ConfigurationKey[0].Value)
	}

	simple := []struct {
		action  string
		payload any
		want    string
	}{
		{"ClearCache", map[string]any{}, "Accepted"},
		{"DataTransfer", map[string]any{"vendorId": "com.example"}, "UnknownVendorId"},
		{"UnlockConnector", map[string]any{"connectorId": 1}, "Unlocked"},
		{"UnlockConnector", map[string]any{"connectorId": 9}, "NotSupported"},
		{"TriggerMessage", map[string]any{"requestedMessage": "StatusNotification", "connectorId": 2}, "Accepted"},
		{"TriggerMessage", map[string]any{"requestedMessage": "MeterValues"}, "Accepted"},
		{"TriggerMessage", map[string]any{"requestedMessage": "Heartbeat"}, "Accepted"},
		{"TriggerMessage", map[string]any{"requestedMessage": "DiagnosticsStatusNotification"}, "Accepted"},
		{"TriggerMessage", map[string]any{"requestedMessage": "StatusNotification", "connectorId": 7}, "Rejected"},
		{"ChangeAvailability", map[string]any{"connectorId": 2, "type": "Inoperative"}, "Accepted"},
		{"ChangeAvailability", map[string]any{"connectorId": 5, "type": "Inoperative"}, "Rejected"},
		{"SetChargingProfile", map[string]any{"connectorId": 1, "csChargingProfiles": map[string]any{"chargingProfileId": 1, "stackLevel": 0,
			"chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
			"chargingSchedule": map[string]any{"chargingRateUnit": "A", "chargingSchedulePeriod": []map[string]any{{"startPeriod": 0, "limit": 8}}}}}, "Rejected"},
		{"ClearChargingProfile", map[string]any{}, "Unknown"},
	}
	for _, c := range simple {
		if r := result[struct{ Status string }](t, f, id, c.action, c.payload); r.Status != c.want {
			t.Errorf("%s %v: %s, want %s", c.action, c.payload, r.Status, c.want)
		}
	}
	waitFor(t, 5*time.Second, "connector 2 Unavailable", func() bool {
		for _, r := range f.calls(id, "StatusNotification") {
			p := payloadOf(t, r)
			if p["connectorId"] == 2.0 && p["status"] == "Unavailable" {
				return true
			}
		}
		return false
	})
	waitFor(t, 5*time.Second, "triggered messages", func() bool {
		return len(f.calls(id, "DiagnosticsStatusNotification")) == 1 && len(f.calls(id, "MeterValues")) == 2
	})
	if err := s.Arrive(context.Background(), 2, "T"); err == nil {
		t.Error("an EV started at an Unavailable connector")
	}
	// During a transaction the change waits for its end (Scheduled).
	if err := s.Arrive(context.Background(), 1, "T"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "transaction started", func() bool { return s.Stats().SessionsStarted == 1 })
	if r := result[struct{ Status string }](t, f, id, "ChangeAvailability", map[string]any{"connectorId": 0, "type": "Inoperative"}); r.Status != "Scheduled" {
		t.Errorf("ChangeAvailability during a transaction: %s", r.Status)
	}
	if err := s.Depart(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "connectors 1 and 0 Unavailable after the session", func() bool {
		unavailable := map[float64]bool{}
		for _, r := range f.calls(id, "StatusNotification") {
			p := payloadOf(t, r)
			unavailable[num(p["connectorId"])] = p["status"] == "Unavailable"
		}
		return unavailable[0] && unavailable[1] && unavailable[2]
	})

	for _, c := range []struct {
		action  string
		payload string
		code    ocpp.ErrorCode
	}{
		{"GetInstalledCertificateIds", `{"certificateType":"CentralSystemRootCertificate"}`, ocpp.NotSupported},
		{"Frobnicate", `{}`, ocpp.NotImplemented},
		{"Reset", `{"type":"Sideways"}`, ocpp.PropertyConstraintViolation},
		{"BootNotification", `{"chargePointVendor":"x","chargePointModel":"y"}`, ocpp.NotSupported},
	} {
		fr := f.call(t, id, c.action, json.RawMessage(c.payload))
		if fr.Type != ocpp.TypeCallError || fr.ErrorCode != c.code {
			t.Errorf("%s: %s %s, want CALLERROR %s", c.action, fr.Type, fr.ErrorCode, c.code)
		}
	}
}

func TestCSMSCalls201(t *testing.T) {
	f := newFakeCSMS(t)
	const id = "CP-CALL201"
	s := startStation(t, StationConfig{ID: id, Version: ocpp.V201, URL: f.url(), Seed: 1, EVSEs: []EVSE{{MaxPowerW: 22000}, {MaxPowerW: 22000}}})
	accepted(t, s)

	type result201 struct {
		AttributeStatus string
		AttributeValue  string
	}
	gv := result[struct{ GetVariableResult []result201 }](t, f, id, "GetVariables", map[string]any{"getVariableData": []map[string]any{
		{"component": map[string]any{"name": "OCPPCommCtrlr"}, "variable": map[string]any{"name": "HeartbeatInterval"}},
		{"component": map[string]any{"name": "NoSuchCtrlr"}, "variable": map[string]any{"name": "X"}},
		{"component": map[string]any{"name": "OCPPCommCtrlr"}, "variable": map[string]any{"name": "NoSuchVariable"}},
		{"component": map[string]any{"name": "EVSE", "evse": map[string]any{"id": 2}}, "variable": map[string]any{"name": "AvailabilityState"}},
		{"component": map[string]any{"name": "EVSE", "evse": map[string]any{"id": 3}}, "variable": map[string]any{"name": "AvailabilityState"}},
		{"component": map[string]any{"name": "OCPPCommCtrlr"}, "variable": map[string]any{"name": "HeartbeatInterval"}, "attributeType": "Target"},
	}})
	want := []result201{{"Accepted", "300"}, {"UnknownComponent", ""}, {"UnknownVariable", ""}, {"Accepted", "Available"}, {"UnknownComponent", ""}, {"NotSupportedAttributeType", ""}}
	if fmt.Sprint(gv.GetVariableResult) != fmt.Sprint(want) {
		t.Errorf("GetVariables %v, want %v", gv.GetVariableResult, want)
	}
	sv := result[struct {
		SetVariableResult []struct{ AttributeStatus string }
	}](t, f, id, "SetVariables", map[string]any{"setVariableData": []map[string]any{
		{"component": map[string]any{"name": "OCPPCommCtrlr"}, "variable": map[string]any{"name": "HeartbeatInterval"}, "attributeValue": "60"},
		{"component": map[string]any{"name": "TxCtrlr"}, "variable": map[string]any{"name": "TxStartPoint"}, "attributeValue": "EVConnected"},
		{"component": map[string]any{"name": "SampledDataCtrlr"}, "variable": map[string]any{"name": "TxUpdatedInterval"}, "attributeValue": "ten"},
		{"component": map[string]any{"name": "Nope"}, "variable": map[string]any{"name": "X"}, "attributeValue": "1"},
	}})
	if got := fmt.Sprint(sv.SetVariableResult); got != "[{Accepted} {Rejected} {Rejected} {UnknownComponent}]" {
		t.Errorf("SetVariables %s", got)
	}
	if r := result[struct{ Status string }](t, f, id, "GetBaseReport", map[string]any{"requestId": 42, "reportBase": "FullInventory"}); r.Status != "Accepted" {
		t.Errorf("GetBaseReport: %s", r.Status)
	}
	waitFor(t, 5*time.Second, "NotifyReport", func() bool { return len(f.calls(id, "NotifyReport")) == 1 })
	rep := payloadOf(t, f.calls(id, "NotifyReport")[0])
	if rep["requestId"] != 42.0 || len(rep["reportData"].([]any)) < 30 {
		t.Errorf("NotifyReport requestId %v with %d entries", rep["requestId"], len(rep["reportData"].([]any)))
	}

	simple := []struct {
		action  string
		payload any
		want    string
	}{
		{"ClearCache", map[string]any{}, "Accepted"},
		{"DataTransfer", map[string]any{"vendorId": "com.example"}, "UnknownVendorId"},
		{"UnlockConnector", map[string]any{"evseId": 1, "connectorId": 1}, "Unlocked"},
		{"UnlockConnector", map[string]any{"evseId": 1, "connectorId": 2}, "UnknownConnector"},
		{"TriggerMessage", map[string]any{"requestedMessage": "StatusNotification", "evse": map[string]any{"id": 2, "connectorId": 1}}, "Accepted"},
		{"TriggerMessage", map[string]any{"requestedMessage": "MeterValues", "evse": map[string]any{"id": 1}}, "Accepted"},
		{"TriggerMessage", map[string]any{"requestedMessage": "BootNotification"}, "Rejected"},
		{"TriggerMessage", map[string]any{"requestedMessage": "TransactionEvent"}, "Rejected"},
		{"TriggerMessage", map[string]any{"requestedMessage": "LogStatusNotification"}, "Accepted"},
		{"TriggerMessage", map[string]any{"requestedMessage": "SignV2GCertificate"}, "NotImplemented"},
		{"ChangeAvailability", map[string]any{"operationalStatus": "Inoperative", "evse": map[string]any{"id": 2}}, "Accepted"},
		{"ChangeAvailability", map[string]any{"operationalStatus": "Inoperative", "evse": map[string]any{"id": 9}}, "Rejected"},
		{"RequestStopTransaction", map[string]any{"transactionId": "nope"}, "Rejected"},
		{"Reset", map[string]any{"type": "Immediate", "evseId": 1}, "Rejected"},
	}
	for _, c := range simple {
		if r := result[struct{ Status string }](t, f, id, c.action, c.payload); r.Status != c.want {
			t.Errorf("%s %v: %s, want %s", c.action, c.payload, r.Status, c.want)
		}
	}
	waitFor(t, 5*time.Second, "EVSE 2 Unavailable", func() bool {
		for _, r := range f.calls(id, "StatusNotification") {
			p := payloadOf(t, r)
			if p["evseId"] == 2.0 && p["connectorStatus"] == "Unavailable" {
				return true
			}
		}
		return false
	})
	if r := result[struct{ Status string }](t, f, id, "RequestStartTransaction", map[string]any{"evseId": 2, "remoteStartId": 1,
		"idToken": map[string]string{"idToken": "A", "type": "ISO14443"}}); r.Status != "Rejected" {
		t.Errorf("RequestStart on an Unavailable EVSE: %s", r.Status)
	}
	for _, c := range []struct {
		action  string
		payload string
		code    ocpp.ErrorCode
	}{
		{"GetInstalledCertificateIds", `{}`, ocpp.NotSupported},
		{"Frobnicate", `{}`, ocpp.NotImplemented},
		{"Reset", `{"type":"Immediate","extra":1}`, ocpp.FormatViolation},
	} {
		fr := f.call(t, id, c.action, json.RawMessage(c.payload))
		if fr.Type != ocpp.TypeCallError || fr.ErrorCode != c.code {
			t.Errorf("%s: %s %s, want CALLERROR %s", c.action, fr.Type, fr.ErrorCode, c.code)
		}
	}
}

func TestFleet(t *testing.T) {
	f := newFakeCSMS(t)
	cfg := Config{URL: f.url(), Stations: 6, IDPrefix: "FLT", Seed: 42, TimeScale: 1200,
		Behavior:     Behavior{ArrivalsPerDay: 200, MeanStay: 40 * time.Minute, FaultsPerDay: 10, DropsPerDay: 30},
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond, RampUp: 50 * time.Millisecond}
	fl, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := New(cfg)
	for i, s := range fl.Stations() {
		o := again.Stations()[i]
		if s.ID() != fmt.Sprintf("FLT-%04d", i+1) || s.Version() != versions[i%2] ||
			fmt.Sprint(s.cfg.EVSEs) != fmt.Sprint(o.cfg.EVSEs) || s.cfg.Seed != o.cfg.Seed {
			t.Errorf("station %d: %s %s %v, second build %v", i, s.ID(), s.Version(), s.cfg.EVSEs, o.cfg.EVSEs)
		}
	}

	baseline := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fl.Run(ctx) }()
	waitFor(t, 10*time.Second, "sessions across the fleet", func() bool {
		st := fl.Stats()
		return st.Boots >= 6 && st.SessionsCompleted >= 6
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := fl.Stats()
	if st.Stations != 6 || st.Errors != 0 || st.Connected != 0 {
		t.Errorf("stats after the run: %+v", st)
	}
	for _, s := range fl.Stations() {
		checkFlow(t, f, s.Version(), s.ID())
	}
	waitFor(t, 5*time.Second, "goroutines to end", func() bool { return runtime.NumGoroutine() <= baseline })
}

// Same seed, same decisions: the EVs a station draws do not depend on anything but its seed.
func TestDeterministicEVs(t *testing.T) {
	draw := func() string {
		s, err := NewStation(StationConfig{ID: "CP-DET", Version: ocpp.V16, URL: "ws://127.0.0.1:1/ocpp", Seed: 99})
		if err != nil {
			t.Fatal(err)
		}
		e := s.evses[0]
		var b strings.Builder
		fmt.Fprintf(&b, "%.0f ", e.energyWh)
		for range 5 {
			v := newEV(e.rnd, e.spec)
			fmt.Fprintf(&b, "%+v %v|", v.bat, expDur(e.rnd, 12))
		}
		return b.String()
	}
	if a, b := draw(), draw(); a != b {
		t.Errorf("two stations with one seed drew\n%s\n%s", a, b)
	}
}

// PhaseHeartbeat moves the next heartbeat; the interval the CSMS gave (300 s here, in real time
// at time scale 1) would otherwise keep the station silent for the whole test.
func TestPhaseHeartbeat(t *testing.T) {
	f := newFakeCSMS(t)
	s := startStation(t, StationConfig{ID: "CP-PHASE", Version: ocpp.V16, URL: f.url(), Seed: 3, TimeScale: 1,
		EVSEs: []EVSE{{MaxPowerW: 11000, Phases: 3}}})
	waitFor(t, 10*time.Second, "boot accepted", func() bool { return s.Stats().Boots == 1 })
	if n := len(f.calls("CP-PHASE", "Heartbeat")); n != 0 {
		t.Fatalf("%d heartbeats before the interval", n)
	}
	if err := s.PhaseHeartbeat(t.Context(), 1); err == nil {
		t.Error("PhaseHeartbeat(1) accepted")
	}
	if err := s.PhaseHeartbeat(t.Context(), 0.001); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the heartbeat", func() bool { return len(f.calls("CP-PHASE", "Heartbeat")) == 1 })
}

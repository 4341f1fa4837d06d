package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/sim"
)

const (
	tariffEnergy = `{"currency":"EUR","tariff_alt_text":[{"language":"nl","text":"0,36 per kWh plus 0,61 starttarief."}],"elements":[{"price_components":[
		{"type":"FLAT","price":0.50,"vat":21,"step_size":1},{"type":"ENERGY","price":0.30,"vat":21,"step_size":1}]}]}`
	tariffTime = `{"currency":"EUR","elements":[{"price_components":[
		{"type":"TIME","price":2.40,"vat":19,"step_size":60},{"type":"PARKING_TIME","price":6.00,"vat":19,"step_size":60}]}]}`
	tariffMixed = `{"currency":"EUR","min_price":{"excl_vat":0.10,"incl_vat":0.12},"elements":[
		{"price_components":[{"type":"ENERGY","price":0.25,"vat":20,"step_size":100}]},
		{"price_components":[{"type":"TIME","price":1.20,"vat":20,"step_size":60}],"restrictions":{"min_power":3.0}}]}`
)

func TestTariffsAPI(t *testing.T) {
	ts := startServer(t, nil)
	out := ts.mustDo(http.StatusCreated, "PUT", "/api/v1/tariffs/T-1", tariffEnergy)
	if out["id"] != "T-1" || out["currency"] != "EUR" || out["last_updated"] == nil {
		t.Fatalf("created tariff %v", out)
	}
	ts.mustDo(http.StatusOK, "PUT", "/api/v1/tariffs/T-1", tariffTime)
	if got := ts.mustDo(http.StatusOK, "GET", "/api/v1/tariffs/T-1", nil); got["elements"].([]any)[0].(map[string]any)["price_components"].([]any)[0].(map[string]any)["type"] != "TIME" {
		t.Fatalf("replaced tariff %v", got)
	}
	for body, field := range map[string]string{
		`{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.3,"vat":150,"step_size":1}]}]}`: "elements[0].price_components[0].vat",
		`{"currency":"euro","elements":[{"price_components":[{"type":"ENERGY","price":0.3,"step_size":1}]}]}`:          "currency",
		`{"currency":"EUR","elements":[]}`: "elements",
		`{"currency":"EUR","elements":[{"price_components":[{"type":"KWH","price":0.3,"step_size":1}]}]}`:                                          "elements[0].price_components[0].type",
		`{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.3,"step_size":1}],"restrictions":{"start_time":"25:00"}}]}`: "elements[0].restrictions.start_time",
		`{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.3,"step_size":1}],"tariff_restrictions":{}}]}`:              "tariff_restrictions",
		`{"id":"OTHER","currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.3,"step_size":1}]}]}`:                          "id",
	} {
		status, res := ts.do("PUT", "/api/v1/tariffs/T-2", body)
		msg, _ := res["error"].(map[string]any)["message"].(string)
		if status != http.StatusBadRequest || !strings.Contains(msg, field) {
			t.Errorf("PUT %s = %d %v; want 400 naming %s", body, status, res, field)
		}
	}
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/tariffs/T-2", nil)
	ts.mustDo(http.StatusCreated, "PUT", "/api/v1/tariffs/T-2", tariffMixed)
	list := ts.mustDo(http.StatusOK, "GET", "/api/v1/tariffs?limit=1", nil)
	if len(list["items"].([]any)) != 1 || list["nextCursor"] == nil {
		t.Fatalf("first page %v", list)
	}
	list = ts.mustDo(http.StatusOK, "GET", "/api/v1/tariffs?limit=1&cursor="+list["nextCursor"].(string), nil)
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != "T-2" || list["nextCursor"] != nil {
		t.Fatalf("second page %v", list)
	}

	// Station assignment: unknown tariff and time zone are the caller's mistakes.
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "CP-T"})
	ts.mustDo(http.StatusBadRequest, "PATCH", "/api/v1/stations/CP-T", map[string]any{"tariffId": "NOPE"})
	ts.mustDo(http.StatusBadRequest, "PATCH", "/api/v1/stations/CP-T", map[string]any{"timeZone": "Mars/Olympus"})
	st := ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/CP-T", map[string]any{"tariffId": "T-1", "timeZone": "Europe/Amsterdam"})
	if st["tariffId"] != "T-1" || st["timeZone"] != "Europe/Amsterdam" {
		t.Fatalf("patched station %v", st)
	}
	ts.mustDo(http.StatusConflict, "DELETE", "/api/v1/tariffs/T-1", nil)
	st = ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/CP-T", map[string]any{"tariffId": nil, "name": "Depot"})
	if st["tariffId"] != nil || st["timeZone"] != "Europe/Amsterdam" || st["name"] != "Depot" {
		t.Fatalf("cleared tariff %v", st)
	}

	// Assignments.
	ts.mustDo(http.StatusBadRequest, "POST", "/api/v1/tariff-assignments", map[string]any{"tariffId": "NOPE"})
	ts.mustDo(http.StatusBadRequest, "POST", "/api/v1/tariff-assignments", map[string]any{"tariffId": "T-1", "stationId": "NOPE"})
	ts.mustDo(http.StatusBadRequest, "POST", "/api/v1/tariff-assignments", map[string]any{"tariffId": "T-1", "evseId": 2})
	ts.mustDo(http.StatusBadRequest, "POST", "/api/v1/tariff-assignments", map[string]any{"tariffId": "T-1",
		"validFrom": "2026-02-01T00:00:00Z", "validTo": "2026-01-01T00:00:00Z"})
	a := ts.mustDo(http.StatusCreated, "POST", "/api/v1/tariff-assignments", map[string]any{"tariffId": "T-2", "stationId": "CP-T", "evseId": 2, "groupId": "fleet"})
	if a["scope"] != "evse" || a["groupId"] != "fleet" {
		t.Fatalf("assignment %v", a)
	}
	ts.mustDo(http.StatusConflict, "DELETE", "/api/v1/tariffs/T-2", nil)
	if l := ts.mustDo(http.StatusOK, "GET", "/api/v1/tariff-assignments?stationId=CP-T", nil); len(l["items"].([]any)) != 1 {
		t.Fatalf("assignments %v", l)
	}
	ts.mustDo(http.StatusNoContent, "DELETE", "/api/v1/tariff-assignments/"+a["id"].(string), nil)
	ts.mustDo(http.StatusNoContent, "DELETE", "/api/v1/tariffs/T-2", nil)
	ts.mustDo(http.StatusNotFound, "DELETE", "/api/v1/tariffs/T-2", nil)

	// Price before start, in the requested language.
	ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/CP-T", map[string]any{"tariffId": "T-1"})
	p := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/CP-T/evses/1/price?lang=de", nil)
	if p["tariffId"] != "T-1" || p["language"] != "de" || p["text"] != "2,856 € pro Stunde Laden, 7,14 € pro Stunde Parken (inkl. MwSt.)." {
		t.Fatalf("price (de) %v", p)
	}
	if p := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/CP-T/evses/1/price?lang=fr", nil); !strings.Contains(p["text"].(string), "par heure de charge") {
		t.Fatalf("price (fr) %v", p)
	}
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/stations/NOPE/evses/1/price", nil)
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/stations/CP-T/evses/x/price", nil)

	// Every change is audited.
	audit := ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?limit=500", nil)
	seen := map[string]bool{}
	for _, it := range audit["items"].([]any) {
		seen[it.(map[string]any)["action"].(string)] = true
	}
	for _, act := range []string{"PutTariff", "DeleteTariff", "AddTariffAssignment", "DeleteTariffAssignment", "UpdateStation"} {
		if !seen[act] {
			t.Errorf("no audit entry for %s: %v", act, seen)
		}
	}
}

// TestTariffMessages201: a 2.0.1 station is told the price (personalMessage), and the final cost
// (totalCost) equals the API's session cost and the CDR's; the CDR exports as JSON and CSV.
func TestTariffMessages201(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	createTokens(t, ts)
	ts.mustDo(http.StatusCreated, "PUT", "/api/v1/tariffs/E", tariffEnergy)
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "PM-201"})
	ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/PM-201", map[string]any{"tariffId": "E"})
	st := ts.dial("PM-201", "2.0.1")
	st.MustCall("BootNotification", boot201())
	auth := decode[map[string]map[string]any](t, st.MustCall("Authorize", map[string]any{"idToken": map[string]any{"idToken": "TAG-OK", "type": "ISO14443"}}))
	if pm, _ := auth["idTokenInfo"]["personalMessage"].(map[string]any); pm["content"] != "€0.605 per session, €0.363 per kWh (incl. VAT)." {
		t.Fatalf("Authorize answer %v", auth)
	}
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	started := txEvent("Started", 0, t0, "P-1", map[string]any{"evse": map[string]any{"id": 1, "connectorId": 1},
		"idToken": map[string]any{"idToken": "TAG-OK", "type": "ISO14443"}, "meterValue": energyMeter(t0, 1000, "Transaction.Begin")})
	r := decode[map[string]map[string]any](t, st.MustCall("TransactionEvent", started))
	if pm, _ := r["idTokenInfo"]["personalMessage"].(map[string]any); pm["content"] == nil {
		t.Fatalf("Started answer without the price %v", r)
	}
	st.MustCall("TransactionEvent", txEvent("Updated", 1, t0.Add(20*time.Minute), "P-1", map[string]any{"meterValue": energyMeter(t0.Add(20*time.Minute), 4000, "Sample.Periodic")}))
	live := sessionByTx(t, ts, "PM-201", "P-1")
	if c, _ := live["cost"].(map[string]any); c["exclVat"] != "1.40" || c["inclVat"] != "1.69" {
		t.Fatalf("live cost after 3 kWh %v", live)
	}
	// The tariff changes mid-session: the session keeps the one it started with.
	ts.mustDo(http.StatusOK, "PUT", "/api/v1/tariffs/E", tariffTime)
	ended := txEvent("Ended", 2, t0.Add(40*time.Minute), "P-1", map[string]any{"meterValue": energyMeter(t0.Add(40*time.Minute), 11000, "Transaction.End")})
	er := decode[map[string]any](t, st.MustCall("TransactionEvent", ended))
	done := sessionByTx(t, ts, "PM-201", "P-1")
	cost := done["cost"].(map[string]any)
	// 0.50 + 10 kWh × 0.30 = 3.50 excl. VAT; 0.605 + 3.63 = 4.235 → 4.24 incl. 21 % VAT.
	if cost["exclVat"] != "3.50" || cost["inclVat"] != "4.24" {
		t.Fatalf("final cost %v", cost)
	}
	if fmt.Sprintf("%.2f", er["totalCost"]) != cost["inclVat"] {
		t.Fatalf("totalCost %v, API inclVat %v", er["totalCost"], cost["inclVat"])
	}
	cdr := waitCDR(t, ts, done["id"].(string))
	tc := cdr["totalCost"].(map[string]any)
	if tc["inclVat"] != "4.24" || cdr["totalEnergy"] != "10" || cdr["tariffId"] != "E" || cdr["totalEnergyCost"].(map[string]any)["inclVat"] != "3.63" ||
		cdr["totalFixedCost"].(map[string]any)["inclVat"] != "0.61" || len(cdr["chargingPeriods"].([]any)) == 0 {
		t.Fatalf("CDR %v", cdr)
	}
	list := ts.mustDo(http.StatusOK, "GET", "/api/v1/cdrs?stationId=PM-201&idToken=TAG-OK&from="+ts3339(t0), nil)
	if len(list["items"].([]any)) != 1 {
		t.Fatalf("CDR list %v", list)
	}
	if l := ts.mustDo(http.StatusOK, "GET", "/api/v1/cdrs?to="+ts3339(t0), nil); len(l["items"].([]any)) != 0 {
		t.Fatalf("CDRs stopped before t0: %v", l)
	}
	ts.mustDo(http.StatusBadRequest, "GET", "/api/v1/cdrs?from=yesterday", nil)
	rows := exportCSV(t, ts, "/api/v1/cdrs.csv?stationId=PM-201")
	if len(rows) != 2 || rows[0][0] != "id" || rows[1][0] != "CDR-"+done["id"].(string) || rows[1][18] != "4.24" {
		t.Fatalf("CSV %v", rows)
	}
}

// waitCDR waits for a completed session's CDR (written in the background) and returns it.
func waitCDR(t *testing.T, ts *testServer, sessionID string) map[string]any {
	t.Helper()
	var cdr map[string]any
	eventually(t, "CDR of session "+sessionID, func() bool {
		var status int
		status, cdr = ts.do("GET", "/api/v1/cdrs/CDR-"+sessionID, nil)
		return status == http.StatusOK
	})
	return cdr
}

func exportCSV(t *testing.T, ts *testServer, path string) [][]string {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+ts.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestTariffs16: a 1.6 session under a station tariff is priced live and on its CDR.
func TestTariffs16(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	createTokens(t, ts)
	ts.mustDo(http.StatusCreated, "PUT", "/api/v1/tariffs/TIME", tariffTime)
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "T16"})
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/tariff-assignments", map[string]any{"tariffId": "TIME"})
	st := ts.dial("T16", "1.6")
	st.MustCall("BootNotification", boot16())
	t0 := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	r := decode[map[string]any](t, st.MustCall("StartTransaction", map[string]any{"connectorId": 1, "idTag": "TAG-OK", "meterStart": 0, "timestamp": ts3339(t0)}))
	txID := int(r["transactionId"].(float64))
	st.MustCall("MeterValues", map[string]any{"connectorId": 1, "transactionId": txID, "meterValue": []any{map[string]any{
		"timestamp": ts3339(t0.Add(30 * time.Minute)), "sampledValue": []any{map[string]any{"value": "5000"}}}}})
	live := sessionByTx(t, ts, "T16", fmt.Sprint(txID))
	if c, _ := live["cost"].(map[string]any); c["exclVat"] != "1.20" || c["inclVat"] != "1.43" {
		t.Fatalf("live 1.6 cost (30 min charging) %v", live)
	}
	// 30 more minutes charging, then 10 minutes parked (the register stands still).
	st.MustCall("MeterValues", map[string]any{"connectorId": 1, "transactionId": txID, "meterValue": []any{map[string]any{
		"timestamp": ts3339(t0.Add(60 * time.Minute)), "sampledValue": []any{map[string]any{"value": "9000"}}}}})
	st.MustCall("StopTransaction", map[string]any{"transactionId": txID, "meterStop": 9000, "timestamp": ts3339(t0.Add(70 * time.Minute)), "reason": "EVDisconnected"})
	done := sessionByTx(t, ts, "T16", fmt.Sprint(txID))
	// 1 h × 2.40 + 10 min × 6.00/h = 3.40 excl, × 1.19 = 4.046 → 4.05.
	if c, _ := done["cost"].(map[string]any); c["exclVat"] != "3.40" || c["inclVat"] != "4.05" {
		t.Fatalf("final 1.6 cost %v", done)
	}
	cdr := waitCDR(t, ts, done["id"].(string))
	if cdr["totalChargingTime"] != "1" || cdr["totalParkingTime"] != "0.166667" || cdr["totalParkingCost"].(map[string]any)["exclVat"] != "1.00" {
		t.Fatalf("CDR %v", cdr)
	}
	// A session whose stop never came is closed by the next start on its connector, and gets
	// its CDR then (flagged for review).
	r2 := decode[map[string]any](t, st.MustCall("StartTransaction", map[string]any{"connectorId": 1, "idTag": "TAG-OK", "meterStart": 9000, "timestamp": ts3339(t0.Add(80 * time.Minute))}))
	st.MustCall("StartTransaction", map[string]any{"connectorId": 1, "idTag": "TAG-OK", "meterStart": 9000, "timestamp": ts3339(t0.Add(110 * time.Minute))})
	lost := sessionByTx(t, ts, "T16", fmt.Sprint(r2["transactionId"]))
	cdr = waitCDR(t, ts, lost["id"].(string))
	// 30 min without energy: parking at 6.00/h = 3.00 excl. VAT.
	if cdr["flag"] == nil || cdr["totalCost"].(map[string]any)["exclVat"] != "3.00" || lost["cost"].(map[string]any)["inclVat"] != "3.57" {
		t.Fatalf("superseded session %v, CDR %v", lost, cdr)
	}
}

// scaledClock runs at scale × real time from now: the simulated stations stamp their messages
// with it, so a few real seconds are many minutes of charging and the time prices are not zero.
func scaledClock(scale float64) func() time.Time {
	start := time.Now()
	return func() time.Time { return start.Add(time.Duration(float64(time.Since(start)) * scale)) }
}

// TestTariffsEndToEnd runs simulated 2.0.1 stations under three different tariffs (a station
// tariff, an EVSE assignment, an all-stations assignment) through whole sessions and checks
// that the running cost the API shows matches the CostUpdated the station last got, and that the
// final cost in the API, the CDR (JSON and CSV) and the totalCost the station got agree to the
// cent.
func TestTariffsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs simulated sessions for several seconds")
	}
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept"; c.costUpdateEvery = time.Millisecond })
	for _, uid := range sim.DefaultTokens() {
		ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": uid})
	}
	ts.mustDo(http.StatusCreated, "PUT", "/api/v1/tariffs/ENERGY", tariffEnergy)
	ts.mustDo(http.StatusCreated, "PUT", "/api/v1/tariffs/TIME", tariffTime)
	ts.mustDo(http.StatusCreated, "PUT", "/api/v1/tariffs/MIXED", tariffMixed)
	want := map[string]string{"E2E-A": "ENERGY", "E2E-B": "TIME", "E2E-C": "MIXED"}
	for id := range want {
		ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": id})
	}
	ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/E2E-A", map[string]any{"tariffId": "ENERGY", "timeZone": "Europe/Berlin"})
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/tariff-assignments", map[string]any{"tariffId": "TIME", "stationId": "E2E-B", "evseId": 1})
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/tariff-assignments", map[string]any{"tariffId": "MIXED"})

	ctx, cancel := context.WithCancel(context.Background())
	const scale = 120 // one real second is two minutes
	stations := map[string]*sim.Station{}
	var wg sync.WaitGroup
	for id := range want {
		s, err := sim.NewStation(sim.StationConfig{ID: id, Version: ocpp.V201, URL: ts.wsURL() + "/ocpp",
			EVSEs: []sim.EVSE{{MaxPowerW: 11000, Phases: 3}}, Tokens: sim.DefaultTokens()[:1], Seed: 3,
			TimeScale: scale, MeterInterval: 2 * time.Minute, Behavior: sim.Behavior{ArrivalsPerDay: -1},
			Now: scaledClock(scale), ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		stations[id] = s
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}
	defer func() { cancel(); wg.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for id, s := range stations {
		for s.Arrive(ctx, 1, "") != nil {
			if time.Now().After(deadline) {
				t.Fatalf("%s never took an EV", id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Running: after a few meter values, the last CostUpdated equals the API's live cost.
	for id, s := range stations {
		eventuallyWithin(t, 20*time.Second, id+": CostUpdated agrees with the live cost", func() bool {
			costs := s.Costs()
			if len(costs) < 3 {
				return false
			}
			last := costs[len(costs)-1]
			sess := sessionByTx(t, ts, id, last.TransactionID)
			c, _ := sess["cost"].(map[string]any)
			agree := c != nil && sess["status"] == "active" && fmt.Sprintf("%.2f", last.TotalCost) == c["inclVat"]
			return agree && len(s.Costs()) == len(costs) // no newer one arrived meanwhile
		})
	}
	for id, s := range stations {
		if err := s.Depart(ctx, 1); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	csvRows := map[string][]string{}
	for id, s := range stations {
		var final sim.CostReport
		eventuallyWithin(t, 20*time.Second, id+": final cost", func() bool {
			for _, c := range s.Costs() {
				if c.Final {
					final = c
					return true
				}
			}
			return false
		})
		sess := sessionByTx(t, ts, id, final.TransactionID)
		cost, _ := sess["cost"].(map[string]any)
		cdr := waitCDR(t, ts, sess["id"].(string))
		tc, _ := cdr["totalCost"].(map[string]any)
		if sess["status"] != "completed" || cost == nil || tc == nil || cdr["tariffId"] != want[id] {
			t.Fatalf("%s: session %v, CDR %v", id, sess, cdr)
		}
		if got := fmt.Sprintf("%.2f", final.TotalCost); got != cost["inclVat"] || got != tc["inclVat"] || cost["exclVat"] != tc["exclVat"] {
			t.Errorf("%s (%s): totalCost %s, API %v, CDR %v", id, want[id], got, cost, tc)
		}
		if cost["inclVat"] == "0.00" {
			t.Errorf("%s: nothing was charged: %v", id, cdr)
		}
		finalIncl, _ := strconv.ParseFloat(tc["inclVat"].(string), 64)
		for _, c := range s.Costs() {
			if !c.Final && c.TotalCost > finalIncl {
				t.Errorf("%s: a running cost %v above the final %v", id, c.TotalCost, tc["inclVat"])
			}
		}
		t.Logf("%s under %s: %v kWh, final %v", id, want[id], cdr["totalEnergy"], tc)
		csvRows[sess["id"].(string)] = []string{tc["exclVat"].(string), tc["inclVat"].(string)}
	}
	rows := exportCSV(t, ts, "/api/v1/cdrs?format=csv")
	if len(rows) != 4 {
		t.Fatalf("CSV rows %v", rows)
	}
	for _, row := range rows[1:] {
		if w := csvRows[row[1]]; w == nil || row[17] != w[0] || row[18] != w[1] {
			t.Errorf("CSV row %v, want totals %v", row, w)
		}
	}
}

func eventuallyWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTariffsStaleSessionCDR: a session the sweep closes for lack of news gets its CDR.
func TestTariffsStaleSessionCDR(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) {
		c.UnknownStations = "accept"
		c.SessionTimeout = 300 * time.Millisecond
		c.sweepEvery = 100 * time.Millisecond
	})
	ts.mustDo(http.StatusCreated, "PUT", "/api/v1/tariffs/E", tariffEnergy)
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/tariff-assignments", map[string]any{"tariffId": "E"})
	st := ts.dial("STALE-T", "1.6")
	st.MustCall("BootNotification", boot16())
	r := decode[map[string]any](t, st.MustCall("StartTransaction", map[string]any{"connectorId": 1, "idTag": "X", "meterStart": 0, "timestamp": nowRFC3339()}))
	st.Close()
	var cdrs []any
	eventually(t, "CDR of the stale session", func() bool {
		cdrs = ts.mustDo(http.StatusOK, "GET", "/api/v1/cdrs?stationId=STALE-T", nil)["items"].([]any)
		return len(cdrs) == 1
	})
	c := cdrs[0].(map[string]any)
	if c["transactionId"] != fmt.Sprint(r["transactionId"]) || c["flag"] == nil || c["totalCost"].(map[string]any)["inclVat"] != "0.61" {
		t.Fatalf("CDR %v", c)
	}
}

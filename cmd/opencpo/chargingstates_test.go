package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// costOf returns a session's API cost (exclVat, inclVat).
func costOf(t *testing.T, sess map[string]any) (string, string) {
	t.Helper()
	c, _ := sess["cost"].(map[string]any)
	if c == nil {
		t.Fatalf("session without cost: %v", sess)
	}
	return fmt.Sprint(c["exclVat"]), fmt.Sprint(c["inclVat"])
}

// checkSuspendedCDR: the session charged 1 h and was SuspendedEV for 30 min while the meter
// crept up 4 Wh: under tariffTime that is 1 h × 2.40 + 0.5 h × 6.00 = 5.40 excl. VAT, × 1.19 =
// 6.426 → 6.43 (the meter alone would have made it 1.5 h charging: 3.60).
func checkSuspendedCDR(t *testing.T, ts *testServer, done map[string]any) {
	t.Helper()
	if excl, incl := costOf(t, done); excl != "5.40" || incl != "6.43" {
		t.Fatalf("final cost %s / %s, want 5.40 / 6.43: %v", excl, incl, done)
	}
	cdr := waitCDR(t, ts, done["id"].(string))
	if cdr["totalChargingTime"] != "1" || cdr["totalParkingTime"] != "0.5" ||
		cdr["totalParkingCost"].(map[string]any)["exclVat"] != "3.00" || cdr["totalCost"].(map[string]any)["inclVat"] != "6.43" {
		t.Fatalf("CDR %v", cdr)
	}
	if !strings.Contains(fmt.Sprint(cdr["chargingPeriods"]), "PARKING_TIME") {
		t.Fatalf("CDR periods without PARKING_TIME: %v", cdr["chargingPeriods"])
	}
}

// TestTariffChargingStates201: a 2.0.1 session's SuspendedEV phase is billed as parking although
// the meter creeps up, with the state event arriving late (offline backlog) and retransmitted.
func TestTariffChargingStates201(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	createTokens(t, ts)
	ts.mustDo(http.StatusCreated, "PUT", "/api/v1/tariffs/TIME", tariffTime)
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "CS-201"})
	ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/CS-201", map[string]any{"tariffId": "TIME"})
	st := ts.dial("CS-201", "2.0.1")
	st.MustCall("BootNotification", boot201())
	t0 := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	m := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	info := func(state string) map[string]any {
		return map[string]any{"transactionId": "CS-1", "chargingState": state}
	}
	st.MustCall("TransactionEvent", txEvent("Started", 0, m(0), "CS-1", map[string]any{"evse": map[string]any{"id": 1, "connectorId": 1},
		"idToken": map[string]any{"idToken": "TAG-OK", "type": "ISO14443"}, "transactionInfo": info("Charging"),
		"meterValue": energyMeter(m(0), 0, "Transaction.Begin")}))
	st.MustCall("TransactionEvent", txEvent("Updated", 1, m(30), "CS-1", map[string]any{"meterValue": energyMeter(m(30), 5000, "Sample.Periodic")}))
	// The creep at 75 min arrives before the SuspendedEV event of 60 min.
	st.MustCall("TransactionEvent", txEvent("Updated", 3, m(75), "CS-1", map[string]any{"meterValue": energyMeter(m(75), 9002, "Sample.Periodic")}))
	suspended := txEvent("Updated", 2, m(60), "CS-1", map[string]any{"triggerReason": "ChargingStateChanged", "offline": true,
		"transactionInfo": info("SuspendedEV"), "meterValue": energyMeter(m(60), 9000, "Sample.Periodic")})
	st.MustCall("TransactionEvent", suspended)
	st.MustCall("TransactionEvent", suspended) // retransmitted
	// Live: 1 h charging + 15 min parked = 2.40 + 1.50 = 3.90.
	if excl, _ := costOf(t, sessionByTx(t, ts, "CS-201", "CS-1")); excl != "3.90" {
		t.Fatalf("live cost %s, want 3.90", excl)
	}
	st.MustCall("TransactionEvent", txEvent("Ended", 4, m(90), "CS-1", map[string]any{"triggerReason": "EVDeparted",
		"transactionInfo": map[string]any{"transactionId": "CS-1", "chargingState": "Idle", "stoppedReason": "EVDisconnected"},
		"meterValue":      energyMeter(m(90), 9004, "Transaction.End")}))
	checkSuspendedCDR(t, ts, sessionByTx(t, ts, "CS-201", "CS-1"))
}

// TestTariffChargingStates16: the same for OCPP 1.6, where the states come from the
// StatusNotifications of the session's connector.
func TestTariffChargingStates16(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	createTokens(t, ts)
	ts.mustDo(http.StatusCreated, "PUT", "/api/v1/tariffs/TIME", tariffTime)
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "CS-16"})
	ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/CS-16", map[string]any{"tariffId": "TIME"})
	st := ts.dial("CS-16", "1.6")
	st.MustCall("BootNotification", boot16())
	t0 := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	m := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	status := func(s string, at time.Time) map[string]any {
		return map[string]any{"connectorId": 1, "errorCode": "NoError", "status": s, "timestamp": ts3339(at)}
	}
	meter := func(txID, min int, wh string) {
		st.MustCall("MeterValues", map[string]any{"connectorId": 1, "transactionId": txID, "meterValue": []any{map[string]any{
			"timestamp": ts3339(m(min)), "sampledValue": []any{map[string]any{"value": wh}}}}})
	}
	st.MustCall("StatusNotification", status("Preparing", m(-1)))
	r := decode[map[string]any](t, st.MustCall("StartTransaction", map[string]any{"connectorId": 1, "idTag": "TAG-OK", "meterStart": 0, "timestamp": ts3339(m(0))}))
	txID := int(r["transactionId"].(float64))
	// Charging is reported a minute after the start (the meter decides that minute: charging);
	// a late SuspendedEVSE from before this session does not make its start parking.
	st.MustCall("StatusNotification", status("Charging", m(1)))
	st.MustCall("StatusNotification", status("SuspendedEVSE", m(-5)))
	meter(txID, 30, "5000")
	meter(txID, 60, "9000")
	meter(txID, 75, "9002")
	// The SuspendedEV notification arrives after the later meter value, and twice.
	st.MustCall("StatusNotification", status("SuspendedEV", m(60)))
	st.MustCall("StatusNotification", status("SuspendedEV", m(60)))
	if excl, _ := costOf(t, sessionByTx(t, ts, "CS-16", fmt.Sprint(txID))); excl != "3.90" {
		t.Fatalf("live cost %s, want 3.90", excl)
	}
	st.MustCall("StopTransaction", map[string]any{"transactionId": txID, "meterStop": 9004, "timestamp": ts3339(m(90)), "reason": "EVDisconnected"})
	st.MustCall("StatusNotification", status("Finishing", m(90)))
	checkSuspendedCDR(t, ts, sessionByTx(t, ts, "CS-16", fmt.Sprint(txID)))
}

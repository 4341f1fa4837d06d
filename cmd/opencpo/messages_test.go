package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestStationMessageLog(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	st := ts.dial("LOG-CP", "1.6")
	st.Handle("Reset", func(json.RawMessage) any { return map[string]any{"status": "Accepted"} })
	st.MustCall("BootNotification", boot16())
	st.MustCall("Authorize", map[string]any{"idTag": "SECRET-TAG-1"})
	st.MustCall("Heartbeat", map[string]any{})
	ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/LOG-CP/ocpp/Reset", map[string]any{"type": "Soft"})

	items := func(query string) []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, it := range ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/LOG-CP/messages"+query, nil)["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		return out
	}
	summary := func(ms []map[string]any) string {
		s := ""
		for _, m := range ms {
			s += fmt.Sprintf("%s:%s:%s ", m["direction"], m["messageType"], m["action"])
		}
		return s
	}
	var all []map[string]any
	eventually(t, "the Reset answer is logged", func() bool {
		all = items("")
		return len(all) == 8
	})
	want := "in:CallResult:Reset out:Call:Reset out:CallResult:Heartbeat in:Call:Heartbeat " +
		"out:CallResult:Authorize in:Call:Authorize out:CallResult:BootNotification in:Call:BootNotification "
	if got := summary(all); got != want {
		t.Errorf("log = %s\nwant  %s", got, want)
	}
	reset := all[1]
	if reset["uniqueId"] == "" || reset["truncated"] != false || reset["at"] == nil ||
		fmt.Sprint(reset["payload"]) != "map[type:Soft]" || reset["frame"] == "" {
		t.Errorf("Reset call entry %v", reset)
	}
	if all[0]["uniqueId"] != reset["uniqueId"] || fmt.Sprint(all[0]["payload"]) != "map[status:Accepted]" {
		t.Errorf("Reset answer entry %v", all[0])
	}

	if got := summary(items("?action=Authorize")); got != "out:CallResult:Authorize in:Call:Authorize " {
		t.Errorf("action filter: %s", got)
	}
	if got := summary(items("?q=secret-tag")); got != "in:Call:Authorize " {
		t.Errorf("text filter: %s", got)
	}
	if got := summary(items("?direction=out&limit=2")); got != "out:Call:Reset out:CallResult:Heartbeat " {
		t.Errorf("direction and limit: %s", got)
	}
	if got := items("?action=DataTransfer"); len(got) != 0 {
		t.Errorf("no match: %v", got)
	}
	for _, bad := range []string{"?limit=0", "?limit=501", "?limit=x", "?direction=sideways"} {
		if status, body := ts.do("GET", "/api/v1/stations/LOG-CP/messages"+bad, nil); status != http.StatusBadRequest || errorCode(body) != "invalid_request" {
			t.Errorf("%s: %d %v", bad, status, body)
		}
	}
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/stations/NOPE/messages", nil)

	// Big frames are kept truncated, with their head still parsed.
	st.Call("DataTransfer", map[string]any{"vendorId": "com.example", "data": strings.Repeat("x", 10_000)})
	big := items("?action=DataTransfer&direction=in")
	if len(big) != 1 || big[0]["truncated"] != true || big[0]["size"].(float64) < 10_000 || big[0]["payload"] != nil ||
		len(big[0]["frame"].(string)) != 4096 || big[0]["messageType"] != "Call" {
		t.Errorf("big frame entry: %.300v", big)
	}

	// The ring keeps the newest 200 frames of a station.
	for range 110 {
		st.MustCall("Heartbeat", map[string]any{})
	}
	eventually(t, "the ring is full", func() bool {
		return len(items("?limit=500")) == 200
	})
	newest := items("?limit=500")
	if newest[0]["action"] != "Heartbeat" || newest[199]["action"] != "Heartbeat" {
		t.Errorf("ring ends: %v … %v", newest[0], newest[199])
	}
	if got := items("?action=BootNotification"); len(got) != 0 {
		t.Errorf("the oldest frames should be gone: %v", got)
	}
}

func TestStationMessageLogOff(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations, c.MessageLogMiB = "accept", 0 })
	st := ts.dial("QUIET-CP", "1.6")
	st.MustCall("BootNotification", boot16())
	status, body := ts.do("GET", "/api/v1/stations/QUIET-CP/messages", nil)
	if status != http.StatusNotFound || !strings.Contains(body["error"].(map[string]any)["message"].(string), "turned off") {
		t.Errorf("log off: %d %v", status, body)
	}
}

func TestMessageLogFlag(t *testing.T) {
	for _, bad := range []string{"-1", "x", "65537"} {
		if _, err := parseServeFlags("serve", []string{"--message-log-mib", bad}, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("--message-log-mib %s accepted", bad)
		}
	}
	cfg, err := parseServeFlags("serve", nil, func(k string) string {
		if k == "OPENCPO_MESSAGE_LOG_MIB" {
			return "8"
		}
		return ""
	}, io.Discard)
	if err != nil || cfg.MessageLogMiB != 8 {
		t.Errorf("env: %d %v", cfg.MessageLogMiB, err)
	}
	if cfg, _ := parseServeFlags("serve", nil, func(string) string { return "" }, io.Discard); cfg.MessageLogMiB != 32 {
		t.Errorf("default %d", cfg.MessageLogMiB)
	}
}

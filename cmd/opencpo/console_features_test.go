package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// lastAudit returns the newest audit entry (through the REST API).
func lastAudit(t *testing.T, cs *consoleServer) map[string]any {
	t.Helper()
	items, _ := cs.mustDo(200, "GET", "/api/v1/audit", nil)["items"].([]any)
	if len(items) == 0 {
		t.Fatal("audit log is empty")
	}
	return items[0].(map[string]any)
}

func wantAudit(t *testing.T, cs *consoleServer, actor, action string) {
	t.Helper()
	if e := lastAudit(t, cs); e["actor"] != actor || e["action"] != action {
		t.Errorf("last audit entry = %v %v, want %s by %s", e["action"], e["actor"], action, actor)
	}
}

func TestConsoleLocations(t *testing.T) {
	cs := startConsole(t, nil)
	ops, token := cs.signIn(t, "ops@example.com")
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {token}, "name": {"Depot Nord"}, "street": {"Hafenstraße 1"}, "postalCode": {"20457"}, "city": {"Hamburg"},
			"country": {"DE"}, "latitude": {"53.5413"}, "longitude": {"9.9841"}, "timeZone": {"Europe/Berlin"}, "hours": {"Mon-Fri 07:00-19:00\nSat 08:00-12:00"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	// Each problem is shown next to its field, with what was typed kept.
	for _, c := range []struct {
		kv            []string
		errID, keptAs string
	}{
		{[]string{"latitude", "north"}, "l-lat-err", `value="north"`},
		{[]string{"latitude", "123"}, "l-lat-err", `value="123"`},
		{[]string{"country", "XX"}, "l-country-err", `value="XX"`},
		{[]string{"timeZone", "Mars/Olympus"}, "l-tz-err", `value="Mars/Olympus"`},
		{[]string{"hours", "Mon-Fri 19:00-07:00"}, "l-hours-err", "Mon-Fri 19:00-07:00"},
		{[]string{"hours", "weekdays"}, "l-hours-err", "weekdays"},
		{[]string{"name", ""}, "l-name-err", `value="20457"`},
	} {
		resp, body := cs.post(t, ops, "/locations", form(c.kv...))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="`+c.errID+`"`) || !strings.Contains(body, c.keptAs) {
			t.Errorf("create location with %v = %d; want 400 with #%s and %s kept", c.kv, resp.StatusCode, c.errID, c.keptAs)
		}
	}
	if n := len(cs.mustDo(200, "GET", "/api/v1/locations", nil)["items"].([]any)); n != 0 {
		t.Fatalf("refused forms created %d locations", n)
	}
	resp, _ := cs.post(t, ops, "/locations", form())
	loc := strings.TrimPrefix(resp.Header.Get("Location"), "/locations/")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "loc_") {
		t.Fatalf("create location = %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	wantAudit(t, cs, "ops@example.com", "CreateLocation")
	got := cs.mustDo(200, "GET", "/api/v1/locations/"+loc, nil)
	hours := fmt.Sprint(got["openingHours"])
	if got["name"] != "Depot Nord" || got["timeZone"] != "Europe/Berlin" || fmt.Sprint(got["coordinates"]) != "map[latitude:53.5413 longitude:9.9841]" ||
		strings.Count(hours, "periodBegin:07:00") != 5 || !strings.Contains(hours, "weekday:6") {
		t.Errorf("stored location %v", got)
	}

	// A station is assigned from the location's page; the API sees it there.
	cs.mustDo(201, "POST", "/api/v1/stations", map[string]any{"id": "SITE-1"})
	if resp, body := cs.post(t, ops, "/locations/"+loc+"/stations", url.Values{"csrf": {token}, "stationId": {"NOPE"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="as-err"`) || !strings.Contains(body, "there is no station NOPE") {
		t.Errorf("assign an unknown station = %d", resp.StatusCode)
	}
	if resp, _ := cs.post(t, ops, "/locations/"+loc+"/stations", url.Values{"csrf": {token}, "stationId": {"SITE-1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign = %d", resp.StatusCode)
	}
	wantAudit(t, cs, "ops@example.com", "SetStationLocation")
	if st := cs.mustDo(200, "GET", "/api/v1/stations/SITE-1", nil); st["locationId"] != loc {
		t.Errorf("station after assignment: locationId %v", st["locationId"])
	}
	if _, body := cs.get(t, ops, "/stations/SITE-1"); !strings.Contains(body, `<a href="/locations/`+loc+`">Depot Nord</a>`) {
		t.Errorf("station page does not name its location")
	}
	// The list and the map data show the location with its station; the list works without
	// the map bundle.
	status, body := cs.get(t, ops, "/locations")
	if status != 200 || !strings.Contains(body, `data-location="`+loc+`"`) || !strings.Contains(body, `id="map-data"`) ||
		!regexp.MustCompile(`"id":"`+loc+`".*"stations":\[\{"id":"SITE-1"`).MatchString(body) {
		t.Errorf("locations page = %d:\n%s", status, body)
	}
	// Edit: a bad value keeps the form; a good one is saved and audited.
	edit := form("name", "Depot Nord-Ost", "hours", "")
	edit.Set("hours24", "on")
	if resp, body := cs.post(t, ops, "/locations/"+loc, form("longitude", "200")); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="l-lon-err"`) || !strings.Contains(body, "longitude must be from -180 to 180") {
		t.Errorf("edit with a bad longitude = %d", resp.StatusCode)
	}
	if resp, _ := cs.post(t, ops, "/locations/"+loc, edit); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit = %d", resp.StatusCode)
	}
	wantAudit(t, cs, "ops@example.com", "UpdateLocation")
	got = cs.mustDo(200, "GET", "/api/v1/locations/"+loc, nil)
	if got["name"] != "Depot Nord-Ost" || fmt.Sprint(got["openingHours"]) != "map[regularHours:[] twentyFourSeven:true]" {
		t.Errorf("after edit %v", got)
	}
	if _, body := cs.get(t, ops, "/locations/"+loc); !strings.Contains(body, `name="hours24" checked`) || !strings.Contains(body, `value="Depot Nord-Ost"`) {
		t.Errorf("edit form does not show the stored values")
	}
	// Removing the station from the location.
	if resp, _ := cs.post(t, ops, "/locations/"+loc+"/stations", url.Values{"csrf": {token}, "stationId": {"SITE-1"}, "remove": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove = %d", resp.StatusCode)
	}
	if st := cs.mustDo(200, "GET", "/api/v1/stations/SITE-1", nil); st["locationId"] != nil {
		t.Errorf("station after removal: locationId %v", st["locationId"])
	}
	// Read-only users see the locations but no forms.
	viewer, _ := cs.signIn(t, "viewer@example.com")
	if status, body := cs.get(t, viewer, "/locations/"+loc); status != 200 || strings.Contains(body, `method="post" action="/locations`) {
		t.Errorf("read-only location page = %d, has forms: %v", status, strings.Contains(body, `method="post" action="/locations`))
	}
}

var secretPattern = regexp.MustCompile(`<code id="secret-value">(ocpo_[A-Za-z0-9_-]+)</code>`)

func TestConsoleAPITokens(t *testing.T) {
	cs := startConsole(t, nil)
	admin, token := cs.signIn(t, "admin@example.com")
	if resp, body := cs.post(t, admin, "/api-tokens", url.Values{"csrf": {token}, "name": {""}, "role": {"root"}, "expiresAt": {"2001-01-01"}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, `id="a-name-err"`) || !strings.Contains(body, `id="a-role-err"`) || !strings.Contains(body, `id="a-exp-err"`) || !strings.Contains(body, `value="2001-01-01"`) {
		t.Errorf("bad API token form = %d; want errors next to name, role and expiry", resp.StatusCode)
	}
	resp, body := cs.post(t, admin, "/api-tokens", url.Values{"csrf": {token}, "name": {"billing export"}, "role": {"readonly"}})
	m := secretPattern.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusCreated || m == nil || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create API token = %d, secret shown: %v", resp.StatusCode, m != nil)
	}
	secret := m[1]
	wantAudit(t, cs, "admin@example.com", "CreateAPIToken")
	if resp, body := cs.post(t, admin, "/api-tokens", url.Values{"csrf": {token}, "name": {"billing export"}, "role": {"admin"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "exists already") {
		t.Errorf("second token with the same name = %d", resp.StatusCode)
	}
	// The secret works on the REST API with the token's role, and is never shown again.
	call := func(method, path string) int {
		req, _ := http.NewRequest(method, cs.base()+path, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call("GET", "/api/v1/stations"); got != http.StatusOK {
		t.Errorf("API with the new token = %d", got)
	}
	if got := call("POST", "/api/v1/tokens"); got != http.StatusForbidden {
		t.Errorf("readonly API token writing = %d, want 403", got)
	}
	_, list := cs.get(t, admin, "/api-tokens")
	if strings.Contains(list, secret) || !strings.Contains(list, "billing export") {
		t.Errorf("API token list shows the secret again, or not the token")
	}
	id := regexp.MustCompile(`action="/api-tokens/(at_[0-9a-f]+)/revoke"`).FindStringSubmatch(list)
	if id == nil {
		t.Fatal("no revoke button")
	}
	if resp, _ := cs.post(t, admin, "/api-tokens/"+id[1]+"/revoke", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke = %d", resp.StatusCode)
	}
	wantAudit(t, cs, "admin@example.com", "RevokeAPIToken")
	// Refused at once, although the API had just cached the token.
	if got := call("GET", "/api/v1/stations"); got != http.StatusUnauthorized {
		t.Errorf("API with the revoked token = %d, want 401", got)
	}
	if _, list := cs.get(t, admin, "/api-tokens"); !strings.Contains(list, "revoked ") || strings.Contains(list, `/api-tokens/`+id[1]+`/revoke`) {
		t.Errorf("the list does not show the token revoked")
	}
	// Operators and read-only users do not manage API tokens.
	for _, email := range []string{"ops@example.com", "viewer@example.com"} {
		c, tok := cs.signIn(t, email)
		if status, _ := cs.get(t, c, "/api-tokens"); status != http.StatusForbidden {
			t.Errorf("%s GET /api-tokens = %d, want 403", email, status)
		}
		if resp, _ := cs.post(t, c, "/api-tokens", url.Values{"csrf": {tok}, "name": {"x"}, "role": {"admin"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s POST /api-tokens = %d, want 403", email, resp.StatusCode)
		}
	}
}

func TestConsoleMessageLog(t *testing.T) {
	cs := startConsole(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	st := cs.dial("LOGC-1", "1.6")
	st.MustCall("BootNotification", boot16())
	st.MustCall("Authorize", map[string]any{"idTag": "SECRET-TAG-9"})
	ops, _ := cs.signIn(t, "ops@example.com")
	if _, body := cs.get(t, ops, "/stations/LOGC-1"); !strings.Contains(body, `href="/stations/LOGC-1/messages"`) {
		t.Errorf("station page has no link to the message log")
	}
	var body string
	eventually(t, "the Authorize answer is logged", func() bool {
		_, body = cs.get(t, ops, "/stations/LOGC-1/messages")
		return strings.Count(body, `data-action="Authorize"`) == 2
	})
	if strings.Count(body, `data-action="BootNotification"`) != 2 || !strings.Contains(body, "→ station") || !strings.Contains(body, "← station") {
		t.Errorf("message log does not show BootNotification both ways:\n%s", body)
	}
	_, body = cs.get(t, ops, "/stations/LOGC-1/messages?action=BootNotification")
	if strings.Contains(body, `data-action="Authorize"`) || strings.Count(body, `data-action="BootNotification"`) != 2 {
		t.Errorf("action search")
	}
	_, body = cs.get(t, ops, "/stations/LOGC-1/messages?q=secret-tag&direction=in")
	if strings.Count(body, "<tr data-action=") != 1 || !strings.Contains(body, "SECRET-TAG-9") {
		t.Errorf("text search")
	}
	// The page refreshes live: it asks the tab's one event stream for the station's frames, and
	// a new frame is announced on it (read-only users, who may not read frames, are not told).
	if !strings.Contains(body, `data-watch-messages="LOGC-1"`) || !strings.Contains(body, `id="message-list" data-live="messages." data-live-station="LOGC-1"`) {
		t.Errorf("the message log page is not marked for live refresh")
	}
	viewer, _ := cs.signIn(t, "viewer@example.com")
	opsEvents := openConsoleEvents(t, cs, ops, "/console/events?messages=LOGC-1")
	viewerEvents := openConsoleEvents(t, cs, viewer, "/console/events?messages=LOGC-1")
	st.MustCall("Heartbeat", map[string]any{})
	if e := nextConsoleEvent(t, opsEvents, 10*time.Second, "messages.new"); e["stationId"] != "LOGC-1" {
		t.Errorf("messages.new event = %v", e)
	}
	st.MustCall("Heartbeat", map[string]any{})
	if e := nextConsoleEvent(t, viewerEvents, time.Second, "messages.new"); e != nil {
		t.Errorf("a read-only user's stream announced frames: %v", e)
	}
	_, body = cs.get(t, ops, "/stations/LOGC-1/messages?action=Heartbeat")
	if strings.Count(body, `data-action="Heartbeat"`) != 4 {
		t.Errorf("the log does not hold both heartbeats both ways")
	}

	// Frames may hold idTokens: read-only users get neither the page nor the link.
	if status, body := cs.get(t, viewer, "/stations/LOGC-1/messages"); status != http.StatusForbidden || strings.Contains(body, "SECRET-TAG-9") {
		t.Errorf("read-only message log = %d", status)
	}
	if _, body := cs.get(t, viewer, "/stations/LOGC-1"); strings.Contains(body, "/messages") {
		t.Errorf("read-only station page links the message log")
	}
}

func TestConsoleSessionCost(t *testing.T) {
	cs := startConsole(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	createTokens(t, cs.testServer)
	cs.mustDo(http.StatusCreated, "PUT", "/api/v1/tariffs/TIME", tariffTime)
	cs.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "COST-1"})
	cs.mustDo(http.StatusCreated, "POST", "/api/v1/tariff-assignments", map[string]any{"tariffId": "TIME"})
	st := cs.dial("COST-1", "1.6")
	st.MustCall("BootNotification", boot16())
	t0 := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	r := decode[map[string]any](t, st.MustCall("StartTransaction", map[string]any{"connectorId": 1, "idTag": "TAG-OK", "meterStart": 0, "timestamp": ts3339(t0)}))
	txID := int(r["transactionId"].(float64))
	st.MustCall("MeterValues", map[string]any{"connectorId": 1, "transactionId": txID, "meterValue": []any{map[string]any{
		"timestamp": ts3339(t0.Add(30 * time.Minute)), "sampledValue": []any{map[string]any{"value": "5000"}}}}})
	id := sessionByTx(t, cs.testServer, "COST-1", fmt.Sprint(txID))["id"].(string)
	viewer, _ := cs.signIn(t, "viewer@example.com")
	// Live: 30 min × 2.40/h = 1.20 excl. VAT, 1.43 incl. 19 %, in the CSV too (not final).
	if _, csvText := cs.get(t, viewer, "/sessions.csv?station=COST-1"); !strings.Contains(csvText, ",1.43,1.20,EUR,false") {
		t.Errorf("CSV of the live session lacks its cost so far:\n%s", csvText)
	}
	if _, body := cs.get(t, viewer, "/sessions/"+id); !strings.Contains(body, "1.43 EUR") || !strings.Contains(body, "so far") || strings.Contains(body, "/cdr\"") {
		t.Errorf("live session page does not show 1.43 EUR so far:\n%s", body)
	}
	if _, body := cs.get(t, viewer, "/sessions"); !strings.Contains(body, `<td class="num">1.43 EUR</td>`) {
		t.Errorf("sessions list does not show the cost")
	}
	st.MustCall("MeterValues", map[string]any{"connectorId": 1, "transactionId": txID, "meterValue": []any{map[string]any{
		"timestamp": ts3339(t0.Add(60 * time.Minute)), "sampledValue": []any{map[string]any{"value": "9000"}}}}})
	st.MustCall("StopTransaction", map[string]any{"transactionId": txID, "meterStop": 9000, "timestamp": ts3339(t0.Add(70 * time.Minute)), "reason": "EVDisconnected"})
	waitCDR(t, cs.testServer, id)
	// Final: 3.40 excl., 4.05 incl.; the CDR is linked and shown.
	if _, body := cs.get(t, viewer, "/sessions/"+id); !strings.Contains(body, "4.05 EUR") || !strings.Contains(body, "final") || !strings.Contains(body, `href="/sessions/`+id+`/cdr"`) {
		t.Errorf("completed session page:\n%s", body)
	}
	// The CSV export has the same figure, marked final.
	status, csvText := cs.get(t, viewer, "/sessions.csv?station=COST-1")
	rows, err := csv.NewReader(strings.NewReader(csvText)).ReadAll()
	if err != nil || status != 200 || len(rows) != 2 {
		t.Fatalf("CSV export = %d, %d rows, %v:\n%s", status, len(rows), err, csvText)
	}
	col := map[string]string{}
	for i, h := range rows[0] {
		col[h] = rows[1][i]
	}
	if col["id"] != id || col["costInclVat"] != "4.05" || col["costExclVat"] != "3.40" || col["currency"] != "EUR" || col["costFinal"] != "true" {
		t.Errorf("CSV row = %v, want 4.05 / 3.40 EUR, final", col)
	}
	if status, body := cs.get(t, viewer, "/sessions/"+id+"/cdr"); status != 200 || !strings.Contains(body, "4.05 EUR incl. VAT (3.40 excl.)") || !strings.Contains(body, `&#34;totalParkingTime&#34;`) {
		t.Errorf("CDR page = %d:\n%s", status, body)
	}
	if status, _ := cs.get(t, viewer, "/sessions/999999/cdr"); status != http.StatusNotFound {
		t.Errorf("CDR of an unknown session = %d", status)
	}
}

// openConsoleEvents opens a console event stream for the test's lifetime and returns its events.
func openConsoleEvents(t *testing.T, cs *consoleServer, c *http.Client, path string) <-chan map[string]any {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", cs.base()+path, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", path, resp.StatusCode)
	}
	out := make(chan map[string]any, 100)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var e map[string]any
				if json.Unmarshal([]byte(data), &e) == nil {
					out <- e
				}
			}
		}
	}()
	return out
}

// nextConsoleEvent waits up to d for an event of kind on the stream; nil if none came.
func nextConsoleEvent(t *testing.T, events <-chan map[string]any, d time.Duration, kind string) map[string]any {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case e := <-events:
			if e["kind"] == kind {
				return e
			}
		case <-deadline:
			return nil
		}
	}
}

package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
)

// TestConsoleCatalogPages reads tariffs, station groups, firmware campaigns and configuration
// templates with their drift in the console, as created through the REST API.
func TestConsoleCatalogPages(t *testing.T) {
	cs := startConsole(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	st := cs.dial("CAT-1", "1.6")
	st.MustCall("BootNotification", boot16())
	cs.mustDo(http.StatusCreated, "PUT", "/api/v1/tariffs/MIXED", tariffMixed)
	cs.mustDo(http.StatusCreated, "POST", "/api/v1/tariff-assignments", map[string]any{"tariffId": "MIXED", "stationId": "CAT-1", "groupId": "fleet"})
	cs.mustDo(http.StatusCreated, "PUT", "/api/v1/station-groups/north", map[string]any{"name": "North", "tokenGroups": []any{"fleet-a", "fleet-b"}})
	cs.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/CAT-1", map[string]any{"groupId": "north"})
	campaign := cs.mustDo(http.StatusCreated, "POST", "/api/v1/firmware-campaigns", map[string]any{
		"name": "spring update", "firmwareUrl": "https://fw.example.com/acme-2.bin", "stationIds": []string{"CAT-1"},
		"startAt": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339), "waves": []int{50, 100}})
	cs.mustDo(http.StatusCreated, "PUT", "/api/v1/config-templates/acme-wb1", map[string]any{"vendor": "ACME", "model": "Wallbox-1",
		"values": map[string]any{"HeartbeatInterval": "300"}})

	viewer, _ := cs.signIn(t, "viewer@example.com")
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/tariffs", []string{`data-tariff="MIXED"`, "<td>EUR</td>"}},
		{"/tariffs/MIXED", []string{"0.25 EUR/kWh, VAT 20 %, billed per 100 Wh", "1.2 EUR/h charging, VAT 20 %, billed per 60 s",
			"from 3 kW", `<a href="/stations/CAT-1">CAT-1</a>`, "fleet", `id="tariff-json"`}},
		{"/station-groups", []string{`data-group="north"`, "fleet-a, fleet-b", `<td class="num">1</td>`}},
		{"/station-groups/north", []string{"Station group North", `<a href="/stations/CAT-1">CAT-1</a>`}},
		{"/campaigns", []string{`data-campaign="` + campaign["id"].(string) + `"`, "spring update", "scheduled", "1 of 2"}},
		{"/campaigns/" + campaign["id"].(string), []string{"https://fw.example.com/acme-2.bin", "50 %, 100 %", `data-target="CAT-1"`, "pending"}},
		{"/config-templates", []string{`data-template="acme-wb1"`, "Wallbox-1"}},
		{"/config-templates/acme-wb1", []string{"<code>HeartbeatInterval</code>", "1 stations of this model; 1 differ or never reported",
			`data-drift="CAT-1"`, "never reported"}},
	} {
		status, body := cs.get(t, viewer, c.path)
		if status != http.StatusOK {
			t.Errorf("GET %s = %d", c.path, status)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s does not show %q", c.path, w)
			}
		}
		if strings.Contains(body, `method="post" action="/tariffs`) || strings.Contains(body, `method="post" action="/campaigns`) {
			t.Errorf("GET %s offers a form: these pages are read-only", c.path)
		}
	}
	for _, p := range []string{"/tariffs/NOPE", "/station-groups/nope", "/campaigns/999999", "/campaigns/x", "/config-templates/nope"} {
		if status, _ := cs.get(t, viewer, p); status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, status)
		}
	}
}

// TestConsoleTariffForms creates and changes a tariff from the console: each mistake next to its
// field with what was typed kept, the same checks as PUT /api/v1/tariffs/{id}, audited.
func TestConsoleTariffForms(t *testing.T) {
	cs := startConsole(t, nil)
	ops, token := cs.signIn(t, "ops@example.com")
	if _, body := cs.get(t, ops, "/tariffs"); !strings.Contains(body, `id="t-ocpi"`) || !strings.Contains(body, "&#34;currency&#34;: &#34;EUR&#34;") {
		t.Fatalf("the tariffs page has no new-tariff form with an example")
	}
	for _, c := range []struct {
		id, ocpi, errID, says string
	}{
		{"bad id!", tariffEnergy, "t-id-err", "1 to 36 characters"},
		{"NEW", `{"currency": "EUR", "elements": [`, "t-ocpi-err", "ends too early"},
		{"NEW", `{"currency": "EUR",, "elements": []}`, "t-ocpi-err", "JSON syntax error at character 20"},
		{"NEW", "", "t-ocpi-err", "it is empty"},
		{"NEW", `{"currency": "EUR", "elements": [], "colour": "red"}`, "t-ocpi-err", "colour"},
		{"NEW", `{"currency": "EUR", "elements": [{"price_components": [{"type": "ENERGY", "price": "lots", "step_size": 1}]}]}`, "t-ocpi-err", "not an OCPI tariff object"},
		{"NEW", `{"elements": [{"price_components": [{"type": "ENERGY", "price": 0.3, "step_size": 1}]}]}`, "t-ocpi-err", "currency"},
		{"NEW", `{"id": "OTHER", "currency": "EUR", "elements": [{"price_components": [{"type": "ENERGY", "price": 0.3, "step_size": 1}]}]}`, "t-ocpi-err", "differs"},
	} {
		resp, body := cs.post(t, ops, "/tariffs", url.Values{"csrf": {token}, "id": {c.id}, "ocpi": {c.ocpi}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="`+c.errID+`"`) || !strings.Contains(body, c.says) ||
			!strings.Contains(body, `value="`+c.id+`"`) {
			t.Errorf("new tariff %q %s = %d; want 400 with #%s saying %q and the id kept", c.id, c.ocpi, resp.StatusCode, c.errID, c.says)
		}
	}
	if items := cs.mustDo(http.StatusOK, "GET", "/api/v1/tariffs", nil)["items"].([]any); len(items) != 0 {
		t.Fatalf("refused forms stored %d tariffs", len(items))
	}
	resp, _ := cs.post(t, ops, "/tariffs", url.Values{"csrf": {token}, "id": {"NEW"}, "ocpi": {tariffEnergy}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tariffs/NEW" {
		t.Fatalf("create tariff = %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	wantAudit(t, cs, "ops@example.com", "PutTariff")
	got := cs.mustDo(http.StatusOK, "GET", "/api/v1/tariffs/NEW", nil)
	if got["id"] != "NEW" || got["currency"] != "EUR" || got["last_updated"] == nil {
		t.Errorf("the API sees %v", got)
	}
	// Its page offers the stored JSON for changing; a mistake keeps what was typed.
	_, page := cs.get(t, ops, "/tariffs/NEW")
	if !strings.Contains(page, `action="/tariffs/NEW"`) || !strings.Contains(page, "Tariff NEW created.") {
		t.Errorf("the tariff page has no change form or no confirmation")
	}
	if resp, body := cs.post(t, ops, "/tariffs", url.Values{"csrf": {token}, "id": {"NEW"}, "ocpi": {tariffEnergy}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "a tariff NEW exists") {
		t.Errorf("creating an existing id = %d, want 400 next to the id", resp.StatusCode)
	}
	bad := `{"currency": "EUR", "elements": [{"price_components": [{"type": "ENERGY", "price": -1, "step_size": 1}]}]}`
	if resp, body := cs.post(t, ops, "/tariffs/NEW", url.Values{"csrf": {token}, "ocpi": {bad}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, `id="t-ocpi-err"`) || !strings.Contains(body, "&#34;price&#34;: -1") {
		t.Errorf("change with a negative price = %d; want 400 with the error and the typed JSON", resp.StatusCode)
	}
	if resp, _ := cs.post(t, ops, "/tariffs/NEW", url.Values{"csrf": {token}, "ocpi": {tariffTime}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("change tariff = %d", resp.StatusCode)
	}
	wantAudit(t, cs, "ops@example.com", "PutTariff")
	got = cs.mustDo(http.StatusOK, "GET", "/api/v1/tariffs/NEW", nil)
	if c := got["elements"].([]any)[0].(map[string]any)["price_components"].([]any)[0].(map[string]any); c["type"] != "TIME" {
		t.Errorf("after the change the API sees %v", c)
	}
	if resp, _ := cs.post(t, ops, "/tariffs/NOPE", url.Values{"csrf": {token}, "ocpi": {tariffTime}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("change an unknown tariff = %d, want 404", resp.StatusCode)
	}
}

// TestConsoleCampaignAndTemplateActions cancels a firmware campaign and applies a configuration
// template to the drifted simulated stations from the console: confirmation asked, the station
// answers shown, audited under the user's email, read-only users without the buttons.
func TestConsoleCampaignAndTemplateActions(t *testing.T) {
	cs := startConsole(t, func(c *serveConfig) { c.NoConfigRefresh = false })
	runModelSim(t, cs.testServer, "CTPL-A", ocpp.V16, "Acme", "X1")
	runModelSim(t, cs.testServer, "CTPL-B", ocpp.V16, "Acme", "X1")
	for _, id := range []string{"CTPL-A", "CTPL-B"} {
		eventually(t, id+" configuration stored", func() bool { _, ok := configValue(cs.testServer, id, "ConnectionTimeOut"); return ok })
	}
	cs.mustDo(http.StatusCreated, "PUT", "/api/v1/config-templates/acme-x1", map[string]any{"vendor": "Acme", "model": "X1",
		"values": map[string]any{"ConnectionTimeOut": "91"}})
	ops, token := cs.signIn(t, "ops@example.com")
	viewer, vtoken := cs.signIn(t, "viewer@example.com")

	if _, body := cs.get(t, viewer, "/config-templates/acme-x1"); strings.Contains(body, `id="apply-template"`) {
		t.Errorf("read-only template page offers the apply button")
	}
	_, body := cs.get(t, ops, "/config-templates/acme-x1")
	if !strings.Contains(body, `id="apply-template"`) || !strings.Contains(body, `data-confirm="Send the template's values to the 2 drifted stations of Acme X1?"`) {
		t.Fatalf("template page has no apply button asking for confirmation:\n%s", body)
	}
	resp, body := cs.post(t, ops, "/config-templates/acme-x1/apply", url.Values{"csrf": {token}})
	if resp.StatusCode != http.StatusOK || strings.Count(body, "<code>ConnectionTimeOut</code> = <code>91</code> Accepted") != 2 ||
		!strings.Contains(body, `data-applied="CTPL-A"`) || !strings.Contains(body, "2 stations of this model; 0 differ") {
		t.Errorf("apply = %d; want both stations' Accepted answers and no drift left:\n%s", resp.StatusCode, body)
	}
	if e := auditRequest(t, cs.testServer, "CTPL-A", "ChangeConfiguration"); e["key"] != "ConnectionTimeOut" || e["value"] != "91" {
		t.Errorf("audited ChangeConfiguration = %v", e)
	}
	if items := cs.mustDo(http.StatusOK, "GET", "/api/v1/audit?stationId=CTPL-A", nil)["items"].([]any); items[0].(map[string]any)["actor"] != "ops@example.com" {
		t.Errorf("the apply is audited under %v", items[0].(map[string]any)["actor"])
	}
	if v, _ := configValue(cs.testServer, "CTPL-B", "ConnectionTimeOut"); v != "91" {
		t.Errorf("CTPL-B holds ConnectionTimeOut %q after apply", v)
	}

	// A scheduled campaign is cancelled; resuming it then is refused with the reason.
	c := cs.mustDo(http.StatusCreated, "POST", "/api/v1/firmware-campaigns", map[string]any{
		"name": "later", "firmwareUrl": "https://fw.example.com/x1-2.bin", "stationIds": []string{"CTPL-A", "CTPL-B"},
		"startAt": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)})
	id := c["id"].(string)
	if _, body := cs.get(t, viewer, "/campaigns/"+id); strings.Contains(body, `action="/campaigns/`+id+`/cancel"`) {
		t.Errorf("read-only campaign page offers cancel")
	}
	if resp, _ := cs.post(t, viewer, "/campaigns/"+id+"/cancel", url.Values{"csrf": {vtoken}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("read-only cancel = %d, want 403", resp.StatusCode)
	}
	_, body = cs.get(t, ops, "/campaigns/"+id)
	if !strings.Contains(body, `action="/campaigns/`+id+`/cancel"`) || strings.Contains(body, `action="/campaigns/`+id+`/resume"`) ||
		!strings.Contains(body, `data-confirm="Cancel later?`) {
		t.Errorf("scheduled campaign page: want cancel (with confirmation) and no resume")
	}
	if resp, _ := cs.post(t, ops, "/campaigns/"+id+"/cancel", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel = %d", resp.StatusCode)
	}
	if got := cs.mustDo(http.StatusOK, "GET", "/api/v1/firmware-campaigns/"+id, nil); got["status"] != "cancelled" {
		t.Errorf("after cancel the API sees %v", got["status"])
	}
	wantAudit(t, cs, "ops@example.com", "CancelFirmwareCampaign")
	if _, body := cs.get(t, ops, "/campaigns/"+id); !strings.Contains(body, "Campaign later is now cancelled.") || strings.Contains(body, `/cancel"`) {
		t.Errorf("cancelled campaign page: want the confirmation and no cancel button")
	}
	if resp, body := cs.post(t, ops, "/campaigns/"+id+"/resume", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "not halted") {
		t.Errorf("resume a cancelled campaign = %d, want 409 saying why", resp.StatusCode)
	}
	if resp, _ := cs.post(t, ops, "/campaigns/"+id+"/explode", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown campaign action = %d, want 404", resp.StatusCode)
	}
}

// TestConsoleStationGroupMembers adds a station to a station group from the group's page and
// takes it out again: errors next to the field, the API sees it, audited, read-only refused.
func TestConsoleStationGroupMembers(t *testing.T) {
	cs := startConsole(t, nil)
	cs.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "GRP-1"})
	cs.mustDo(http.StatusCreated, "PUT", "/api/v1/station-groups/north", map[string]any{"name": "North", "allTokens": true})
	cs.mustDo(http.StatusCreated, "PUT", "/api/v1/station-groups/south", map[string]any{"name": "South", "allTokens": true})
	ops, token := cs.signIn(t, "ops@example.com")
	for _, c := range []struct{ station, says string }{{"", "enter a station id"}, {"NOPE", "there is no station NOPE"}} {
		resp, body := cs.post(t, ops, "/station-groups/north/stations", url.Values{"csrf": {token}, "stationId": {c.station}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="g-station-err"`) || !strings.Contains(body, c.says) ||
			!strings.Contains(body, `id="g-station" name="stationId" value="`+c.station+`"`) {
			t.Errorf("add %q = %d; want 400 saying %q next to the field, the value kept", c.station, resp.StatusCode, c.says)
		}
	}
	if resp, _ := cs.post(t, ops, "/station-groups/south/stations", url.Values{"csrf": {token}, "stationId": {"GRP-1"}, "remove": {"1"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("remove a station that is not in the group = %d, want 400", resp.StatusCode)
	}
	if resp, _ := cs.post(t, ops, "/station-groups/north/stations", url.Values{"csrf": {token}, "stationId": {"GRP-1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add = %d", resp.StatusCode)
	}
	wantAudit(t, cs, "ops@example.com", "UpdateStation")
	if st := cs.mustDo(http.StatusOK, "GET", "/api/v1/stations/GRP-1", nil); st["groupId"] != "north" {
		t.Errorf("the API sees groupId %v", st["groupId"])
	}
	if _, body := cs.get(t, ops, "/station-groups/north"); !strings.Contains(body, `data-member="GRP-1"`) || !strings.Contains(body, "Station GRP-1 is in this group now.") {
		t.Errorf("the group page does not list its new member")
	}
	// Adding it to another group moves it.
	if resp, _ := cs.post(t, ops, "/station-groups/south/stations", url.Values{"csrf": {token}, "stationId": {"GRP-1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("move = %d", resp.StatusCode)
	}
	if st := cs.mustDo(http.StatusOK, "GET", "/api/v1/stations/GRP-1", nil); st["groupId"] != "south" {
		t.Errorf("after the move the API sees groupId %v", st["groupId"])
	}
	if resp, _ := cs.post(t, ops, "/station-groups/south/stations", url.Values{"csrf": {token}, "stationId": {"GRP-1"}, "remove": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove = %d", resp.StatusCode)
	}
	if st := cs.mustDo(http.StatusOK, "GET", "/api/v1/stations/GRP-1", nil); st["groupId"] != nil {
		t.Errorf("after removal the API sees groupId %v", st["groupId"])
	}
	if e := lastAudit(t, cs); e["request"].(map[string]any)["groupId"] != nil || e["stationId"] != "GRP-1" {
		t.Errorf("removal audit = %v", e)
	}
	viewer, vtoken := cs.signIn(t, "viewer@example.com")
	if _, body := cs.get(t, viewer, "/station-groups/south"); strings.Contains(body, `id="group-add"`) {
		t.Errorf("read-only group page offers the add form")
	}
	if resp, _ := cs.post(t, viewer, "/station-groups/south/stations", url.Values{"csrf": {vtoken}, "stationId": {"GRP-1"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("read-only add = %d, want 403", resp.StatusCode)
	}
}

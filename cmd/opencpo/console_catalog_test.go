package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
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

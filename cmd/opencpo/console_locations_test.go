package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestConsoleEVSELocations assigns one EVSE of a station to another location than its station
// from the console, sees it on both location pages, the station page, the list and the map data,
// then deletes a location (confirmation box, audit, read-only refused).
func TestConsoleEVSELocations(t *testing.T) {
	cs := startConsole(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	ops, token := cs.signIn(t, "ops@example.com")
	cs.mustDo(http.StatusCreated, "POST", "/api/v1/locations", with(with(validLocation(), "id", "depot"), "name", "Depot"))
	cs.mustDo(http.StatusCreated, "POST", "/api/v1/locations", with(with(validLocation(), "id", "kerb"), "name", "Kerbside"))
	st := cs.dial("CON-EV1", "1.6")
	st.MustCall("BootNotification", boot16())
	for _, c := range []int{1, 2} {
		st.MustCall("StatusNotification", map[string]any{"connectorId": c, "errorCode": "NoError", "status": "Available", "timestamp": nowRFC3339()})
	}
	cs.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/CON-EV1", map[string]any{"locationId": "depot"})

	// Mistakes are shown next to their field, with what was typed kept.
	for _, c := range []struct {
		station, evse, errID, says string
	}{
		{"", "2", "ae-station-err", "choose a station"},
		{"CON-EV1", "two", "ae-evse-err", "enter the number of the EVSE"},
		{"NOPE", "2", "ae-station-err", "there is no station NOPE"},
		{"CON-EV1", "7", "ae-evse-err", "station CON-EV1 has no EVSE 7"},
	} {
		resp, body := cs.post(t, ops, "/locations/kerb/evses", url.Values{"csrf": {token}, "stationId": {c.station}, "evseId": {c.evse}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="`+c.errID+`"`) || !strings.Contains(body, c.says) ||
			!strings.Contains(body, `id="ae-evse" name="evseId" inputmode="numeric" size="4" value="`+c.evse+`"`) {
			t.Errorf("assign EVSE %q of %q = %d; want 400 with #%s saying %q and the EVSE kept", c.evse, c.station, resp.StatusCode, c.errID, c.says)
		}
	}
	if resp, _ := cs.post(t, ops, "/locations/kerb/evses", url.Values{"csrf": {token}, "stationId": {"CON-EV1"}, "evseId": {"2"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign EVSE 2 = %d", resp.StatusCode)
	}
	wantAudit(t, cs, "ops@example.com", "SetEVSELocation")
	evses := cs.mustDo(http.StatusOK, "GET", "/api/v1/stations/CON-EV1", nil)["evses"].([]any)
	if e := evses[1].(map[string]any); e["locationId"] != "kerb" || e["ownLocation"] != true {
		t.Errorf("the API sees EVSE 2 as %v", e)
	}
	// The kerb page lists the station for its EVSE 2 only; the depot page has EVSE 1 there and
	// says where EVSE 2 stands.
	_, kerb := cs.get(t, ops, "/locations/kerb")
	if !strings.Contains(kerb, `data-evse="CON-EV1/2"`) || strings.Contains(kerb, `data-evse="CON-EV1/1"`) || !strings.Contains(kerb, "(EVSEs only)") {
		t.Errorf("kerb page does not list EVSE 2 (and only it)")
	}
	_, depot := cs.get(t, ops, "/locations/depot")
	if !strings.Contains(depot, `data-evse="CON-EV1/1"`) || !strings.Contains(depot, `data-evse-elsewhere="CON-EV1/2"`) ||
		!strings.Contains(depot, `<a href="/locations/kerb">Kerbside</a>`) {
		t.Errorf("depot page does not show EVSE 1 here and EVSE 2 at Kerbside")
	}
	if _, body := cs.get(t, ops, "/stations/CON-EV1"); !strings.Contains(body, `Stands at <a href="/locations/kerb">Kerbside</a>`) {
		t.Errorf("station page does not say where EVSE 2 stands")
	}
	_, list := cs.get(t, ops, "/locations")
	if !regexp.MustCompile(`"id":"kerb".*"stations":\[\{"id":"CON-EV1","state":"[a-z]+","evses":\[2\]\}`).MatchString(list) ||
		!regexp.MustCompile(`"id":"depot".*"stations":\[\{"id":"CON-EV1","state":"[a-z]+","evses":\[1\]\}`).MatchString(list) {
		t.Errorf("map data does not put EVSE 2 at kerb and EVSE 1 at depot")
	}

	// Read-only users get no forms and are refused.
	viewer, vtoken := cs.signIn(t, "viewer@example.com")
	if _, body := cs.get(t, viewer, "/locations/kerb"); strings.Contains(body, `id="assign-evse"`) || strings.Contains(body, `id="delete-location"`) {
		t.Errorf("read-only page shows the EVSE or delete form")
	}
	if resp, _ := cs.post(t, viewer, "/locations/kerb/delete", url.Values{"csrf": {vtoken}, "force": {"1"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("read-only delete = %d, want 403", resp.StatusCode)
	}

	// Delete: with an EVSE assigned, the box must be ticked; the form asks for confirmation.
	if !strings.Contains(kerb, `data-confirm="Delete location Kerbside? This cannot be undone."`) {
		t.Errorf("the delete form asks for no confirmation")
	}
	if resp, body := cs.post(t, ops, "/locations/kerb/delete", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusConflict || !strings.Contains(body, `id="del-force-err"`) {
		t.Errorf("delete without the box = %d; want 409 with the error next to it", resp.StatusCode)
	}
	cs.mustDo(http.StatusOK, "GET", "/api/v1/locations/kerb", nil)
	resp, _ := cs.post(t, ops, "/locations/kerb/delete", url.Values{"csrf": {token}, "force": {"1"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/locations" {
		t.Fatalf("delete = %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if e := lastAudit(t, cs); e["action"] != "DeleteLocation" || e["actor"] != "ops@example.com" || e["request"].(map[string]any)["force"] != true {
		t.Errorf("last audit = %v", e)
	}
	cs.mustDo(http.StatusNotFound, "GET", "/api/v1/locations/kerb", nil)
	if _, body := cs.get(t, ops, "/locations"); !strings.Contains(body, "Location Kerbside deleted.") {
		t.Errorf("no confirmation after the deletion")
	}
	// EVSE 2 is back where its station is.
	evses = cs.mustDo(http.StatusOK, "GET", "/api/v1/stations/CON-EV1", nil)["evses"].([]any)
	if e := evses[1].(map[string]any); e["locationId"] != "depot" || e["ownLocation"] != false {
		t.Errorf("EVSE 2 after its location was deleted = %v", e)
	}
	// And an EVSE's own assignment can be taken away from the page.
	if resp, _ := cs.post(t, ops, "/locations/depot/evses", url.Values{"csrf": {token}, "stationId": {"CON-EV1"}, "evseId": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign EVSE 1 to depot on its own = %d", resp.StatusCode)
	}
	if resp, _ := cs.post(t, ops, "/locations/depot/evses", url.Values{"csrf": {token}, "stationId": {"CON-EV1"}, "evseId": {"2"}, "remove": {"1"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("remove an EVSE that has no own assignment = %d, want 400", resp.StatusCode)
	}
	if resp, _ := cs.post(t, ops, "/locations/depot/evses", url.Values{"csrf": {token}, "stationId": {"CON-EV1"}, "evseId": {"1"}, "remove": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("remove EVSE 1's own assignment = %d", resp.StatusCode)
	}
	if e := cs.mustDo(http.StatusOK, "GET", "/api/v1/stations/CON-EV1", nil)["evses"].([]any)[0].(map[string]any); e["ownLocation"] != false {
		t.Errorf("EVSE 1 still has its own location: %v", e)
	}
}

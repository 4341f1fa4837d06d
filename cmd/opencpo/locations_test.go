package main

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
)

func validLocation() map[string]any {
	return map[string]any{
		"name":        "Depot Nord",
		"address":     map[string]any{"street": "Hauptstraße 1", "city": "Berlin", "postalCode": "10115", "country": "DE"},
		"coordinates": map[string]any{"latitude": 52.520008, "longitude": 13.404954},
		"timeZone":    "Europe/Berlin",
		"operator":    "Stadtwerke Berlin",
		"openingHours": map[string]any{"regularHours": []any{
			map[string]any{"weekday": 1, "periodBegin": "08:00", "periodEnd": "12:00"},
			map[string]any{"weekday": 1, "periodBegin": "13:00", "periodEnd": "24:00"},
		}},
	}
}

func with(base map[string]any, key string, v any) map[string]any {
	m := maps.Clone(base)
	if v == nil {
		delete(m, key)
	} else {
		m[key] = v
	}
	return m
}

func TestLocationsValidation(t *testing.T) {
	ts := startServer(t, nil)
	good := validLocation()
	addr := func(k string, v any) map[string]any {
		a := maps.Clone(good["address"].(map[string]any))
		a[k] = v
		return with(good, "address", a)
	}
	hours := func(periods ...map[string]any) map[string]any {
		ps := make([]any, len(periods))
		for i, p := range periods {
			ps[i] = p
		}
		return with(good, "openingHours", map[string]any{"regularHours": ps})
	}
	period := func(day int, b, e string) map[string]any {
		return map[string]any{"weekday": day, "periodBegin": b, "periodEnd": e}
	}
	for name, bad := range map[string]any{
		"no name":          with(good, "name", ""),
		"no address":       with(good, "address", nil),
		"no street":        addr("street", ""),
		"no city":          addr("city", ""),
		"no postal code":   addr("postalCode", ""),
		"lower country":    addr("country", "de"),
		"alpha-3 country":  addr("country", "DEU"),
		"unknown country":  addr("country", "ZZ"),
		"no coordinates":   with(good, "coordinates", nil),
		"no latitude":      with(good, "coordinates", map[string]any{"longitude": 1}),
		"latitude > 90":    with(good, "coordinates", map[string]any{"latitude": 90.1, "longitude": 1}),
		"latitude < -90":   with(good, "coordinates", map[string]any{"latitude": -91, "longitude": 1}),
		"longitude > 180":  with(good, "coordinates", map[string]any{"latitude": 1, "longitude": 180.5}),
		"longitude < -180": with(good, "coordinates", map[string]any{"latitude": 1, "longitude": -181}),
		"text latitude":    with(good, "coordinates", map[string]any{"latitude": "52.5", "longitude": 1}),
		"no time zone":     with(good, "timeZone", nil),
		"bad time zone":    with(good, "timeZone", "Europe/Atlantis"),
		"local time zone":  with(good, "timeZone", "Local"),
		"empty hours":      with(good, "openingHours", map[string]any{}),
		"both hour kinds": with(good, "openingHours", map[string]any{"twentyFourSeven": true,
			"regularHours": []any{period(1, "08:00", "09:00")}}),
		"bad weekday":    hours(period(8, "08:00", "09:00")),
		"weekday zero":   hours(period(0, "08:00", "09:00")),
		"H:MM":           hours(period(1, "8:00", "09:00")),
		"hour 25":        hours(period(1, "08:00", "25:00")),
		"minute 60":      hours(period(1, "08:60", "09:00")),
		"begin 24:00":    hours(period(1, "24:00", "24:00")),
		"end before":     hours(period(1, "18:00", "08:00")),
		"empty period":   hours(period(1, "08:00", "08:00")),
		"overlap":        hours(period(2, "08:00", "12:00"), period(2, "11:59", "13:00")),
		"unknown field":  with(good, "color", "red"),
		"hours field":    with(good, "openingHours", map[string]any{"alwaysOpen": true}),
		"bad id":         with(good, "id", "has space"),
		"long name":      with(good, "name", strings.Repeat("n", 256)),
		"long street":    addr("street", strings.Repeat("s", 256)),
		"name is number": with(good, "name", 5),
	} {
		status, body := ts.do("POST", "/api/v1/locations", bad)
		if status != http.StatusBadRequest || errorCode(body) != "invalid_request" || body["error"].(map[string]any)["message"] == "" {
			t.Errorf("%s: POST = %d %v; want 400 with a message", name, status, body)
		}
	}
	if n := len(ts.mustDo(http.StatusOK, "GET", "/api/v1/locations", nil)["items"].([]any)); n != 0 {
		t.Fatalf("%d locations after refused creations", n)
	}

	// Edge values are fine.
	edge := with(good, "coordinates", map[string]any{"latitude": -90, "longitude": 180})
	edge = with(edge, "openingHours", map[string]any{"twentyFourSeven": true})
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/locations", with(edge, "id", "EDGE"))
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/locations", with(with(good, "id", "NOHOURS"), "openingHours", nil))
	ts.mustDo(http.StatusConflict, "POST", "/api/v1/locations", with(good, "id", "EDGE"))

	// PATCH validates the result the same way and changes nothing when refused.
	for name, bad := range map[string]any{
		"latitude":  map[string]any{"coordinates": map[string]any{"latitude": 100}},
		"country":   map[string]any{"address": map[string]any{"country": "XX"}},
		"time zone": map[string]any{"timeZone": "Nowhere/Special"},
		"name":      map[string]any{"name": ""},
		"hours":     map[string]any{"openingHours": map[string]any{"regularHours": []any{period(1, "10:00", "09:00")}}},
		"hours doc": map[string]any{"openingHours": "always"},
		"unknown":   map[string]any{"id": "NEW"},
	} {
		status, body := ts.do("PATCH", "/api/v1/locations/EDGE", bad)
		if status != http.StatusBadRequest || errorCode(body) != "invalid_request" {
			t.Errorf("PATCH %s = %d %v; want 400", name, status, body)
		}
	}
	got := ts.mustDo(http.StatusOK, "GET", "/api/v1/locations/EDGE", nil)
	if c := got["coordinates"].(map[string]any); c["latitude"] != -90.0 || got["name"] != "Depot Nord" {
		t.Errorf("location after refused patches: %v", got)
	}
	ts.mustDo(http.StatusNotFound, "PATCH", "/api/v1/locations/NOPE", map[string]any{"name": "x"})
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/locations/NOPE", nil)
	ts.mustDo(http.StatusNotFound, "DELETE", "/api/v1/locations/NOPE", nil)
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/locations/NOPE/availability", nil)
	ts.mustDo(http.StatusBadRequest, "DELETE", "/api/v1/locations/EDGE?force=maybe", nil)
	ts.mustDo(http.StatusBadRequest, "GET", "/api/v1/locations?limit=0", nil)
	ts.mustDo(http.StatusBadRequest, "GET", "/api/v1/locations?cursor=bogus!", nil)
}

func TestLocationsLifecycle(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })

	created := ts.mustDo(http.StatusCreated, "POST", "/api/v1/locations", validLocation())
	id, _ := created["id"].(string)
	if !strings.HasPrefix(id, "loc_") || created["name"] != "Depot Nord" || created["timeZone"] != "Europe/Berlin" ||
		created["operator"] != "Stadtwerke Berlin" || created["createdAt"] == nil {
		t.Fatalf("created %v", created)
	}
	if a := created["address"].(map[string]any); a["street"] != "Hauptstraße 1" || a["country"] != "DE" || a["postalCode"] != "10115" {
		t.Errorf("address %v", a)
	}
	if h := created["openingHours"].(map[string]any); len(h["regularHours"].([]any)) != 2 || h["twentyFourSeven"] != false {
		t.Errorf("openingHours %v", h)
	}

	// Stations: one connected with two EVSEs, one that never connected.
	st := ts.dial("LOC-CP1", "1.6")
	st.MustCall("BootNotification", boot16())
	st.MustCall("StatusNotification", map[string]any{"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": nowRFC3339()})
	st.MustCall("StatusNotification", map[string]any{"connectorId": 2, "errorCode": "NoError", "status": "Charging", "timestamp": nowRFC3339()})
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "LOC-CP2"})

	ts.mustDo(http.StatusBadRequest, "PATCH", "/api/v1/stations/LOC-CP1", map[string]any{"locationId": "no-such-location"})
	ts.mustDo(http.StatusBadRequest, "PATCH", "/api/v1/stations/LOC-CP1", map[string]any{"locationId": ""})
	ts.mustDo(http.StatusBadRequest, "PATCH", "/api/v1/stations/LOC-CP1", map[string]any{"locationId": 7})
	ts.mustDo(http.StatusNotFound, "PATCH", "/api/v1/stations/NOPE", map[string]any{"locationId": id})
	for _, cp := range []string{"LOC-CP1", "LOC-CP2"} {
		out := ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/"+cp, map[string]any{"locationId": id})
		if out["locationId"] != id {
			t.Errorf("PATCH %s: locationId %v", cp, out["locationId"])
		}
	}
	if got := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/LOC-CP1", nil); got["locationId"] != id {
		t.Errorf("GET station: locationId %v", got["locationId"])
	}
	for _, it := range ts.mustDo(http.StatusOK, "GET", "/api/v1/stations", nil)["items"].([]any) {
		if it.(map[string]any)["locationId"] != id {
			t.Errorf("station list: %v", it)
		}
	}

	// The location shows its stations with their EVSE statuses, and availability counts them.
	loc := ts.mustDo(http.StatusOK, "GET", "/api/v1/locations/"+id, nil)
	sts := loc["stations"].([]any)
	if len(sts) != 2 {
		t.Fatalf("location stations %v", sts)
	}
	cp1 := sts[0].(map[string]any)
	statuses := []string{}
	for _, e := range cp1["evses"].([]any) {
		for _, c := range e.(map[string]any)["connectors"].([]any) {
			statuses = append(statuses, c.(map[string]any)["status"].(string))
		}
	}
	if cp1["id"] != "LOC-CP1" || cp1["connected"] != true || fmt.Sprint(statuses) != "[Available Occupied]" || cp1["locationId"] != id {
		t.Errorf("station in location: %v", cp1)
	}
	av := ts.mustDo(http.StatusOK, "GET", "/api/v1/locations/"+id+"/availability", nil)
	if av["stations"] != 2.0 || av["connectedStations"] != 1.0 || av["evses"] != 2.0 || av["availableEvses"] != 1.0 ||
		fmt.Sprint(av["connectors"]) != "map[Available:1 Occupied:1]" || av["offlineConnectors"] != 0.0 {
		t.Errorf("availability %v", av)
	}

	// PATCH merges: a partial address, one coordinate, opening hours replaced and then removed.
	patched := ts.mustDo(http.StatusOK, "PATCH", "/api/v1/locations/"+id, map[string]any{
		"name": "Depot Süd", "address": map[string]any{"city": "Potsdam", "postalCode": "14467"},
		"coordinates": map[string]any{"latitude": 52.39}, "openingHours": map[string]any{"twentyFourSeven": true},
	})
	if a := patched["address"].(map[string]any); patched["name"] != "Depot Süd" || a["city"] != "Potsdam" || a["street"] != "Hauptstraße 1" {
		t.Errorf("patched %v", patched)
	}
	if c := patched["coordinates"].(map[string]any); c["latitude"] != 52.39 || c["longitude"] != 13.404954 {
		t.Errorf("patched coordinates %v", c)
	}
	if h := patched["openingHours"].(map[string]any); h["twentyFourSeven"] != true {
		t.Errorf("patched hours %v", h)
	}
	cleared := ts.mustDo(http.StatusOK, "PATCH", "/api/v1/locations/"+id, map[string]any{"openingHours": nil})
	if cleared["openingHours"] != nil {
		t.Errorf("openingHours after null: %v", cleared["openingHours"])
	}

	// Unassign one station with null; deleting a location with stations needs force.
	if out := ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/LOC-CP2", map[string]any{"locationId": nil}); out["locationId"] != nil {
		t.Errorf("after null: %v", out["locationId"])
	}
	status, body := ts.do("DELETE", "/api/v1/locations/"+id, nil)
	if status != http.StatusConflict || errorCode(body) != "conflict" {
		t.Errorf("DELETE with a station = %d %v; want 409", status, body)
	}
	ts.mustDo(http.StatusNoContent, "DELETE", "/api/v1/locations/"+id+"?force=true", nil)
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/locations/"+id, nil)
	if got := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/LOC-CP1", nil); got["locationId"] != nil {
		t.Errorf("station after forced delete: locationId %v", got["locationId"])
	}

	// Every change is in the audit log under the caller.
	want := map[string]bool{"CreateLocation": false, "UpdateLocation": false, "DeleteLocation": false}
	assigned := false
	for _, it := range ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?limit=500", nil)["items"].([]any) {
		e := it.(map[string]any)
		if _, ok := want[e["action"].(string)]; ok && e["actor"] == "api-token" {
			want[e["action"].(string)] = true
		}
		if e["action"] == "UpdateStation" && e["stationId"] == "LOC-CP1" && e["request"].(map[string]any)["locationId"] == id {
			assigned = true
		}
	}
	if !assigned || !want["CreateLocation"] || !want["UpdateLocation"] || !want["DeleteLocation"] {
		t.Errorf("audit: %v, assignment audited %v", want, assigned)
	}
}

func TestLocationsPaging(t *testing.T) {
	ts := startServer(t, nil)
	for i := range 5 {
		ts.mustDo(http.StatusCreated, "POST", "/api/v1/locations", with(validLocation(), "id", fmt.Sprintf("L-%d", i)))
	}
	var ids []string
	cursor := ""
	for range 5 {
		page := ts.mustDo(http.StatusOK, "GET", "/api/v1/locations?limit=2"+cursor, nil)
		for _, it := range page["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		next, ok := page["nextCursor"].(string)
		if !ok {
			break
		}
		cursor = "&cursor=" + next
	}
	if fmt.Sprint(ids) != "[L-0 L-1 L-2 L-3 L-4]" {
		t.Errorf("paged %v", ids)
	}
}

// TestLocationsEVSEAssignment puts one EVSE of a station at another location than its station
// through the REST API: the station, both locations, their availability and deletion follow it.
func TestLocationsEVSEAssignment(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	depot := ts.mustDo(http.StatusCreated, "POST", "/api/v1/locations", with(validLocation(), "id", "depot"))["id"]
	street := ts.mustDo(http.StatusCreated, "POST", "/api/v1/locations", with(with(validLocation(), "id", "street"), "name", "Kerb"))["id"]
	if depot != "depot" || street != "street" {
		t.Fatalf("ids %v %v", depot, street)
	}
	st := ts.dial("EV-CP1", "1.6")
	st.MustCall("BootNotification", boot16())
	st.MustCall("StatusNotification", map[string]any{"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": nowRFC3339()})
	st.MustCall("StatusNotification", map[string]any{"connectorId": 2, "errorCode": "NoError", "status": "Charging", "timestamp": nowRFC3339()})
	ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/EV-CP1", map[string]any{"locationId": "depot"})

	// Refusals: unknown station or EVSE (404), unknown location, a missing or empty locationId (400).
	ts.mustDo(http.StatusNotFound, "PATCH", "/api/v1/stations/NOPE/evses/1", map[string]any{"locationId": "street"})
	ts.mustDo(http.StatusNotFound, "PATCH", "/api/v1/stations/EV-CP1/evses/9", map[string]any{"locationId": "street"})
	ts.mustDo(http.StatusNotFound, "PATCH", "/api/v1/stations/EV-CP1/evses/x", map[string]any{"locationId": "street"})
	ts.mustDo(http.StatusBadRequest, "PATCH", "/api/v1/stations/EV-CP1/evses/2", map[string]any{"locationId": "nowhere"})
	ts.mustDo(http.StatusBadRequest, "PATCH", "/api/v1/stations/EV-CP1/evses/2", map[string]any{"locationId": ""})
	ts.mustDo(http.StatusBadRequest, "PATCH", "/api/v1/stations/EV-CP1/evses/2", map[string]any{})

	out := ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/EV-CP1/evses/2", map[string]any{"locationId": "street"})
	if out["id"] != float64(2) || out["locationId"] != "street" || out["ownLocation"] != true {
		t.Fatalf("PATCH EVSE 2 = %v", out)
	}
	evses := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/EV-CP1", nil)["evses"].([]any)
	if e1 := evses[0].(map[string]any); e1["locationId"] != "depot" || e1["ownLocation"] != false {
		t.Errorf("EVSE 1 = %v, want at depot with its station", e1)
	}
	if e2 := evses[1].(map[string]any); e2["locationId"] != "street" || e2["ownLocation"] != true {
		t.Errorf("EVSE 2 = %v, want at street on its own", e2)
	}
	evseIDs := func(loc string) []any {
		sts := ts.mustDo(http.StatusOK, "GET", "/api/v1/locations/"+loc, nil)["stations"].([]any)
		if len(sts) != 1 {
			t.Fatalf("location %s lists %d stations: %v", loc, len(sts), sts)
		}
		var ids []any
		for _, e := range sts[0].(map[string]any)["evses"].([]any) {
			ids = append(ids, e.(map[string]any)["id"])
		}
		return ids
	}
	if got := evseIDs("depot"); len(got) != 1 || got[0] != float64(1) {
		t.Errorf("depot lists EVSEs %v, want [1]", got)
	}
	if got := evseIDs("street"); len(got) != 1 || got[0] != float64(2) {
		t.Errorf("street lists EVSEs %v, want [2]", got)
	}
	if a := ts.mustDo(http.StatusOK, "GET", "/api/v1/locations/street/availability", nil); a["evses"] != float64(1) ||
		a["stations"] != float64(1) || a["connectors"].(map[string]any)["Occupied"] != float64(1) {
		t.Errorf("street availability = %v", a)
	}
	if a := ts.mustDo(http.StatusOK, "GET", "/api/v1/locations/depot/availability", nil); a["evses"] != float64(1) || a["availableEvses"] != float64(1) {
		t.Errorf("depot availability = %v", a)
	}
	// The audit log names the change.
	audit := ts.mustDo(http.StatusOK, "GET", "/api/v1/audit", nil)["items"].([]any)[0].(map[string]any)
	if audit["action"] != "UpdateEVSE" || audit["stationId"] != "EV-CP1" {
		t.Errorf("last audit entry = %v", audit)
	}
	// street has no station, only the EVSE: deleting it needs force, which puts the EVSE back.
	ts.mustDo(http.StatusConflict, "DELETE", "/api/v1/locations/street", nil)
	ts.mustDo(http.StatusNoContent, "DELETE", "/api/v1/locations/street?force=true", nil)
	if got := evseIDs("depot"); len(got) != 2 {
		t.Errorf("after street was deleted, depot lists EVSEs %v, want both", got)
	}
	// null puts an EVSE back where its station is.
	ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/EV-CP1/evses/1", map[string]any{"locationId": "depot"})
	if out := ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/EV-CP1/evses/1", map[string]any{"locationId": nil}); out["locationId"] != "depot" || out["ownLocation"] != false {
		t.Errorf("EVSE 1 after null = %v", out)
	}
}

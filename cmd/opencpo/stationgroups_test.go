package main

import (
	"context"
	"maps"
	"net/http"
	"testing"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/sim"
)

// TestLocalListStationGroups: simulated stations in two station groups with different token
// groups each hold exactly their group's tokens; a token that moves between token groups, and a
// station that moves between station groups, get differential updates with the removals; a
// station in no group keeps every token.
func TestLocalListStationGroups(t *testing.T) {
	ts := startServer(t, nil)
	ctx := context.Background()
	for uid, group := range map[string]string{"A1": "fleet-a", "A2": "fleet-a", "B1": "fleet-b", "N1": ""} {
		body := map[string]any{"uid": uid}
		if group != "" {
			body["groupId"] = group
		}
		ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", body)
	}
	if out := ts.mustDo(http.StatusCreated, "PUT", "/api/v1/station-groups/north",
		map[string]any{"name": "North depot", "tokenGroups": []any{"fleet-a"}}); out["name"] != "North depot" || len(out["stationIds"].([]any)) != 0 {
		t.Fatalf("created group %v", out)
	}
	ts.mustDo(http.StatusCreated, "PUT", "/api/v1/station-groups/south", map[string]any{"name": "South", "tokenGroups": []any{"fleet-x"}})
	// Replacing: 200, and the token groups are what the last PUT said.
	if out := ts.mustDo(http.StatusOK, "PUT", "/api/v1/station-groups/south",
		map[string]any{"name": "South depot", "tokenGroups": []any{"fleet-b", "fleet-b"}, "allTokens": false}); out["tokenGroups"].([]any)[0] != "fleet-b" || len(out["tokenGroups"].([]any)) != 1 {
		t.Fatalf("replaced group %v", out)
	}
	ts.mustDo(http.StatusBadRequest, "PUT", "/api/v1/station-groups/bad%20id", map[string]any{"name": "x"})
	ts.mustDo(http.StatusBadRequest, "PUT", "/api/v1/station-groups/south", map[string]any{"id": "other"})
	ts.mustDo(http.StatusBadRequest, "PUT", "/api/v1/station-groups/south", map[string]any{"tokenGroups": []any{""}})
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/station-groups/nope", nil)

	stations := map[string]*sim.Station{
		"N-16":  runModelSim(t, ts, "N-16", ocpp.V16, "", ""),
		"N-201": runModelSim(t, ts, "N-201", ocpp.V201, "", ""),
		"S-16":  runModelSim(t, ts, "S-16", ocpp.V16, "", ""),
		"U-16":  runModelSim(t, ts, "U-16", ocpp.V16, "", ""),
	}
	for id, g := range map[string]string{"N-16": "north", "N-201": "north", "S-16": "south"} {
		if out := ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/"+id, map[string]any{"groupId": g}); out["groupId"] != g {
			t.Fatalf("PATCH %s groupId: %v", id, out)
		}
	}
	ts.mustDo(http.StatusBadRequest, "PATCH", "/api/v1/stations/U-16", map[string]any{"groupId": "nope"})
	ts.mustDo(http.StatusBadRequest, "PATCH", "/api/v1/stations/U-16", map[string]any{"groupId": ""})
	ts.mustDo(http.StatusNotFound, "PATCH", "/api/v1/stations/NOPE", map[string]any{"groupId": "north"})
	if out := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/U-16", nil); out["groupId"] != nil {
		t.Fatalf("ungrouped station %v", out)
	}
	listed := map[string]any{}
	for _, it := range ts.mustDo(http.StatusOK, "GET", "/api/v1/stations", nil)["items"].([]any) {
		listed[it.(map[string]any)["id"].(string)] = it.(map[string]any)["groupId"]
	}
	if listed["N-201"] != "north" || listed["S-16"] != "south" || listed["U-16"] != nil {
		t.Fatalf("station list groups %v", listed)
	}
	if out := ts.mustDo(http.StatusOK, "GET", "/api/v1/station-groups/north", nil); len(out["stationIds"].([]any)) != 2 {
		t.Fatalf("north members %v", out)
	}
	if items := ts.mustDo(http.StatusOK, "GET", "/api/v1/station-groups?limit=1", nil); len(items["items"].([]any)) != 1 || items["nextCursor"] == "" {
		t.Fatalf("station groups page %v", items)
	}

	// wantList checks what a simulated station holds.
	wantList := func(id string, version int, want map[string]string) {
		t.Helper()
		v, entries, err := stations[id].LocalList(ctx)
		if err != nil || v != version || !maps.Equal(entries, want) {
			t.Fatalf("%s holds version %d %v (%v); want version %d %v", id, v, entries, err, version, want)
		}
	}
	syncGroup := func(group string, wantType string, wantChanges float64) {
		t.Helper()
		items := ts.mustDo(http.StatusOK, "POST", "/api/v1/local-list/sync", map[string]any{"stationGroupId": group})["items"].([]any)
		if len(items) == 0 {
			t.Fatalf("sync of %s: no stations", group)
		}
		for _, it := range items {
			m := it.(map[string]any)
			if m["status"] != "Accepted" || m["updateType"] != wantType || m["changes"] != wantChanges {
				t.Fatalf("sync of group %s, station %s: %v; want %s with %v changes", group, m["stationId"], m, wantType, wantChanges)
			}
		}
	}

	// First syncs: each group's stations get exactly their tokens; the ungrouped one all.
	syncGroup("north", "Full", 2)
	syncGroup("south", "Full", 1)
	if out := ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/U-16/local-list/sync", nil); out["updateType"] != "Full" || out["changes"] != 4.0 {
		t.Fatalf("ungrouped sync %v", out)
	}
	north := map[string]string{"A1": "Accepted", "A2": "Accepted"}
	wantList("N-16", 1, north)
	wantList("N-201", 1, north)
	wantList("S-16", 1, map[string]string{"B1": "Accepted"})
	wantList("U-16", 1, map[string]string{"A1": "Accepted", "A2": "Accepted", "B1": "Accepted", "N1": "Accepted"})

	// A2 moves from fleet-a to fleet-b: north's stations lose it, south's gain it, each by a
	// one-entry differential.
	ts.mustDo(http.StatusOK, "PATCH", "/api/v1/tokens/A2", map[string]any{"groupId": "fleet-b"})
	syncGroup("north", "Differential", 1)
	syncGroup("south", "Differential", 1)
	wantList("N-16", 2, map[string]string{"A1": "Accepted"})
	wantList("N-201", 2, map[string]string{"A1": "Accepted"})
	wantList("S-16", 2, map[string]string{"A2": "Accepted", "B1": "Accepted"})
	// The ungrouped station still has everyone: the move changed only the groupId it carries.
	if out := ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/U-16/local-list/sync", nil); out["updateType"] != "Differential" || out["changes"] != 1.0 {
		t.Fatalf("ungrouped sync after the move %v", out)
	}
	wantList("U-16", 2, map[string]string{"A1": "Accepted", "A2": "Accepted", "B1": "Accepted", "N1": "Accepted"})

	// S-16 moves to north: its next sync (per station) removes A2 and B1 and adds A1.
	ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/S-16", map[string]any{"groupId": "north"})
	if out := ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/S-16/local-list/sync", nil); out["updateType"] != "Differential" || out["changes"] != 3.0 || out["version"] != 3.0 {
		t.Fatalf("sync after station move %v", out)
	}
	wantList("S-16", 3, map[string]string{"A1": "Accepted"})
	state := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/S-16/local-list", nil)
	if entries := state["entries"].([]any); len(entries) != 1 || entries[0].(map[string]any)["idToken"] != "A1" {
		t.Fatalf("stored list of S-16 %v", state)
	}
	// A group allowing every token; then out of any group: every token again.
	ts.mustDo(http.StatusOK, "PUT", "/api/v1/station-groups/north", map[string]any{"name": "North", "allTokens": true})
	syncGroup("north", "Differential", 3)
	wantList("N-201", 3, map[string]string{"A1": "Accepted", "A2": "Accepted", "B1": "Accepted", "N1": "Accepted"})
	ts.mustDo(http.StatusOK, "PUT", "/api/v1/station-groups/north", map[string]any{"name": "North", "tokenGroups": []any{"fleet-a"}})
	syncGroup("north", "Differential", 3) // the removals of A2, B1, N1
	wantList("N-201", 4, map[string]string{"A1": "Accepted"})
	if out := ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/N-16", map[string]any{"groupId": nil}); out["groupId"] != nil {
		t.Fatalf("station taken out of its group %v", out)
	}
	if out := ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/N-16/local-list/sync", nil); out["updateType"] != "Differential" || out["changes"] != 3.0 {
		t.Fatalf("sync of an ungrouped station %v", out)
	}
	wantList("N-16", 5, map[string]string{"A1": "Accepted", "A2": "Accepted", "B1": "Accepted", "N1": "Accepted"})
	if out := ts.mustDo(http.StatusOK, "POST", "/api/v1/local-list/sync", map[string]any{"stationGroupId": "north"}); len(out["items"].([]any)) != 2 {
		t.Fatalf("north after N-16 left: %v", out)
	}

	// Bad requests.
	ts.mustDo(http.StatusNotFound, "POST", "/api/v1/local-list/sync", map[string]any{"stationGroupId": "nope"})
	ts.mustDo(http.StatusBadRequest, "POST", "/api/v1/local-list/sync", map[string]any{"stationGroupId": "north", "stationIds": []any{"N-16"}})
	ts.mustDo(http.StatusBadRequest, "POST", "/api/v1/stations/N-16/local-list/sync", map[string]any{"stationGroupId": "north"})

	// A group with stations stays; an empty one goes.
	ts.mustDo(http.StatusConflict, "DELETE", "/api/v1/station-groups/north", nil)
	ts.mustDo(http.StatusNoContent, "DELETE", "/api/v1/station-groups/south", nil)
	ts.mustDo(http.StatusNotFound, "DELETE", "/api/v1/station-groups/south", nil)

	// Every change is audited.
	counts := map[string]int{}
	for _, it := range ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?limit=500", nil)["items"].([]any) {
		counts[it.(map[string]any)["action"].(string)]++
	}
	if counts["PutStationGroup"] != 5 || counts["DeleteStationGroup"] != 1 || counts["SendLocalList"] < 12 {
		t.Fatalf("audit actions %v", counts)
	}
	grouped := 0
	for _, it := range ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?stationId=S-16&limit=500", nil)["items"].([]any) {
		m := it.(map[string]any)
		if d, ok := m["request"].(map[string]any); ok && m["action"] == "UpdateStation" && d["groupId"] == "north" {
			grouped++
		}
	}
	if grouped != 1 {
		t.Fatalf("the move of S-16 to north is not in its audit log")
	}
}

package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// nodeTests cover domain.NodeStore: which cluster node holds each station's connection.
var nodeTests = []suiteTest{
	{"ClaimAndReleaseStation", testClaimAndReleaseStation},
	{"StationMovesToAnotherNode", testStationMovesToAnotherNode},
	{"ReleaseNode", testReleaseNode},
	{"NodeStoreNotFound", testNodeStoreNotFound},
}

func stationNode(t *testing.T, s domain.Store, id string) string {
	t.Helper()
	node, err := s.StationNode(t.Context(), id)
	if err != nil {
		t.Fatalf("StationNode(%q): %v", id, err)
	}
	return node
}

func testClaimAndReleaseStation(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	if got := stationNode(t, s, "CP-1"); got != "" {
		t.Fatalf("node of a new station = %q, want none", got)
	}
	if err := s.ClaimStation(ctx, "CP-1", "node-a", domain.OCPP201, at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	st, err := s.Station(ctx, "CP-1")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Connected || st.OCPPVersion != domain.OCPP201 || !st.LastSeenAt.Equal(at(time.Minute)) {
		t.Fatalf("after claim: connected=%t version=%q lastSeen=%v", st.Connected, st.OCPPVersion, st.LastSeenAt)
	}
	if got := stationNode(t, s, "CP-1"); got != "node-a" {
		t.Fatalf("node = %q, want node-a", got)
	}
	released, err := s.ReleaseStation(ctx, "CP-1", "node-a")
	if err != nil || !released {
		t.Fatalf("ReleaseStation by its node = %t, %v; want true", released, err)
	}
	if got := stationNode(t, s, "CP-1"); got != "" {
		t.Fatalf("node after release = %q, want none", got)
	}
	st, _ = s.Station(ctx, "CP-1")
	if st.Connected || st.OCPPVersion != domain.OCPP201 {
		t.Fatalf("after release: connected=%t version=%q; want offline, version kept", st.Connected, st.OCPPVersion)
	}
	released, err = s.ReleaseStation(ctx, "CP-1", "node-a")
	if err != nil || released {
		t.Fatalf("second ReleaseStation = %t, %v; want false", released, err)
	}
}

// A station that reconnects to another node belongs to it; the old node's late release of its
// stale connection changes nothing.
func testStationMovesToAnotherNode(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	if err := s.ClaimStation(ctx, "CP-1", "node-a", domain.OCPP16, at(0)); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimStation(ctx, "CP-1", "node-b", domain.OCPP16, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	released, err := s.ReleaseStation(ctx, "CP-1", "node-a")
	if err != nil || released {
		t.Fatalf("release by the old node = %t, %v; want false", released, err)
	}
	st, _ := s.Station(ctx, "CP-1")
	if !st.Connected || stationNode(t, s, "CP-1") != "node-b" {
		t.Fatalf("station connected=%t on %q; want connected on node-b", st.Connected, stationNode(t, s, "CP-1"))
	}
	// An earlier claim time never moves last-seen backwards.
	if err := s.ClaimStation(ctx, "CP-1", "node-a", "", at(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Station(ctx, "CP-1")
	if !st.LastSeenAt.Equal(at(time.Second)) || st.OCPPVersion != domain.OCPP16 {
		t.Fatalf("lastSeen=%v version=%q; want %v and the version kept", st.LastSeenAt, st.OCPPVersion, at(time.Second))
	}
}

func testReleaseNode(t *testing.T, s domain.Store) {
	ctx := t.Context()
	for _, c := range []struct{ id, node string }{{"A-1", "node-a"}, {"A-2", "node-a"}, {"B-1", "node-b"}, {"C-1", ""}} {
		mustCreate(t, s, c.id)
		if c.node != "" {
			if err := s.ClaimStation(ctx, c.id, c.node, domain.OCPP16, at(0)); err != nil {
				t.Fatal(err)
			}
		}
	}
	nodes, err := s.ConnectedNodes(ctx)
	if err != nil || !slices.Equal(nodes, []string{"node-a", "node-b"}) {
		t.Fatalf("ConnectedNodes = %v, %v; want [node-a node-b]", nodes, err)
	}
	// A connection recorded by a single node has no node: "".
	if err := s.SetConnected(ctx, "C-1", true, domain.OCPP16, at(0)); err != nil {
		t.Fatal(err)
	}
	if nodes, err = s.ConnectedNodes(ctx); err != nil || !slices.Equal(nodes, []string{"", "node-a", "node-b"}) {
		t.Fatalf("ConnectedNodes with a single node's connection = %q, %v", nodes, err)
	}
	if ids, err := s.ReleaseNode(ctx, "", time.Time{}); err != nil || !slices.Equal(ids, []string{"C-1"}) {
		t.Fatalf(`ReleaseNode("") = %v, %v; want [C-1]`, ids, err)
	}
	// A reaper's cutoff: a station claimed (or seen) at or after it stays with its node.
	mustCreate(t, s, "A-3")
	if err := s.ClaimStation(ctx, "A-3", "node-a", domain.OCPP16, at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ids, err := s.ReleaseNode(ctx, "node-a", at(time.Hour))
	slices.Sort(ids)
	if err != nil || !slices.Equal(ids, []string{"A-1", "A-2"}) {
		t.Fatalf("ReleaseNode(node-a) = %v, %v; want [A-1 A-2]", ids, err)
	}
	for id, want := range map[string]bool{"A-1": false, "A-2": false, "A-3": true, "B-1": true} {
		st, err := s.Station(ctx, id)
		if err != nil || st.Connected != want {
			t.Errorf("%s connected = %t (%v), want %t", id, st.Connected, err, want)
		}
	}
	// Without a cutoff (a node's own restart), every station of the node.
	if ids, err := s.ReleaseNode(ctx, "node-a", time.Time{}); err != nil || !slices.Equal(ids, []string{"A-3"}) {
		t.Fatalf("ReleaseNode(node-a) without a cutoff = %v, %v; want [A-3]", ids, err)
	}
	nodes, err = s.ConnectedNodes(ctx)
	if err != nil || !slices.Equal(nodes, []string{"node-b"}) {
		t.Fatalf("ConnectedNodes after release = %v, %v; want [node-b]", nodes, err)
	}
	if ids, err := s.ReleaseNode(ctx, "node-a", time.Time{}); err != nil || len(ids) != 0 {
		t.Fatalf("second ReleaseNode = %v, %v; want nothing", ids, err)
	}
}

func testNodeStoreNotFound(t *testing.T, s domain.Store) {
	ctx := t.Context()
	if err := s.ClaimStation(ctx, "nope", "node-a", domain.OCPP16, at(0)); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("ClaimStation of an unknown station = %v, want ErrNotFound", err)
	}
	if _, err := s.ReleaseStation(ctx, "nope", "node-a"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("ReleaseStation of an unknown station = %v, want ErrNotFound", err)
	}
	if _, err := s.StationNode(ctx, "nope"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("StationNode of an unknown station = %v, want ErrNotFound", err)
	}
}

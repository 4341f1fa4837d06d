package sim

import (
	"maps"
	"strconv"
	"testing"
)

func TestLocalListUpdate(t *testing.T) {
	var l localList
	steps := []struct {
		full     bool
		version  int
		entries  map[string]string
		removals []string
		status   string
		want     map[string]string
		wantVer  int
	}{
		{false, 1, map[string]string{"A": "Accepted"}, nil, "Accepted", map[string]string{"A": "Accepted"}, 1},
		{true, 3, map[string]string{"B": "Blocked", "C": "Accepted"}, nil, "Accepted", map[string]string{"B": "Blocked", "C": "Accepted"}, 3},
		{false, 3, map[string]string{"D": "Accepted"}, nil, "VersionMismatch", map[string]string{"B": "Blocked", "C": "Accepted"}, 3},
		{false, 4, map[string]string{"B": "Accepted"}, []string{"C", "nobody"}, "Accepted", map[string]string{"B": "Accepted"}, 4},
		{true, 0, nil, nil, "Failed", map[string]string{"B": "Accepted"}, 4},
		{true, 2, nil, nil, "Accepted", map[string]string{}, 2}, // a Full list may go back in version
	}
	for i, s := range steps {
		if got := l.update(s.full, s.version, s.entries, s.removals); got != s.status {
			t.Fatalf("step %d: status %s, want %s", i, got, s.status)
		}
		if l.version != s.wantVer || !maps.Equal(l.status, s.want) {
			t.Fatalf("step %d: list %d %v, want %d %v", i, l.version, l.status, s.wantVer, s.want)
		}
	}
	big := map[string]string{}
	for i := range maxLocalList + 1 {
		big[strconv.Itoa(i)] = "Accepted"
	}
	if got := l.update(true, 5, big, nil); got != "Failed" || l.version != 2 {
		t.Fatalf("oversized list: %s, version %d", got, l.version)
	}
}

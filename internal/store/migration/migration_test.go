package migration

import (
	"testing"
	"testing/fstest"
)

func TestLoadOrdersAndChecksNumbering(t *testing.T) {
	ok := fstest.MapFS{
		"migrations/0002_b.sql": {Data: []byte("SELECT 2;")},
		"migrations/0001_a.sql": {Data: []byte("SELECT 1;")},
	}
	ms, err := Load(ok)
	if err != nil || len(ms) != 2 || ms[0].Name != "a" || ms[1].Version != 2 || ms[1].SQL != "SELECT 2;" {
		t.Fatalf("Load = %+v, %v", ms, err)
	}
	for name, files := range map[string][]string{
		"gap":       {"0001_a.sql", "0003_c.sql"},
		"duplicate": {"0001_a.sql", "0001_b.sql"},
		"no name":   {"0001.sql"},
		"short":     {"001_a.sql"},
		"zero":      {"0000_a.sql"},
	} {
		fsys := fstest.MapFS{}
		for _, f := range files {
			fsys["migrations/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
		}
		if _, err := Load(fsys); err == nil {
			t.Errorf("%s %v: accepted", name, files)
		}
	}
}

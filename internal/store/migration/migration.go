// Package migration reads a store's embedded SQL migrations and checks their numbering. Each
// store (sqlite, postgres) keeps its own dialect's files and applies them its own way; what
// they share is the naming rule and the guarantee that a numbering mistake fails at once.
// It imports only the standard library.
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered SQL script.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load reads the files migrations/NNNN_name.sql of fsys, in order of NNNN. Versions must be
// 1, 2, 3, … with no gap or duplicate, so a mistake in numbering fails every test instead of a
// production start.
func Load(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names {
		base := path.Base(name)
		num, rest, ok := strings.Cut(base, "_")
		if !ok || len(num) != 4 || !strings.HasSuffix(rest, ".sql") || rest == ".sql" {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", base)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: bad version %q", base, num)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: strings.TrimSuffix(rest, ".sql"), SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: expected version %d (versions must be 1, 2, 3, … without gaps or duplicates)", m.Version, m.Name, i+1)
		}
	}
	return ms, nil
}

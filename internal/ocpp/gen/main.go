// Command gen generates the OCPP payload packages internal/ocpp/v16 and internal/ocpp/v201 from
// the official OCA JSON schemas: one Go struct per request and response, named types for the
// objects and enumerations they contain, the schema tables the validator in
// internal/ocpp/schema runs on, and each version's action catalog. The output is committed; the
// schemas are not (they are © OCA, CC BY-ND), so it only runs when they are at hand. See
// README.md for how to run it and for the naming rules.
//
// It imports the standard library only: it reads JSON and writes Go source text.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	schemas := fs.String("schemas", "../shared/ocpp", "the OCPP reference folder (holding 1.6/schemas, 1.6/security-schemas, 2.0.1/schemas)")
	out := fs.String("out", "internal/ocpp", "the folder that holds the v16 and v201 package folders")
	only := fs.String("only", "", "generate one package only: v16 or v201")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var targets []*target
	for _, t := range targets0() {
		if *only == "" || *only == t.pkg {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return fmt.Errorf("-only %q: want v16 or v201", *only)
	}
	for _, t := range targets {
		files, err := generate(t, *schemas)
		if err != nil {
			return fmt.Errorf("%s: %w", t.pkg, err)
		}
		if err := write(filepath.Join(*out, t.pkg), files); err != nil {
			return fmt.Errorf("%s: %w", t.pkg, err)
		}
	}
	return nil
}

// write puts the generated files into dir and removes generated files that are no longer
// produced, so that a renamed output does not leave a stale copy behind. Files are only
// rewritten when they change, which keeps timestamps (and build caches) still.
func write(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*_gen.go"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if _, keep := files[filepath.Base(f)]; !keep {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, name)
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, files[name]) {
			continue
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// generateAll builds every package's files in memory: package name ("v16") → file name → source.
// The regeneration test compares this with the committed files.
func generateAll(schemasDir string) (map[string]map[string][]byte, error) {
	all := map[string]map[string][]byte{}
	for _, t := range targets0() {
		files, err := generate(t, schemasDir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.pkg, err)
		}
		all[t.pkg] = files
	}
	return all, nil
}

// capitalize upper-cases the first letter, the only renaming the generator does, so that Go
// names can be predicted from the schemas: idTag → IdTag, evseId → EvseId.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

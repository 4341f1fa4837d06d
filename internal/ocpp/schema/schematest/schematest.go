// Package schematest proves generated OCPP schema tables against the official OCA JSON schemas.
// It finds the reference folder (../shared/ocpp), builds payloads from each official schema
// (valid ones, and many single-fault mutations of them), and asserts that
// schema.Schema.Validate reaches the same verdict as a general JSON Schema validator
// (github.com/santhosh-tekuri/jsonschema/v6) compiling the official file, that its error kind
// matches the fault, and that every valid payload survives a trip through the generated Go
// type. It is imported by tests only.
//
// It imports the standard library, internal/ocpp/schema and the jsonschema library.
package schematest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/opencpo/opencpo/internal/ocpp/schema"
)

// Dir returns the OCPP reference folder (the one holding 1.6/ and 2.0.1/): $OPENCPO_OCPP_DIR
// if set, else shared/ocpp found by walking up from the working directory to the parent of the
// repository root. Without it the test is skipped, unless CI=true, where it fails: CI must
// never pass by skipping the proof.
func Dir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("OPENCPO_OCPP_DIR"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "2.0.1")); err != nil {
			t.Fatalf("OPENCPO_OCPP_DIR=%s is not the OCPP reference folder: %v", dir, err)
		}
		return dir
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rootSeen := false
	for dir := wd; ; dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, "shared", "ocpp")
		if fi, err := os.Stat(filepath.Join(cand, "2.0.1")); err == nil && fi.IsDir() {
			return cand
		}
		if rootSeen || filepath.Dir(dir) == dir {
			break
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rootSeen = true // look in the repository root's parent, then stop
		}
	}
	msg := "OCPP reference schemas not found: put them at ../shared/ocpp (next to the repository) or set OPENCPO_OCPP_DIR"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// File is one official schema file and the payload it describes.
type File struct {
	Path    string
	Action  string
	Request bool
}

// Files lists the *.json files of dir (relative to the reference folder), naming each file's
// action with name: it returns the action and whether the file is a request, or ok false.
func Files(t testing.TB, refDir, dir string, name func(base string) (action string, request, ok bool)) []File {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(refDir, filepath.FromSlash(dir), "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no schemas in %s", filepath.Join(refDir, dir))
	}
	sort.Strings(paths)
	var files []File
	for _, p := range paths {
		action, req, ok := name(strings.TrimSuffix(filepath.Base(p), ".json"))
		if !ok {
			t.Fatalf("%s: cannot tell the action from the file name", p)
		}
		files = append(files, File{Path: p, Action: action, Request: req})
	}
	return files
}

// Stats counts what Check looked at.
type Stats struct {
	Schemas    int
	Samples    int // payloads judged by both validators
	Valid      int // of which the official schema accepts
	Invalid    int // of which the official schema rejects
	RoundTrips int // valid payloads decoded into the Go type, re-encoded and re-validated
}

func (s Stats) String() string {
	return fmt.Sprintf("%d schemas, %d samples (%d valid, %d invalid), %d decode/encode round trips",
		s.Schemas, s.Samples, s.Valid, s.Invalid, s.RoundTrips)
}

// Check runs the conformance check of every file against the catalog's tables.
func Check(t *testing.T, cat *schema.Catalog, files []File) Stats {
	t.Helper()
	var st Stats
	seen := map[string]int{}
	for _, f := range files {
		a, ok := cat.Lookup(f.Action)
		if !ok {
			t.Errorf("%s: action %s is not in the %s catalog", filepath.Base(f.Path), f.Action, cat.Version())
			continue
		}
		seen[f.Action]++
		t.Run(filepath.Base(f.Path), func(t *testing.T) {
			checkFile(t, a, f, &st)
		})
	}
	for _, a := range cat.Actions() {
		if seen[a.Name] != 2 {
			t.Errorf("catalog action %s has %d schema files, want 2", a.Name, seen[a.Name])
		}
	}
	return st
}

// sample is one payload to judge.
type sample struct {
	desc string
	data []byte
	// kind is the error kind the fault must produce when the payload is invalid; 0 if the
	// sample is not a single known fault.
	kind schema.Kind
	// mustFail / mustPass: what the official draft says of the fault, asserted of the
	// reference validator too (so that, e.g., format assertions are known to be on).
	mustFail, mustPass bool
	// noDecode marks valid payloads the Go types cannot hold (1.0 for an int, a leap second
	// for time.Time): the verdict is compared, the round trip skipped.
	noDecode bool
}

func checkFile(t *testing.T, a *schema.Action, f File, st *Stats) {
	data, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	url := "file:///ocpp/" + filepath.Base(filepath.Dir(f.Path)) + "/" + filepath.Base(f.Path)
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	official, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compiling the official schema: %v", err)
	}
	ours, newValue := a.Response, a.NewResponse
	if f.Request {
		ours, newValue = a.Request, a.NewRequest
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	// The reference validator must judge by the draft the file declares (1.6 core: draft-04
	// with "id"; 1.6 security and 2.0.1: draft-06 with "$id"), format assertions included.
	wantDraft := map[string]int{
		"http://json-schema.org/draft-04/schema#": 4,
		"http://json-schema.org/draft-06/schema#": 6,
	}[fmt.Sprint(raw["$schema"])]
	if wantDraft == 0 || official.DraftVersion != wantDraft {
		t.Fatalf("$schema %v compiled as draft %d", raw["$schema"], official.DraftVersion)
	}
	b := &builder{root: raw}
	samples := b.samples(t)

	officialVerdict := func(p []byte) error {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(p))
		if err != nil {
			return err
		}
		return official.Validate(inst)
	}
	st.Schemas++
	for _, s := range samples {
		st.Samples++
		want := officialVerdict(s.data)
		got := ours.Validate(s.data)
		if want == nil {
			st.Valid++
		} else {
			st.Invalid++
		}
		switch {
		case (want == nil) != (got == nil):
			t.Errorf("%s: verdicts differ: official %v, ours %v\npayload: %s", s.desc, short(want), got, clip(s.data))
			continue
		case s.mustFail && want == nil:
			t.Errorf("%s: the official schema accepts it, but the draft rejects it\npayload: %s", s.desc, clip(s.data))
		case s.mustPass && want != nil:
			t.Errorf("%s: the official schema rejects it: %v\npayload: %s", s.desc, short(want), clip(s.data))
		}
		if got != nil {
			var ve *schema.ValidationError
			if !errors.As(got, &ve) {
				t.Errorf("%s: error %T, want *schema.ValidationError", s.desc, got)
			} else if s.kind != 0 && ve.Kind != s.kind {
				t.Errorf("%s: error kind %v (%v), want %v", s.desc, ve.Kind, ve, s.kind)
			}
			continue
		}
		if s.noDecode {
			continue
		}
		// The valid payload must decode into the generated type and come out valid again.
		v := newValue()
		if err := json.Unmarshal(s.data, v); err != nil {
			t.Errorf("%s: decoding into %T: %v\npayload: %s", s.desc, v, err, clip(s.data))
			continue
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Errorf("%s: encoding %T: %v", s.desc, v, err)
			continue
		}
		if err := officialVerdict(out); err != nil {
			t.Errorf("%s: re-encoded %T is invalid: %v\nin:  %s\nout: %s", s.desc, v, short(err), clip(s.data), clip(out))
			continue
		}
		if err := ours.Validate(out); err != nil {
			t.Errorf("%s: re-encoded %T fails our validator: %v", s.desc, v, err)
			continue
		}
		st.RoundTrips++
	}
}

func short(err error) string {
	if err == nil {
		return "valid"
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strings.ReplaceAll(s, "\n", " | ")
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// builder makes payloads from one official schema.
type builder struct {
	root map[string]any
}

// deref follows $ref into the root's definitions.
func (b *builder) deref(s map[string]any) map[string]any {
	for range 10 {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		name := strings.TrimPrefix(ref, "#/definitions/")
		defs, _ := b.root["definitions"].(map[string]any)
		s, _ = defs[name].(map[string]any)
		if s == nil {
			panic("schematest: unresolvable $ref " + ref)
		}
	}
	panic("schematest: $ref chain too long")
}

func typeOf(s map[string]any) string { t, _ := s["type"].(string); return t }

func props(s map[string]any) (names []string, schemas map[string]map[string]any) {
	schemas = map[string]map[string]any{}
	p, _ := s["properties"].(map[string]any)
	for name, ps := range p {
		names = append(names, name)
		schemas[name] = ps.(map[string]any)
	}
	sort.Strings(names)
	return names, schemas
}

func required(s map[string]any) map[string]bool {
	r := map[string]bool{}
	list, _ := s["required"].([]any)
	for _, x := range list {
		r[x.(string)] = true
	}
	return r
}

func intKw(s map[string]any, k string) (int, bool) {
	v, ok := s[k].(float64)
	return int(v), ok
}

// numKw returns a number keyword as an exact rational (the raw JSON was decoded into float64,
// which is exact for the OCPP bounds; multipleOf 0.1 is re-read as a decimal).
func numKw(s map[string]any, k string) (*big.Rat, bool) {
	v, ok := s[k].(float64)
	if !ok {
		return nil, false
	}
	r, _ := new(big.Rat).SetString(fmt.Sprint(v))
	return r, true
}

// numLit renders r as a JSON number: an integer literal when it is one.
func numLit(r *big.Rat) json.Number {
	if r.IsInt() {
		return json.Number(r.Num().String())
	}
	s := strings.TrimRight(r.FloatString(20), "0")
	return json.Number(s)
}

// text returns a string of exactly n code points, mixing 1-, 2-, 3- and 4-byte UTF-8
// sequences, so that a validator counting bytes instead of characters is caught.
func text(n, variant int) string {
	runes := []rune{'a', 'é', '€', '𝄞', 'Z', '0'}
	var b strings.Builder
	for i := range n {
		b.WriteRune(runes[(i+variant)%len(runes)])
	}
	return b.String()
}

// value builds a valid value for s. full puts in every property (else only required ones);
// variant cycles enumeration values, bounds and formats.
func (b *builder) value(s map[string]any, full bool, variant int) any {
	s = b.deref(s)
	switch typeOf(s) {
	case "object":
		m := map[string]any{}
		names, ps := props(s)
		req := required(s)
		for i, name := range names {
			if full || req[name] {
				m[name] = b.value(ps[name], full, variant+i)
			}
		}
		return m
	case "array":
		n, _ := intKw(s, "minItems")
		if full && n == 0 {
			n = 1
		}
		items, _ := s["items"].(map[string]any)
		arr := make([]any, n)
		for i := range arr {
			arr[i] = b.value(items, full, variant+i)
		}
		return arr
	case "string":
		if enum, ok := s["enum"].([]any); ok {
			return enum[variant%len(enum)]
		}
		switch s["format"] {
		case "date-time":
			valid := []string{"2024-01-31T13:45:00Z", "2024-02-29T23:59:59.123456+05:30", "1999-12-31T00:00:00-08:00", "2030-07-04T04:05:06.7Z"}
			return valid[variant%len(valid)]
		case "uri":
			valid := []string{"https://example.com/diagnostics/upload", "ftp://user:secret@ftp.example.com:2121/logs/", "http://[2001:db8::1]:8080/fw.bin"}
			return valid[variant%len(valid)]
		}
		if max, ok := intKw(s, "maxLength"); ok {
			if full {
				return text(max, variant)
			}
			return text(min(max, 3), variant)
		}
		return fmt.Sprintf("v%d-%s", variant, text(5, variant))
	case "integer", "number":
		lo, hasLo := numKw(s, "minimum")
		hi, hasHi := numKw(s, "maximum")
		switch {
		case full && variant%2 == 0 && hasLo:
			return numLit(lo)
		case full && variant%2 == 1 && hasHi:
			return numLit(hi)
		case hasLo:
			return numLit(new(big.Rat).Add(lo, big.NewRat(1, 1)))
		}
		if typeOf(s) == "integer" {
			if full && variant%3 == 2 {
				return json.Number("-2147483648")
			}
			return json.Number(fmt.Sprint(variant + 1))
		}
		if m, ok := numKw(s, "multipleOf"); ok {
			return numLit(new(big.Rat).Mul(m, big.NewRat(int64(123+variant), 1)))
		}
		return []json.Number{"1.5", "-273.15", "0", "6.02e23"}[variant%4]
	case "boolean":
		return variant%2 == 0
	case "":
		return []any{"text", map[string]any{"k": []any{json.Number("1"), nil}}, json.Number("3.5"), nil}[variant%4]
	}
	panic("schematest: unexpected type " + typeOf(s))
}

// enumSpan is the length of the longest enumeration in s: that many full samples cycle every
// value of every enumeration through.
func (b *builder) enumSpan(s map[string]any, seen map[string]bool) int {
	if ref, ok := s["$ref"].(string); ok {
		if seen[ref] {
			return 1
		}
		seen[ref] = true
	}
	s = b.deref(s)
	n := 1
	if e, ok := s["enum"].([]any); ok {
		n = len(e)
	}
	_, ps := props(s)
	for _, p := range ps {
		n = max(n, b.enumSpan(p, seen))
	}
	if items, ok := s["items"].(map[string]any); ok {
		n = max(n, b.enumSpan(items, seen))
	}
	return n
}

// loc is a value inside a sample: its path and its schema.
type loc struct {
	path []any // string keys and int indexes
	s    map[string]any
}

func pathString(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		}
	}
	if b.Len() == 0 {
		return "(payload)"
	}
	return b.String()
}

// locs lists every value of v (only the first element of arrays).
func (b *builder) locs(v any, s map[string]any, path []any, out *[]loc) {
	s = b.deref(s)
	*out = append(*out, loc{path: append([]any(nil), path...), s: s})
	switch v := v.(type) {
	case map[string]any:
		_, ps := props(s)
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps[k] != nil {
				b.locs(v[k], ps[k], append(path, k), out)
			}
		}
	case []any:
		if len(v) > 0 {
			items, _ := s["items"].(map[string]any)
			b.locs(v[0], items, append(path, 0), out)
		}
	}
}

func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = clone(x)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = clone(x)
		}
		return a
	}
	return v
}

// with returns a copy of tree where the value at path is replaced by f(old).
func with(tree any, path []any, f func(old any) any) any {
	if len(path) == 0 {
		return f(clone(tree))
	}
	switch t := clone(tree).(type) {
	case map[string]any:
		k := path[0].(string)
		t[k] = with(t[k], path[1:], f)
		return t
	case []any:
		i := path[0].(int)
		t[i] = with(t[i], path[1:], f)
		return t
	}
	panic("schematest: bad path")
}

// dupObject encodes an object with extra members before and after the sorted ones, for
// duplicate-key samples (encoding/json keeps the last).
type dupObject struct {
	m           map[string]any
	first, last [][2]any
}

func (d dupObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	add := func(k string, v any) error {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
		return nil
	}
	for _, kv := range d.first {
		if err := add(kv[0].(string), kv[1]); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(d.m))
	for k := range d.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := add(k, d.m[k]); err != nil {
			return nil, err
		}
	}
	for _, kv := range d.last {
		if err := add(kv[0].(string), kv[1]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func contains(list []any, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// wrongValue is a value of a JSON type that s does not accept.
func wrongValues(s map[string]any) []any {
	all := map[string]any{
		"string":  "wrong",
		"number":  json.Number("42"),
		"boolean": true,
		"null":    nil,
		"object":  map[string]any{},
		"array":   []any{},
	}
	accepts := map[string][]string{
		"object": {"object"}, "array": {"array"}, "string": {"string"},
		"integer": {"number"}, "number": {"number"}, "boolean": {"boolean"},
		"": {"string", "number", "boolean", "null", "object", "array"},
	}[typeOf(s)]
	var out []any
	for _, k := range []string{"string", "number", "boolean", "null", "object", "array"} {
		ok := false
		for _, a := range accepts {
			ok = ok || a == k
		}
		if !ok {
			out = append(out, all[k])
		}
	}
	return out
}

// samples builds the valid samples and the mutations of one schema.
func (b *builder) samples(t *testing.T) []sample {
	var out []sample
	add := func(desc string, v any, s sample) {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", desc, err)
		}
		s.desc, s.data = desc, data
		out = append(out, s)
	}
	addRaw := func(desc string, data []byte, s sample) {
		s.desc, s.data = desc, data
		out = append(out, s)
	}

	minimal := b.value(b.root, false, 0)
	add("minimal", minimal, sample{mustPass: true})
	span := b.enumSpan(b.root, map[string]bool{})
	for v := range max(span, 4) {
		add(fmt.Sprintf("full variant %d", v), b.value(b.root, true, v), sample{mustPass: true})
	}
	full := b.value(b.root, true, 0)

	// Faults at every value of the full sample; missing properties also in the minimal one.
	var locs []loc
	b.locs(full, b.root, nil, &locs)
	var minLocs []loc
	b.locs(minimal, b.root, nil, &minLocs)
	for _, l := range minLocs {
		if typeOf(l.s) != "object" {
			continue
		}
		names, _ := props(l.s)
		req := required(l.s)
		for _, name := range names {
			if req[name] {
				v := with(minimal, l.path, func(old any) any {
					m := old.(map[string]any)
					delete(m, name)
					return m
				})
				add(fmt.Sprintf("minimal without required %s", pathString(append(l.path, name))), v, sample{kind: schema.KindRequired, mustFail: true})
			}
		}
	}
	for _, l := range locs {
		at := pathString(l.path)
		set := func(desc string, nv any, s sample) {
			add(at+": "+desc, with(full, l.path, func(any) any { return nv }), s)
		}
		cur := func() any {
			var v any
			with(full, l.path, func(old any) any { v = old; return old })
			return v
		}()

		for _, w := range wrongValues(l.s) {
			set(fmt.Sprintf("wrong type %T %v", w, w), w, sample{kind: schema.KindType, mustFail: true})
		}

		switch typeOf(l.s) {
		case "object":
			names, _ := props(l.s)
			req := required(l.s)
			m := cur.(map[string]any)
			for _, name := range names {
				if req[name] {
					set("without required "+name, func() any {
						c := clone(m).(map[string]any)
						delete(c, name)
						return c
					}(), sample{kind: schema.KindRequired, mustFail: true})
				}
			}
			extra := clone(m).(map[string]any)
			extra["zzUnknownProperty"] = json.Number("1")
			if ap, ok := l.s["additionalProperties"].(bool); ok && !ap {
				set("unknown property", extra, sample{kind: schema.KindAdditional, mustFail: true})
			} else {
				set("unknown property (allowed here)", extra, sample{mustPass: true})
				deep := clone(m).(map[string]any)
				deep["zzNested"] = map[string]any{"a": []any{map[string]any{"b": raw(`[1,{"c":null}]`)}}}
				set("unknown nested property (allowed here)", deep, sample{mustPass: true})
			}
			// Duplicate keys: a decoder keeps the last, so only the last may decide.
			for _, name := range names {
				if _, ok := m[name]; !ok {
					continue
				}
				_, ps := props(l.s)
				wrong := wrongValues(b.deref(ps[name]))
				if len(wrong) == 0 {
					continue
				}
				bad := wrong[0]
				rest := clone(m).(map[string]any)
				delete(rest, name)
				// encoding/json keeps the last value too, but still reports the type error of the
				// first when decoding into a struct, so this one cannot make the round trip.
				set("duplicate "+name+", bad one first", dupObject{m: rest, first: [][2]any{{name, bad}}, last: [][2]any{{name, m[name]}}}, sample{mustPass: true, noDecode: true})
				set("duplicate "+name+", bad one last", dupObject{m: rest, first: [][2]any{{name, m[name]}}, last: [][2]any{{name, bad}}}, sample{kind: schema.KindType, mustFail: true})
			}

		case "array":
			items, _ := l.s["items"].(map[string]any)
			arr := cur.([]any)
			if len(arr) == 0 {
				arr = []any{b.value(items, true, 0)}
			}
			times := func(n int) []any {
				out := make([]any, n)
				for i := range out {
					out[i] = clone(arr[i%len(arr)])
				}
				return out
			}
			if mi, ok := intKw(l.s, "minItems"); ok && mi > 0 {
				set(fmt.Sprintf("%d items, minItems %d", mi-1, mi), times(mi-1), sample{kind: schema.KindItems, mustFail: true})
				set(fmt.Sprintf("%d items, minItems %d", mi, mi), times(mi), sample{mustPass: true})
			}
			if ma, ok := intKw(l.s, "maxItems"); ok {
				set(fmt.Sprintf("%d items, maxItems %d", ma, ma), times(ma), sample{mustPass: true})
				set(fmt.Sprintf("%d items, maxItems %d", ma+1, ma), times(ma+1), sample{kind: schema.KindItems, mustFail: true})
			} else {
				set("3 items", times(3), sample{mustPass: true})
			}

		case "string":
			if enum, ok := l.s["enum"].([]any); ok {
				set("value not in the enumeration", "NotAnAllowedValue", sample{kind: schema.KindEnum, mustFail: true})
				first := enum[0].(string)
				if lower := strings.ToLower(first); lower != first && !contains(enum, lower) {
					set("enumeration value in lower case", lower, sample{kind: schema.KindEnum, mustFail: true})
				}
				set("enumeration value with a trailing space", first+" ", sample{kind: schema.KindEnum, mustFail: true})
				set("enumeration value written with a \\u escape", raw(fmt.Sprintf(`"\u%04x%s"`, first[0], first[1:])), sample{mustPass: true})
				break
			}
			switch l.s["format"] {
			case "date-time":
				for _, bad := range []string{"2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "2023-02-29T12:00:00Z",
					"2024-01-01T00:00:00", "2024-01-01 00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z",
					"2024-01-01T00:00:00+2:00", "2024-01-01T00:00:00+02:60", "2024-01-01T00:00:00.Z", "2024-1-01T00:00:00Z",
					"2024-01-01T12:00:60Z", "2024-01-01T-1:00:00Z", "", "now", "1706708700", "2024-01-31"} {
					set(fmt.Sprintf("bad date-time %q", bad), bad, sample{kind: schema.KindFormat, mustFail: true})
				}
				// What RFC 3339 (and the reference validator) accept but time.Time does not.
				for _, odd := range []string{"2024-01-01t00:00:00z", "2016-12-31T23:59:60Z", "2017-01-01T00:59:60+01:00",
					"2024-01-01T+1:00:00Z", "2024-01-01T-0:00:00Z"} {
					set(fmt.Sprintf("unusual date-time %q", odd), odd, sample{noDecode: true})
				}
				set("date-time with nanoseconds and more", "2024-01-01T00:00:00.123456789123Z", sample{mustPass: true})
				set("date-time with the largest offset", "2024-01-01T00:00:00-23:59", sample{mustPass: true})
			case "uri":
				for _, bad := range []string{"no scheme here", "/relative/path", "//host/path", "http://[fe80::1%25en0]/", "http://fe80::1/", "%zz", ""} {
					set(fmt.Sprintf("bad uri %q", bad), bad, sample{kind: schema.KindFormat, mustFail: true})
				}
				for _, good := range []string{"urn:ocpp:diag", "http://[::1]:8080/x", "mailto:ops@example.com"} {
					set(fmt.Sprintf("uri %q", good), good, sample{mustPass: true})
				}
			}
			if ma, ok := intKw(l.s, "maxLength"); ok {
				set(fmt.Sprintf("%d characters, maxLength %d", ma+1, ma), text(ma+1, 1), sample{kind: schema.KindLength, mustFail: true})
				// The same lengths written with escapes: a surrogate pair is one character.
				esc := `\ud834\udd1e\u00e9\n` + strings.Repeat("a", max(ma-3, 0))
				if ma >= 3 {
					set(fmt.Sprintf("%d escaped characters, maxLength %d", ma, ma), raw(`"`+esc+`"`), sample{mustPass: true})
					set(fmt.Sprintf("%d escaped characters, maxLength %d", ma+1, ma), raw(`"`+esc+`b"`), sample{kind: schema.KindLength, mustFail: true})
				}
				// Invalid UTF-8 decodes to one U+FFFD per byte, a character each.
				set(fmt.Sprintf("%d characters with invalid UTF-8, maxLength %d", ma, ma), raw(`"`+strings.Repeat("a", ma-1)+"\xff"+`"`), sample{mustPass: true})
				set(fmt.Sprintf("%d characters with invalid UTF-8, maxLength %d", ma+1, ma), raw(`"`+strings.Repeat("a", ma-1)+"\xff\xfe"+`"`), sample{kind: schema.KindLength, mustFail: true})
			}

		case "integer", "number":
			isInt := typeOf(l.s) == "integer"
			if isInt {
				set("integer given as 1.5", json.Number("1.5"), sample{kind: schema.KindType, mustFail: true})
				set("integer given as -0.000001", json.Number("-0.000001"), sample{kind: schema.KindType, mustFail: true})
				set("integer given as 1e-1000", json.Number("1e-1000"), sample{kind: schema.KindType, mustFail: true})
				for _, odd := range []string{"7.0", "7.000", "7e0", "70e-1", "1.5e1", "-0"} {
					set("integer written as "+odd, json.Number(odd), sample{noDecode: true})
				}
			}
			lo, hasLo := numKw(l.s, "minimum")
			hi, hasHi := numKw(l.s, "maximum")
			if hasLo {
				below := new(big.Rat).Sub(lo, big.NewRat(1, 1))
				set("below minimum", numLit(below), sample{kind: schema.KindBounds, mustFail: true})
				set("at minimum", numLit(lo), sample{mustPass: true})
				set("minimum written as a decimal", json.Number(numLit(lo).String()+".0"), sample{noDecode: true})
				set("just below minimum", json.Number("-0.00000000000000000001"), sample{mustFail: true})
			}
			if hasHi {
				above := new(big.Rat).Add(hi, big.NewRat(1, 1))
				set("above maximum", numLit(above), sample{kind: schema.KindBounds, mustFail: true})
				set("at maximum", numLit(hi), sample{mustPass: true})
				set("maximum with an exponent", json.Number(numLit(new(big.Rat).Quo(hi, big.NewRat(10, 1))).String()+"e1"), sample{noDecode: true})
				set("just above maximum", json.Number(numLit(hi).String()+".00000000000000000001"), sample{mustFail: true})
			}
			if m, ok := numKw(l.s, "multipleOf"); ok {
				bad := new(big.Rat).Mul(m, big.NewRat(3, 2))
				set("not a multipleOf", numLit(bad), sample{kind: schema.KindBounds, mustFail: true})
				set("multipleOf with trailing zeros", json.Number(numLit(new(big.Rat).Mul(m, big.NewRat(7, 1))).String()+"000"), sample{mustPass: true})
				set("multipleOf with an exponent", json.Number(numLit(new(big.Rat).Mul(m, big.NewRat(1230, 1))).String()+"e-1"), sample{mustPass: true})
				set("multipleOf, negative", numLit(new(big.Rat).Mul(m, big.NewRat(-3, 1))), sample{mustPass: true})
				set("multipleOf, huge", json.Number("1E400"), sample{noDecode: true})
				set("not a multipleOf, tiny", json.Number("1e-400"), sample{kind: schema.KindBounds, mustFail: true})
			}
			if !isInt {
				set("number with exponent", json.Number("-1.25E-2"), sample{})
			}
		}
	}

	// Whole-payload faults.
	fullJSON, _ := json.Marshal(full)
	for _, bad := range []struct{ desc, data string }{
		{"empty", ""},
		{"whitespace only", " \n\t "},
		{"truncated", string(fullJSON[:len(fullJSON)/2])},
		{"missing closing brace", string(fullJSON[:len(fullJSON)-1])},
		{"trailing comma", string(fullJSON[:len(fullJSON)-1]) + ",}"},
		{"trailing data", string(fullJSON) + " x"},
		{"second value", string(fullJSON) + " {}"},
		{"byte order mark", "\xef\xbb\xbf" + string(fullJSON)},
		{"single quotes", "{'a':1}"},
		{"unquoted key", "{a:1}"},
		{"literal typo", `{"a":nul}`},
		{"leading zero", `{"a":01}`},
		{"bare minus", `{"a":-}`},
		{"control character in string", "{\"a\":\"x\x01\"}"},
		{"bad escape", `{"a":"\x"}`},
		{"short unicode escape", `{"a":"\u12"}`},
	} {
		addRaw("not JSON: "+bad.desc, []byte(bad.data), sample{kind: schema.KindSyntax, mustFail: true})
	}
	for _, wrong := range []string{"null", "[]", `"text"`, "42", "true", "[" + string(fullJSON) + "]"} {
		addRaw("payload is "+wrong[:min(len(wrong), 10)], []byte(wrong), sample{kind: schema.KindType, mustFail: true})
	}
	addRaw("surrounded by whitespace", []byte(" \r\n\t"+string(fullJSON)+"\n "), sample{mustPass: true})
	return out
}

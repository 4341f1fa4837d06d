package main

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// gen holds the state of generating one package.
type gen struct {
	t *target
	// defs are the named definitions of all files (2.0.1 and the 1.6 security schemas repeat
	// them per file; every copy must be the same).
	defs     map[string]*sch
	defWhere map[string]string
	roots    []*root
	// types are the named Go types by name; nameOf maps an inline schema node to its type.
	types  map[string]*named
	nameOf map[*sch]string
	// idents are the package's exported identifiers, to catch any collision.
	idents map[string]string
	// reserved are the request/response type names, claimed before anything else is named.
	reserved map[string]bool
}

type root struct {
	action   string
	request  bool
	typeName string
	file     string // "BootNotification.json"
	s        *sch
}

type named struct {
	name   string
	enum   bool
	s      *sch
	canon  string
	where  string
	fields []field // structs
	consts []string
}

type field struct {
	name, typ, tag string
}

func generate(t *target, schemasDir string) (map[string][]byte, error) {
	g := &gen{
		t:        t,
		defs:     map[string]*sch{},
		defWhere: map[string]string{},
		types:    map[string]*named{},
		nameOf:   map[*sch]string{},
		idents:   map[string]string{"Catalog": "the Catalog function"},
		reserved: map[string]bool{},
	}
	if err := g.load(schemasDir); err != nil {
		return nil, err
	}
	if err := g.checkDirections(); err != nil {
		return nil, err
	}
	for _, r := range g.roots {
		if err := g.claim(r.typeName, r.file); err != nil {
			return nil, err
		}
		g.reserved[r.typeName] = true
	}
	for _, r := range g.roots {
		if _, err := g.object(r.s, true, r.typeName); err != nil {
			return nil, err
		}
	}
	return g.emit()
}

// load reads every schema file of the target's folders.
func (g *gen) load(schemasDir string) error {
	seen := map[string]string{}
	for _, dir := range g.t.dirs {
		files, err := filepath.Glob(filepath.Join(schemasDir, filepath.FromSlash(dir), "*.json"))
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return fmt.Errorf("no schema files in %s", filepath.Join(schemasDir, dir))
		}
		sort.Strings(files)
		for _, path := range files {
			file := filepath.Base(path)
			if prev, dup := seen[file]; dup {
				return fmt.Errorf("%s is in both %s and %s", file, prev, dir)
			}
			seen[file] = dir
			if err := g.loadFile(path, file); err != nil {
				return err
			}
		}
	}
	sort.Slice(g.roots, func(i, j int) bool {
		a, b := g.roots[i], g.roots[j]
		if a.action != b.action {
			return a.action < b.action
		}
		return a.request && !b.request
	})
	return nil
}

func (g *gen) loadFile(path, file string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	n, err := parseJSON(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if n.kind != 'o' {
		return fmt.Errorf("%s: not a JSON object", file)
	}
	base := strings.TrimSuffix(file, ".json")
	r := &root{file: file}
	if a := g.t.responseFile(base); a != "" {
		r.action, r.typeName = a, a+"Response"
	} else if a := g.t.requestFile(base); a != "" {
		r.action, r.typeName, r.request = a, a+"Request", true
	} else {
		return fmt.Errorf("%s: cannot tell the action from the file name", file)
	}
	if !isIdent(r.action) {
		return fmt.Errorf("%s: action %q is not a Go identifier", file, r.action)
	}

	// Definitions: only at the root, shared by name across the files of a version.
	body := &node{kind: 'o'}
	for i, k := range n.keys {
		if k != "definitions" {
			body.keys = append(body.keys, k)
			body.vals = append(body.vals, n.vals[i])
			continue
		}
		defs := n.vals[i]
		if defs.kind != 'o' {
			return fmt.Errorf("%s: definitions is not an object", file)
		}
		for j, name := range defs.keys {
			where := file + "#/definitions/" + name
			if !isIdent(name) {
				return fmt.Errorf("%s: definition name is not a Go identifier", where)
			}
			d, err := toSchema(defs.vals[j], where)
			if err != nil {
				return err
			}
			if prev, ok := g.defs[name]; ok {
				if canon(prev) != canon(d) {
					return fmt.Errorf("%s differs from %s", where, g.defWhere[name])
				}
				continue
			}
			g.defs[name], g.defWhere[name] = d, where
		}
	}
	r.s, err = toSchema(body, file+"#")
	if err != nil {
		return err
	}
	if r.s.typ != "object" {
		return fmt.Errorf("%s: the payload schema is not an object", file)
	}
	g.roots = append(g.roots, r)
	return nil
}

// checkDirections fails unless every action has a request, a response and a direction, and
// every direction belongs to an action.
func (g *gen) checkDirections() error {
	files := map[string][2]string{}
	for _, r := range g.roots {
		f := files[r.action]
		i := 1
		if r.request {
			i = 0
		}
		if f[i] != "" {
			return fmt.Errorf("action %s has two %s schemas: %s and %s", r.action, kind(r.request), f[i], r.file)
		}
		f[i] = r.file
		files[r.action] = f
	}
	var problems []string
	for _, a := range sortedKeys(files) {
		f := files[a]
		if f[0] == "" || f[1] == "" {
			problems = append(problems, fmt.Sprintf("action %s lacks a request or response schema (have %q)", a, f))
		}
		if _, ok := g.t.directions[a]; !ok {
			problems = append(problems, fmt.Sprintf("action %s (%s) has no direction entry in the generator", a, f[0]+f[1]))
		}
	}
	for _, a := range sortedKeys(g.t.directions) {
		if _, ok := files[a]; !ok {
			problems = append(problems, fmt.Sprintf("direction entry %s has no schema files", a))
		}
	}
	if problems != nil {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

func kind(request bool) string {
	if request {
		return "request"
	}
	return "response"
}

func (g *gen) claim(ident, what string) error {
	if prev, ok := g.idents[ident]; ok {
		return fmt.Errorf("the name %s is wanted by %s and by %s", ident, prev, what)
	}
	g.idents[ident] = what
	return nil
}

// object names the Go struct type of an object schema: the first candidate name that is free
// or already belongs to an object of the same shape.
func (g *gen) object(s *sch, isRoot bool, candidates ...string) (string, error) {
	if name, ok := g.nameOf[s]; ok {
		return name, nil
	}
	c := canon(s)
	for _, name := range candidates {
		if t, ok := g.types[name]; ok {
			if !t.enum && t.canon == c {
				g.nameOf[s] = name
				return name, nil
			}
			continue
		}
		if !isRoot {
			if g.reserved[name] {
				continue
			}
			if err := g.claim(name, s.where); err != nil {
				return "", err
			}
		}
		t := &named{name: name, s: s, canon: c, where: s.where}
		g.types[name] = t
		g.nameOf[s] = name
		fieldNames := map[string]bool{}
		for _, p := range s.props {
			typ, err := g.goType(p.s, name, p.name, !p.required)
			if err != nil {
				return "", err
			}
			f := field{name: capitalize(p.name), typ: typ, tag: p.name}
			if !p.required {
				f.tag += ",omitempty"
			}
			if fieldNames[f.name] {
				return "", fmt.Errorf("%s: two properties become field %s", s.where, f.name)
			}
			fieldNames[f.name] = true
			t.fields = append(t.fields, f)
		}
		return name, nil
	}
	return "", fmt.Errorf("%s: no name for this object: %s are taken by other types", s.where, strings.Join(candidates, " and "))
}

// enum names the Go string type of an enumeration; enumerations share a type only when they
// would get the same name and have the same values.
func (g *gen) enum(s *sch, name string) (string, error) {
	if name, ok := g.nameOf[s]; ok {
		return name, nil
	}
	c := canon(s)
	if t, ok := g.types[name]; ok {
		if t.enum && t.canon == c {
			g.nameOf[s] = name
			return name, nil
		}
		return "", fmt.Errorf("%s: the enumeration name %s is taken by %s", s.where, name, t.where)
	}
	if g.reserved[name] {
		return "", fmt.Errorf("%s: the enumeration name %s is a request or response type", s.where, name)
	}
	if err := g.claim(name, s.where); err != nil {
		return "", err
	}
	t := &named{name: name, enum: true, s: s, canon: c, where: s.where}
	for _, v := range s.enum {
		cn := name + alnum(v)
		if cn == name {
			return "", fmt.Errorf("%s: enumeration value %q has no letters or digits", s.where, v)
		}
		if err := g.claim(cn, fmt.Sprintf("value %q of %s", v, s.where)); err != nil {
			return "", err
		}
		t.consts = append(t.consts, cn)
	}
	g.types[name] = t
	g.nameOf[s] = name
	return name, nil
}

func alnum(s string) string {
	var b strings.Builder
	for _, c := range s {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// goType is the Go type of a property (or array element, optional false) of an object of Go
// type parent. Optional scalars and structs are pointers so that absent and zero differ;
// strings, enumerations, slices and raw JSON are values whose zero value means absent.
func (g *gen) goType(s *sch, parent, propName string, optional bool) (string, error) {
	ptr := func(t string) string {
		if optional {
			return "*" + t
		}
		return t
	}
	if s.ref != "" {
		d, ok := g.defs[s.ref]
		if !ok {
			return "", fmt.Errorf("%s: no definition %s", s.where, s.ref)
		}
		switch {
		case d.ref != "":
			return "", fmt.Errorf("%s: definition %s is itself a $ref", s.where, s.ref)
		case d.typ == "object":
			name, err := g.object(d, false, s.ref)
			return ptr(name), err
		case d.enum != nil:
			return g.enum(d, s.ref)
		}
		return g.goType(d, parent, propName, optional)
	}
	switch s.typ {
	case "object":
		name, err := g.object(s, false, capitalize(propName), parent+capitalize(propName))
		return ptr(name), err
	case "array":
		elem, err := g.goType(s.items, parent, propName, false)
		return "[]" + elem, err
	case "string":
		switch {
		case s.enum != nil:
			return g.enum(s, parent+capitalize(propName))
		case s.format == "date-time":
			return ptr("time.Time"), nil
		}
		return "string", nil
	case "integer":
		return ptr("int"), nil
	case "number":
		return ptr("float64"), nil
	case "boolean":
		return ptr("bool"), nil
	case "":
		// No type constraint (2.0.1 DataTransfer.data): keep the JSON as it came.
		return "json.RawMessage", nil
	}
	return "", fmt.Errorf("%s: unexpected type %q", s.where, s.typ)
}

// schemaExpr is the Go expression of the *schema.Schema for s: the variable of a named type,
// or a literal.
func (g *gen) schemaExpr(s *sch) string {
	if s.ref != "" {
		d := g.defs[s.ref]
		if d.typ == "object" || d.enum != nil {
			return schemaVar(g.nameOf[d])
		}
		return g.schemaLiteral(d)
	}
	if name, ok := g.nameOf[s]; ok {
		return schemaVar(name)
	}
	return g.schemaLiteral(s)
}

func schemaVar(typeName string) string { return "schema" + typeName }

func (g *gen) schemaLiteral(s *sch) string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	if s.typ != "" {
		add("Type: schema.Type%s", capitalize(s.typ))
	}
	if s.typ == "object" {
		if len(s.props) > 0 {
			var b strings.Builder
			b.WriteString("Properties: []schema.Property{\n")
			for _, p := range s.props {
				fmt.Fprintf(&b, "{Name: %q, Schema: %s", p.name, g.schemaExpr(p.s))
				if p.required {
					b.WriteString(", Required: true")
				}
				b.WriteString("},\n")
			}
			b.WriteString("}")
			parts = append(parts, b.String())
		}
		if s.addl {
			add("AdditionalProperties: true")
		}
	}
	if s.items != nil {
		add("Items: %s", g.schemaExpr(s.items))
	}
	if s.minItems > 0 {
		add("MinItems: %d", s.minItems)
	}
	if s.maxItems > 0 {
		add("MaxItems: %d", s.maxItems)
	}
	if s.enum != nil {
		q := make([]string, len(s.enum))
		for i, e := range s.enum {
			q[i] = fmt.Sprintf("%q", e)
		}
		add("Enum: []string{%s}", strings.Join(q, ", "))
	}
	if s.minLength > 0 {
		add("MinLength: %d", s.minLength)
	}
	if s.maxLength > 0 {
		add("MaxLength: %d", s.maxLength)
	}
	switch s.format {
	case "date-time":
		add("Format: schema.FormatDateTime")
	case "uri":
		add("Format: schema.FormatURI")
	}
	if s.minimum != "" {
		add("Minimum: %q", s.minimum)
	}
	if s.maximum != "" {
		add("Maximum: %q", s.maximum)
	}
	if s.multipleOf != "" {
		add("MultipleOf: %q", s.multipleOf)
	}
	if strings.Contains(strings.Join(parts, ""), "\n") {
		return "&schema.Schema{\n" + strings.Join(parts, ",\n") + ",\n}"
	}
	return "&schema.Schema{" + strings.Join(parts, ", ") + "}"
}

// emit renders the package files.
func (g *gen) emit() (map[string][]byte, error) {
	rootTypes := map[string]*root{}
	for _, r := range g.roots {
		rootTypes[r.typeName] = r
	}
	var structs, enums []*named
	for _, name := range sortedKeys(g.types) {
		t := g.types[name]
		switch {
		case t.enum:
			enums = append(enums, t)
		case rootTypes[name] == nil:
			structs = append(structs, t)
		}
	}
	header := func(b *bytes.Buffer, imports ...string) {
		fmt.Fprintf(b, "// Code generated by ocpp/gen. DO NOT EDIT.\n")
		fmt.Fprintf(b, "// Source: the %s JSON schemas of the Open Charge Alliance (%s).\n\n", g.t.title, strings.Join(g.t.dirs, ", "))
		fmt.Fprintf(b, "package %s\n\n", g.t.pkg)
		if len(imports) > 0 {
			b.WriteString("import (\n")
			for _, imp := range imports {
				fmt.Fprintf(b, "%q\n", imp)
			}
			b.WriteString(")\n\n")
		}
	}
	writeStruct := func(b *bytes.Buffer, t *named, doc string) {
		fmt.Fprintf(b, "// %s\ntype %s struct {\n", doc, t.name)
		for _, f := range t.fields {
			fmt.Fprintf(b, "%s %s `json:%q`\n", f.name, f.typ, f.tag)
		}
		b.WriteString("}\n\n")
	}
	imports := func(ts []*named) []string {
		var uses = map[string]bool{}
		for _, t := range ts {
			for _, f := range t.fields {
				if strings.Contains(f.typ, "time.Time") {
					uses["time"] = true
				}
				if strings.Contains(f.typ, "json.RawMessage") {
					uses["encoding/json"] = true
				}
			}
		}
		return sortedKeys(uses)
	}

	files := map[string][]byte{}

	// messages_gen.go: the request and response payloads.
	var msgs []*named
	for _, r := range g.roots {
		msgs = append(msgs, g.types[r.typeName])
	}
	var b bytes.Buffer
	header(&b, imports(msgs)...)
	for _, r := range g.roots {
		writeStruct(&b, g.types[r.typeName], fmt.Sprintf("%s is the %s %s payload (%s).", r.typeName, r.action, kind(r.request), r.file))
	}
	files["messages_gen.go"] = b.Bytes()

	// types_gen.go: the objects inside them.
	b = bytes.Buffer{}
	header(&b, imports(structs)...)
	for _, t := range structs {
		writeStruct(&b, t, fmt.Sprintf("%s is the object at %s%s.", t.name, t.where, g.sharedNote(t)))
	}
	files["types_gen.go"] = b.Bytes()

	// enums_gen.go: the enumerations, one string type each.
	b = bytes.Buffer{}
	header(&b)
	for _, t := range enums {
		fmt.Fprintf(&b, "// %s is the enumeration at %s%s.\ntype %s string\n\n", t.name, t.where, g.sharedNote(t), t.name)
		b.WriteString("const (\n")
		for i, c := range t.consts {
			fmt.Fprintf(&b, "%s %s = %q\n", c, t.name, t.s.enum[i])
		}
		b.WriteString(")\n\n")
	}
	files["enums_gen.go"] = b.Bytes()

	// schemas_gen.go: one schema variable per named type.
	b = bytes.Buffer{}
	header(&b, "github.com/opencpo/opencpo/internal/ocpp/schema")
	b.WriteString("// The schema tables. Named types share one *schema.Schema; nothing modifies them after\n// package initialization.\nvar (\n")
	for _, name := range sortedKeys(g.types) {
		fmt.Fprintf(&b, "%s = %s\n\n", schemaVar(name), g.schemaLiteral(g.types[name].s))
	}
	b.WriteString(")\n")
	files["schemas_gen.go"] = b.Bytes()

	// catalog_gen.go: the actions.
	b = bytes.Buffer{}
	header(&b, "github.com/opencpo/opencpo/internal/ocpp", "github.com/opencpo/opencpo/internal/ocpp/schema")
	fmt.Fprintf(&b, "// catalog is built once, at package initialization, and never modified.\nvar catalog = schema.NewCatalog(ocpp.%s,\n", g.t.version)
	for i := 0; i < len(g.roots); i += 2 {
		req, resp := g.roots[i], g.roots[i+1]
		fmt.Fprintf(&b, "&schema.Action{\nName: %q,\nDirection: %s,\nRequest: %s,\nResponse: %s,\nNewRequest: func() any { return new(%s) },\nNewResponse: func() any { return new(%s) },\n},\n",
			req.action, g.t.directions[req.action].expr(), schemaVar(req.typeName), schemaVar(resp.typeName), req.typeName, resp.typeName)
	}
	b.WriteString(")\n\n")
	fmt.Fprintf(&b, "// Catalog returns the %s actions: their names, directions, schemas and payload types.\nfunc Catalog() *schema.Catalog { return catalog }\n", g.t.title)
	files["catalog_gen.go"] = b.Bytes()

	for name, src := range files {
		out, err := format.Source(src)
		if err != nil {
			return nil, fmt.Errorf("formatting %s: %w\n%s", name, err, src)
		}
		files[name] = out
	}
	return files, nil
}

// sharedNote mentions how many schema places a named type stands for, for types found inline.
func (g *gen) sharedNote(t *named) string {
	n := 0
	for s, name := range g.nameOf {
		if name == t.name && s != t.s {
			n++
		}
	}
	switch n {
	case 0:
		return ""
	case 1:
		return ", and 1 other of the same shape"
	}
	return fmt.Sprintf(", and %d others of the same shape", n)
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// node is a JSON value that keeps the order of object members: the order of a schema's
// properties becomes the order of the struct fields.
type node struct {
	kind  byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' boolean, 'z' null
	keys  []string
	vals  []*node
	items []*node
	str   string
	num   json.Number
	b     bool
}

func (n *node) get(key string) *node {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

func parseJSON(data []byte) (*node, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := parseNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the top-level value")
	}
	return n, nil
}

func parseNode(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: 'o'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key := kt.(string)
				if n.get(key) != nil {
					return nil, fmt.Errorf("duplicate key %q", key)
				}
				v, err := parseNode(dec)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, key)
				n.vals = append(n.vals, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		case '[':
			n := &node{kind: 'a'}
			for dec.More() {
				v, err := parseNode(dec)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		}
	case string:
		return &node{kind: 's', str: t}, nil
	case json.Number:
		return &node{kind: 'n', num: t}, nil
	case bool:
		return &node{kind: 'b', b: t}, nil
	case nil:
		return &node{kind: 'z'}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// sch is one schema node with the keywords the OCPP schemas use, $ref not yet resolved.
type sch struct {
	ref        string // name of the definition a $ref points to; nothing else is set then
	typ        string // "" (any), object, array, string, integer, number, boolean
	props      []prop
	addl       bool // additionalProperties; JSON Schema's default is true
	items      *sch
	minItems   int
	maxItems   int // 0: no limit
	enum       []string
	minLength  int
	maxLength  int // 0: no limit
	format     string
	minimum    string
	maximum    string
	multipleOf string
	where      string // file#/json/pointer of the node, for messages and comments
}

type prop struct {
	name     string
	s        *sch
	required bool
}

// isAnnotation tells the keywords that do not constrain a payload. Anything that is neither an
// annotation nor a keyword handled below stops the generator: silently ignoring a constraint
// would make our validator more lenient than the official schema.
func isAnnotation(keyword string) bool {
	switch keyword {
	case "$schema", "id", "$id", "title", "description", "javaType", "comment", "default":
		return true
	}
	return false
}

// toSchema converts a parsed schema node. definitions are handled by the caller (only the root
// may have them).
func toSchema(n *node, where string) (*sch, error) {
	if n.kind != 'o' {
		return nil, fmt.Errorf("%s: a schema must be an object", where)
	}
	s := &sch{addl: true, where: where}
	if ref := n.get("$ref"); ref != nil {
		name, ok := strings.CutPrefix(ref.str, "#/definitions/")
		if ref.kind != 's' || !ok || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("%s: unsupported $ref %q", where, ref.str)
		}
		// Draft-04 and draft-06 ignore every sibling of $ref; only annotations are expected.
		for _, k := range n.keys {
			if k != "$ref" && !isAnnotation(k) {
				return nil, fmt.Errorf("%s: keyword %q next to $ref", where, k)
			}
		}
		return &sch{ref: name, where: where}, nil
	}
	var required []string
	for i, k := range n.keys {
		v := n.vals[i]
		at := where + "/" + k
		var err error
		switch k {
		case "type":
			if v.kind != 's' {
				return nil, fmt.Errorf("%s: only a single type name is supported", at)
			}
			switch v.str {
			case "object", "array", "string", "integer", "number", "boolean":
				s.typ = v.str
			default:
				return nil, fmt.Errorf("%s: unsupported type %q", at, v.str)
			}
		case "properties":
			if v.kind != 'o' {
				return nil, fmt.Errorf("%s: not an object", at)
			}
			for j, name := range v.keys {
				if !isIdent(name) {
					return nil, fmt.Errorf("%s: property name %q is not usable as a Go field name", at, name)
				}
				ps, err := toSchema(v.vals[j], at+"/"+name)
				if err != nil {
					return nil, err
				}
				s.props = append(s.props, prop{name: name, s: ps})
			}
		case "required":
			if v.kind != 'a' {
				return nil, fmt.Errorf("%s: not an array", at)
			}
			for _, r := range v.items {
				if r.kind != 's' {
					return nil, fmt.Errorf("%s: not a string", at)
				}
				required = append(required, r.str)
			}
		case "additionalProperties":
			if v.kind != 'b' {
				return nil, fmt.Errorf("%s: only true or false is supported", at)
			}
			s.addl = v.b
		case "items":
			if v.kind != 'o' {
				return nil, fmt.Errorf("%s: only a single items schema is supported", at)
			}
			if s.items, err = toSchema(v, at); err != nil {
				return nil, err
			}
		case "additionalItems":
			// With a single items schema, additionalItems has no effect (draft-04 §5.3.1,
			// draft-06 §6.10); the 2.0.1 schemas write false next to every items.
			if v.kind != 'b' || n.get("items") == nil || n.get("items").kind != 'o' {
				return nil, fmt.Errorf("%s: only additionalItems next to a single items schema is supported", at)
			}
		case "minItems":
			s.minItems, err = nonNegInt(v, at)
		case "maxItems":
			s.maxItems, err = posInt(v, at)
		case "minLength":
			s.minLength, err = nonNegInt(v, at)
		case "maxLength":
			s.maxLength, err = posInt(v, at)
		case "enum":
			if v.kind != 'a' || len(v.items) == 0 {
				return nil, fmt.Errorf("%s: not a non-empty array", at)
			}
			for _, e := range v.items {
				if e.kind != 's' {
					return nil, fmt.Errorf("%s: only string enumerations are supported", at)
				}
				s.enum = append(s.enum, e.str)
			}
		case "format":
			if v.kind != 's' || (v.str != "date-time" && v.str != "uri") {
				return nil, fmt.Errorf("%s: unsupported format %q", at, v.str)
			}
			s.format = v.str
		case "minimum":
			s.minimum, err = number(v, at)
		case "maximum":
			s.maximum, err = number(v, at)
		case "multipleOf":
			s.multipleOf, err = number(v, at)
			if err == nil && (strings.HasPrefix(s.multipleOf, "-") || strings.Trim(s.multipleOf, "0.eE+-") == "") {
				err = fmt.Errorf("%s: multipleOf must be positive", at)
			}
		default:
			if !isAnnotation(k) {
				return nil, fmt.Errorf("%s: unsupported keyword %q", where, k)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	// Keywords that cannot apply to the declared type would be dead weight in the tables, and
	// are more likely a mistake in this generator than in the schema: refuse them.
	check := func(ok bool, what string) error {
		if !ok {
			return fmt.Errorf("%s: %s with type %q", where, what, s.typ)
		}
		return nil
	}
	for _, err := range []error{
		check(s.typ == "object" || (s.props == nil && required == nil), "properties/required"),
		check(s.typ == "array" || (s.items == nil && s.minItems == 0 && s.maxItems == 0), "items/minItems/maxItems"),
		check(s.typ == "string" || (s.enum == nil && s.format == "" && s.minLength == 0 && s.maxLength == 0), "enum/format/length"),
		check(s.typ == "integer" || s.typ == "number" || (s.minimum == "" && s.maximum == "" && s.multipleOf == ""), "minimum/maximum/multipleOf"),
		check(s.typ != "array" || s.items != nil, "array without items"),
		check(s.enum == nil || s.format == "", "enum and format"),
	} {
		if err != nil {
			return nil, err
		}
	}
	for _, r := range required {
		found := false
		for i := range s.props {
			if s.props[i].name == r {
				if s.props[i].required {
					return nil, fmt.Errorf("%s: %q is required twice", where, r)
				}
				s.props[i].required = true
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%s: required property %q is not among the properties", where, r)
		}
	}
	return s, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func nonNegInt(v *node, at string) (int, error) {
	if v.kind == 'n' {
		if i, err := strconv.Atoi(v.num.String()); err == nil && i >= 0 {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s: not a non-negative integer", at)
}

// posInt reads maxItems/maxLength. Zero would be a legal but useless limit, and the tables
// use 0 for "no limit".
func posInt(v *node, at string) (int, error) {
	i, err := nonNegInt(v, at)
	if err == nil && i == 0 {
		err = fmt.Errorf("%s: a limit of 0 is not supported", at)
	}
	return i, err
}

func number(v *node, at string) (string, error) {
	if v.kind != 'n' {
		return "", fmt.Errorf("%s: not a number", at)
	}
	return v.num.String(), nil
}

// canon is a deterministic rendering of everything in s that matters to validation or to the
// Go type: two schemas with equal canon get one Go type.
func canon(s *sch) string {
	var b strings.Builder
	writeCanon(&b, s)
	return b.String()
}

func writeCanon(b *strings.Builder, s *sch) {
	if s.ref != "" {
		fmt.Fprintf(b, "ref(%s)", s.ref)
		return
	}
	fmt.Fprintf(b, "%s{", s.typ)
	if s.typ == "object" {
		for _, p := range s.props {
			fmt.Fprintf(b, "%q:%t:", p.name, p.required)
			writeCanon(b, p.s)
			b.WriteByte(',')
		}
		fmt.Fprintf(b, "addl:%t", s.addl)
	}
	if s.items != nil {
		b.WriteString("items:")
		writeCanon(b, s.items)
	}
	fmt.Fprintf(b, "%d,%d,%q,%d,%d,%q,%q,%q,%q}", s.minItems, s.maxItems, s.enum, s.minLength, s.maxLength,
		s.format, s.minimum, s.maximum, s.multipleOf)
}

// sortedKeys returns the keys of a map in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

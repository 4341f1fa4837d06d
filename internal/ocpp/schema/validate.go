package schema

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is encoding/json's nesting limit. Deeper input is a syntax error there, so it is one
// here too: the verdict must not depend on which of the two looked at the payload.
const maxDepth = 10000

// Validate reports whether data is a JSON document that satisfies s. It returns nil or a
// *ValidationError describing the first problem: a syntax error anywhere in data wins over
// schema violations, since a payload that is not JSON cannot be judged against a schema.
//
// The payload is scanned once, without building a tree; on valid input it does not allocate.
// Semantics follow a decoder that keeps the last of duplicate object keys (encoding/json does),
// so a validator working on the decoded document reaches the same verdict. A nil schema only
// checks that data is JSON.
func (s *Schema) Validate(data []byte) error {
	v := validator{data: data}
	v.ws()
	ok := v.value(s)
	if ok {
		v.ws()
		if v.pos < len(v.data) {
			ok = v.syntax("unexpected data after the top-level value")
		}
	}
	if !ok {
		return v.syn
	}
	if v.err != nil {
		return v.err
	}
	return nil
}

type validator struct {
	data  []byte
	pos   int
	depth int
	// err is the first schema violation. Once set, the rest of the document is only checked
	// for syntax.
	err *ValidationError
	// syn is a syntax error; it stops the scan.
	syn *ValidationError
	// buf holds decoded strings that contained escapes or invalid UTF-8.
	buf []byte
	// The path to the current value: the first len(steps) entries, in stepBuf while it fits
	// (schemas nest a few levels deep), so that keeping track of it does not allocate.
	stepBuf [32]step
	nsteps  int
	more    []step
}

func (v *validator) push(st step) {
	if v.nsteps < len(v.stepBuf) {
		v.stepBuf[v.nsteps] = st
	} else {
		v.more = append(v.more[:v.nsteps-len(v.stepBuf)], st)
	}
	v.nsteps++
}

func (v *validator) pop() { v.nsteps-- }

func (v *validator) path() string {
	if v.nsteps <= len(v.stepBuf) {
		return formatPath(v.stepBuf[:v.nsteps])
	}
	all := append(append([]step(nil), v.stepBuf[:]...), v.more[:v.nsteps-len(v.stepBuf)]...)
	return formatPath(all)
}

func (v *validator) syntax(msg string) bool {
	if v.pos >= len(v.data) && msg != "unexpected end of input" {
		msg = "unexpected end of input"
	}
	v.syn = &ValidationError{Kind: KindSyntax, Message: fmt.Sprintf("invalid JSON at offset %d: %s", v.pos, msg)}
	return false
}

func (v *validator) fail(k Kind, format string, args ...any) {
	if v.err == nil {
		v.err = &ValidationError{Kind: k, Path: v.path(), Message: fmt.Sprintf(format, args...)}
	}
}

func (v *validator) ws() {
	for v.pos < len(v.data) {
		switch v.data[v.pos] {
		case ' ', '\t', '\n', '\r':
			v.pos++
		default:
			return
		}
	}
}

func (v *validator) peek() byte {
	if v.pos < len(v.data) {
		return v.data[v.pos]
	}
	return 0
}

// value checks the JSON value at v.pos against s and moves past it. A nil s (or a violation
// already found) only checks syntax. It returns false on a syntax error.
func (v *validator) value(s *Schema) bool {
	if v.err != nil || (s != nil && s.Type == TypeAny) {
		s = nil
	}
	if v.pos >= len(v.data) {
		return v.syntax("unexpected end of input")
	}
	switch c := v.data[v.pos]; {
	case c == '{':
		if s == nil {
			return v.skipObject()
		}
		if s.Type != TypeObject {
			v.typeError(s, "object")
			return v.skipObject()
		}
		return v.object(s, nil)
	case c == '[':
		if s == nil {
			return v.skipArray()
		}
		if s.Type != TypeArray {
			v.typeError(s, "array")
			return v.skipArray()
		}
		return v.array(s)
	case c == '"':
		start := v.pos
		esc, ok := v.scanString()
		if !ok {
			return false
		}
		if s == nil {
			return true
		}
		raw := v.data[start+1 : v.pos-1]
		if s.Type != TypeString {
			v.typeError(s, "string "+quoteValue(v.decode(raw, esc)))
			return true
		}
		v.checkString(s, raw, esc)
		return true
	case c == 't':
		return v.literal("true", s, TypeBoolean)
	case c == 'f':
		return v.literal("false", s, TypeBoolean)
	case c == 'n':
		return v.literal("null", s, TypeAny)
	case c == '-' || ('0' <= c && c <= '9'):
		start := v.pos
		if !v.scanNumber() {
			return false
		}
		if s != nil {
			v.checkNumber(s, v.data[start:v.pos])
		}
		return true
	}
	return v.syntax(fmt.Sprintf("unexpected character %q", v.data[v.pos]))
}

func (v *validator) literal(lit string, s *Schema, t Type) bool {
	if len(v.data)-v.pos < len(lit) || string(v.data[v.pos:v.pos+len(lit)]) != lit {
		// Point at the first byte that differs, as a decoder would.
		for i := 0; i < len(lit) && v.pos < len(v.data) && v.data[v.pos] == lit[i]; i++ {
			v.pos++
		}
		if v.pos >= len(v.data) {
			return v.syntax("unexpected end of input")
		}
		return v.syntax(fmt.Sprintf("invalid character %q in literal %s", v.data[v.pos], lit))
	}
	v.pos += len(lit)
	if s != nil && (t == TypeAny || s.Type != t) {
		if t == TypeAny {
			v.typeError(s, "null")
		} else {
			v.typeError(s, "boolean")
		}
	}
	return true
}

func (v *validator) typeError(s *Schema, got string) {
	v.fail(KindType, "expected %s, got %s", s.Type, got)
}

func (v *validator) enter() bool {
	v.depth++
	if v.depth > maxDepth {
		return v.syntax("exceeded max depth")
	}
	return true
}

// object checks an object against an object schema. counts is nil on the first pass; when a
// violation was found in an object with duplicate keys, the object is checked again with counts
// holding how many times each property occurs, so that only the last occurrence counts.
func (v *validator) object(s *Schema, counts []int) bool {
	start := v.pos
	if !v.enter() {
		return false
	}
	v.pos++ // {
	var seenBuf [2]uint64
	seen := seenBuf[:]
	if n := len(s.Properties); n > 64*len(seenBuf) {
		seen = make([]uint64, (n+63)/64)
	}
	dup := false
	v.ws()
	if v.peek() == '}' {
		v.pos++
	} else {
		for {
			if v.peek() != '"' {
				return v.syntax("expected a property name")
			}
			kstart := v.pos
			esc, ok := v.scanString()
			if !ok {
				return false
			}
			key := v.data[kstart+1 : v.pos-1]
			v.ws()
			if v.peek() != ':' {
				return v.syntax("expected : after a property name")
			}
			v.pos++
			v.ws()
			i := v.lookup(s, key, esc)
			switch {
			case i >= 0:
				bit := uint64(1) << (i % 64)
				if seen[i/64]&bit != 0 {
					dup = true
				}
				seen[i/64] |= bit
				if counts != nil {
					counts[i]--
					if counts[i] > 0 {
						if !v.value(nil) {
							return false
						}
						break
					}
				}
				v.push(step{name: s.Properties[i].Name})
				if !v.value(s.Properties[i].Schema) {
					return false
				}
				v.pop()
			default:
				if !s.AdditionalProperties && v.err == nil {
					v.fail(KindAdditional, "property %s is not allowed", quoteValue(v.decode(key, esc)))
				}
				if !v.value(nil) {
					return false
				}
			}
			v.ws()
			if v.peek() == ',' {
				v.pos++
				v.ws()
				continue
			}
			if v.peek() == '}' {
				v.pos++
				break
			}
			return v.syntax("expected , or } after an object member")
		}
	}
	v.depth--
	if v.err == nil {
		for i := range s.Properties {
			if s.Properties[i].Required && seen[i/64]&(uint64(1)<<(i%64)) == 0 {
				v.fail(KindRequired, "required property %q is missing", s.Properties[i].Name)
				break
			}
		}
	}
	if dup && counts == nil && v.err != nil {
		// The violation may sit in an occurrence a decoder would have overwritten. Judge the
		// object again, looking only at the last occurrence of each property. object is only
		// entered while no violation is known, so clearing it loses nothing.
		v.err = nil
		counts = v.countKeys(s, start)
		v.pos = start
		return v.object(s, counts)
	}
	return true
}

// countKeys counts the occurrences of each declared property in the object at start, which is
// known to be syntactically valid.
func (v *validator) countKeys(s *Schema, start int) []int {
	counts := make([]int, len(s.Properties))
	v.pos = start + 1
	for {
		v.ws()
		if v.peek() != '"' {
			break
		}
		kstart := v.pos
		esc, _ := v.scanString()
		if i := v.lookup(s, v.data[kstart+1:v.pos-1], esc); i >= 0 {
			counts[i]++
		}
		v.ws()
		v.pos++ // :
		v.ws()
		v.value(nil)
		v.ws()
		if v.peek() != ',' {
			break
		}
		v.pos++
	}
	return counts
}

func (v *validator) lookup(s *Schema, key []byte, esc bool) int {
	if esc || !utf8.Valid(key) {
		key = v.decode(key, esc)
	}
	for i := range s.Properties {
		if s.Properties[i].Name == string(key) {
			return i
		}
	}
	return -1
}

func (v *validator) array(s *Schema) bool {
	if !v.enter() {
		return false
	}
	v.pos++ // [
	n := 0
	v.ws()
	if v.peek() == ']' {
		v.pos++
	} else {
		for {
			v.push(step{index: n})
			if !v.value(s.Items) {
				return false
			}
			v.pop()
			n++
			v.ws()
			if v.peek() == ',' {
				v.pos++
				v.ws()
				continue
			}
			if v.peek() == ']' {
				v.pos++
				break
			}
			return v.syntax("expected , or ] after an array element")
		}
	}
	v.depth--
	switch {
	case n < s.MinItems:
		v.fail(KindItems, "array has %d items, fewer than minItems %d", n, s.MinItems)
	case s.MaxItems > 0 && n > s.MaxItems:
		v.fail(KindItems, "array has %d items, more than maxItems %d", n, s.MaxItems)
	}
	return true
}

func (v *validator) skipObject() bool {
	if !v.enter() {
		return false
	}
	v.pos++ // {
	v.ws()
	if v.peek() == '}' {
		v.pos++
		v.depth--
		return true
	}
	for {
		if v.peek() != '"' {
			return v.syntax("expected a property name")
		}
		if _, ok := v.scanString(); !ok {
			return false
		}
		v.ws()
		if v.peek() != ':' {
			return v.syntax("expected : after a property name")
		}
		v.pos++
		v.ws()
		if !v.value(nil) {
			return false
		}
		v.ws()
		switch v.peek() {
		case ',':
			v.pos++
			v.ws()
		case '}':
			v.pos++
			v.depth--
			return true
		default:
			return v.syntax("expected , or } after an object member")
		}
	}
}

func (v *validator) skipArray() bool {
	if !v.enter() {
		return false
	}
	v.pos++ // [
	v.ws()
	if v.peek() == ']' {
		v.pos++
		v.depth--
		return true
	}
	for {
		if !v.value(nil) {
			return false
		}
		v.ws()
		switch v.peek() {
		case ',':
			v.pos++
			v.ws()
		case ']':
			v.pos++
			v.depth--
			return true
		default:
			return v.syntax("expected , or ] after an array element")
		}
	}
}

// scanString moves past the string starting at v.pos (a '"'), checking JSON string syntax. It
// reports whether the string contains escapes. Invalid UTF-8 is accepted, as encoding/json
// accepts it (and replaces each bad byte with U+FFFD).
func (v *validator) scanString() (esc, ok bool) {
	v.pos++ // "
	for v.pos < len(v.data) {
		c := v.data[v.pos]
		switch {
		case c == '"':
			v.pos++
			return esc, true
		case c == '\\':
			esc = true
			v.pos++
			if v.pos >= len(v.data) {
				return esc, v.syntax("unexpected end of input")
			}
			switch v.data[v.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				v.pos++
			case 'u':
				v.pos++
				for i := 0; i < 4; i++ {
					if v.pos >= len(v.data) {
						return esc, v.syntax("unexpected end of input")
					}
					if unhex(v.data[v.pos]) < 0 {
						return esc, v.syntax(fmt.Sprintf("invalid character %q in \\u escape", v.data[v.pos]))
					}
					v.pos++
				}
			default:
				return esc, v.syntax(fmt.Sprintf("invalid escape character %q in string", v.data[v.pos]))
			}
		case c < 0x20:
			return esc, v.syntax(fmt.Sprintf("control character %q in string", c))
		default:
			v.pos++
		}
	}
	return esc, v.syntax("unexpected end of input")
}

func unhex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// decode returns the string value of raw (the bytes between the quotes of a syntactically valid
// JSON string) exactly as encoding/json decodes it: invalid UTF-8 bytes and unpaired surrogate
// escapes become U+FFFD. Strings without escapes that are valid UTF-8 are returned as they are;
// others are decoded into v.buf, valid until the next call.
func (v *validator) decode(raw []byte, esc bool) []byte {
	if !esc && utf8.Valid(raw) {
		return raw
	}
	b := v.buf[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			i++
			switch raw[i] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(raw[i+1:])
				i += 5
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						r2 = hex4(raw[i+2:])
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						b = utf8.AppendRune(b, dec)
						i += 6
						continue
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
				continue
			default: // " \ /
				b = append(b, raw[i])
			}
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, raw[i:i+size]...)
			}
			i += size
		}
	}
	v.buf = b
	return b
}

// hex4 reads 4 hex digits; the scanner has checked they are there.
func hex4(b []byte) rune {
	var r rune
	for i := 0; i < 4; i++ {
		r = r<<4 | unhex(b[i])
	}
	return r
}

func (v *validator) checkString(s *Schema, raw []byte, esc bool) {
	if len(s.Enum) == 0 && s.Format == FormatNone && s.MinLength == 0 && s.MaxLength == 0 {
		return
	}
	str := v.decode(raw, esc)
	if len(s.Enum) > 0 {
		found := false
		for _, e := range s.Enum {
			if e == string(str) {
				found = true
				break
			}
		}
		if !found {
			v.fail(KindEnum, "value %s is not one of %s", quoteValue(str), strings.Join(s.Enum, ", "))
			return
		}
	}
	switch s.Format {
	case FormatDateTime:
		if !validDateTime(str) {
			v.fail(KindFormat, "value %s is not a valid date-time (RFC 3339 with a time-zone offset, e.g. 2024-01-31T13:45:00Z)", quoteValue(str))
			return
		}
	case FormatURI:
		if !validURI(string(str)) {
			v.fail(KindFormat, "value %s is not a valid absolute URI", quoteValue(str))
			return
		}
	}
	if s.MinLength > 0 || s.MaxLength > 0 {
		n := utf8.RuneCount(str)
		switch {
		case n < s.MinLength:
			v.fail(KindLength, "string of %d characters is shorter than minLength %d", n, s.MinLength)
		case s.MaxLength > 0 && n > s.MaxLength:
			v.fail(KindLength, "string of %d characters is longer than maxLength %d", n, s.MaxLength)
		}
	}
}

// scanNumber moves past a JSON number at v.pos, checking its syntax.
func (v *validator) scanNumber() bool {
	d := v.data
	if d[v.pos] == '-' {
		v.pos++
	}
	switch {
	case v.pos >= len(d):
		return v.syntax("unexpected end of input")
	case d[v.pos] == '0':
		v.pos++
	case '1' <= d[v.pos] && d[v.pos] <= '9':
		for v.pos < len(d) && isDigit(d[v.pos]) {
			v.pos++
		}
	default:
		return v.syntax(fmt.Sprintf("invalid character %q in number", d[v.pos]))
	}
	if v.pos < len(d) && d[v.pos] == '.' {
		v.pos++
		if v.pos >= len(d) || !isDigit(d[v.pos]) {
			return v.syntax("expected a digit after the decimal point")
		}
		for v.pos < len(d) && isDigit(d[v.pos]) {
			v.pos++
		}
	}
	if v.pos < len(d) && (d[v.pos] == 'e' || d[v.pos] == 'E') {
		v.pos++
		if v.pos < len(d) && (d[v.pos] == '+' || d[v.pos] == '-') {
			v.pos++
		}
		if v.pos >= len(d) || !isDigit(d[v.pos]) {
			return v.syntax("expected a digit in the exponent")
		}
		for v.pos < len(d) && isDigit(d[v.pos]) {
			v.pos++
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (v *validator) checkNumber(s *Schema, lit []byte) {
	switch s.Type {
	case TypeNumber:
	case TypeInteger:
		if !isInteger(lit) {
			v.typeError(s, "number "+clip(string(lit)))
			return
		}
	default:
		v.typeError(s, "number "+clip(string(lit)))
		return
	}
	if s.Minimum != "" && compareDecimal(lit, s.Minimum) < 0 {
		v.fail(KindBounds, "value %s is less than minimum %s", clip(string(lit)), s.Minimum)
		return
	}
	if s.Maximum != "" && compareDecimal(lit, s.Maximum) > 0 {
		v.fail(KindBounds, "value %s is greater than maximum %s", clip(string(lit)), s.Maximum)
		return
	}
	if s.MultipleOf != "" && !isMultiple(lit, s.MultipleOf) {
		v.fail(KindBounds, "value %s is not a multiple of %s", clip(string(lit)), s.MultipleOf)
	}
}

// quoteValue quotes a (decoded) string value for a message, shortened so that a huge payload
// does not turn into a huge error.
func quoteValue(b []byte) string {
	return fmt.Sprintf("%q", clip(string(b)))
}

func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

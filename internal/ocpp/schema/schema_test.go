package schema

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/opencpo/opencpo/internal/ocpp"
)

func TestCode(t *testing.T) {
	tests := []struct {
		kind Kind
		want ocpp.ErrorCode
	}{
		{KindSyntax, ocpp.FormatViolation},
		{KindAdditional, ocpp.FormatViolation},
		{KindRequired, ocpp.OccurrenceConstraintViolation},
		{KindItems, ocpp.OccurrenceConstraintViolation},
		{KindType, ocpp.TypeConstraintViolation},
		{KindEnum, ocpp.PropertyConstraintViolation},
		{KindLength, ocpp.PropertyConstraintViolation},
		{KindBounds, ocpp.PropertyConstraintViolation},
		{KindFormat, ocpp.PropertyConstraintViolation},
	}
	seen := map[Kind]bool{}
	for _, tt := range tests {
		seen[tt.kind] = true
		e := &ValidationError{Kind: tt.kind}
		if got := e.Code(); got != tt.want {
			t.Errorf("%v.Code() = %s, want %s", tt.kind, got, tt.want)
		}
		if tt.kind.String() == "Unknown" {
			t.Errorf("Kind %d has no name", tt.kind)
		}
	}
	// Every kind is in the table above.
	for k := Kind(1); k.String() != "Unknown"; k++ {
		if !seen[k] {
			t.Errorf("kind %v is missing from the mapping table", k)
		}
	}
}

// testSchema exercises every keyword. testSchemaJSON is the same schema for the reference
// validator; the two must be kept in step.
const testSchemaJSON = `{
  "$schema": "http://json-schema.org/draft-06/schema#",
  "$id": "urn:test:schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "id": {"type": "integer", "minimum": 0, "maximum": 100},
    "ratio": {"type": "number", "multipleOf": 0.1, "minimum": -5.5, "maximum": 1e3},
    "step": {"type": "number", "multipleOf": 0.25},
    "name": {"type": "string", "minLength": 2, "maxLength": 5},
    "status": {"type": "string", "enum": ["Accepted", "Rejected", "Ünïcode"]},
    "at": {"type": "string", "format": "date-time"},
    "url": {"type": "string", "format": "uri"},
    "flag": {"type": "boolean"},
    "any": {},
    "list": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"$ref": "#/definitions/Item"}},
    "custom": {"$ref": "#/definitions/Custom"}
  },
  "required": ["id", "status"],
  "definitions": {
    "Item": {"type": "object", "additionalProperties": false, "required": ["n"],
      "properties": {"n": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}}}},
    "Custom": {"type": "object", "required": ["vendorId"], "properties": {"vendorId": {"type": "string", "maxLength": 255}}}
  }
}`

func testSchema() *Schema {
	item := &Schema{Type: TypeObject, Properties: []Property{
		{Name: "n", Schema: &Schema{Type: TypeInteger}, Required: true},
		{Name: "tags", Schema: &Schema{Type: TypeArray, Items: &Schema{Type: TypeString, MaxLength: 3}}},
	}}
	custom := &Schema{Type: TypeObject, AdditionalProperties: true, Properties: []Property{
		{Name: "vendorId", Schema: &Schema{Type: TypeString, MaxLength: 255}, Required: true},
	}}
	return &Schema{Type: TypeObject, Properties: []Property{
		{Name: "id", Schema: &Schema{Type: TypeInteger, Minimum: "0", Maximum: "100"}, Required: true},
		{Name: "ratio", Schema: &Schema{Type: TypeNumber, MultipleOf: "0.1", Minimum: "-5.5", Maximum: "1e3"}},
		{Name: "step", Schema: &Schema{Type: TypeNumber, MultipleOf: "0.25"}},
		{Name: "name", Schema: &Schema{Type: TypeString, MinLength: 2, MaxLength: 5}},
		{Name: "status", Schema: &Schema{Type: TypeString, Enum: []string{"Accepted", "Rejected", "Ünïcode"}}, Required: true},
		{Name: "at", Schema: &Schema{Type: TypeString, Format: FormatDateTime}},
		{Name: "url", Schema: &Schema{Type: TypeString, Format: FormatURI}},
		{Name: "flag", Schema: &Schema{Type: TypeBoolean}},
		{Name: "any", Schema: &Schema{}},
		{Name: "list", Schema: &Schema{Type: TypeArray, MinItems: 1, MaxItems: 3, Items: item}},
		{Name: "custom", Schema: custom},
	}}
}

func compileReference(t testing.TB, src string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("file:///test.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("file:///test.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// referenceVerdict judges data with the reference validator. ok is false when the reference
// validator panics (it does on numbers beyond big.Rat's exponent limit in bounds checks), so
// that there is no verdict to compare with.
func referenceVerdict(ref *jsonschema.Schema, data []byte) (syntax, ok bool, err error) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return true, true, err
	}
	return false, true, ref.Validate(inst)
}

// The cases every implementation detail of the validator must get right. Each one is also
// judged by the reference validator, which must agree.
var validateCases = []struct {
	name string
	data string
	kind Kind // 0: valid
	path string
	msg  string
}{
	{"minimal", `{"id":1,"status":"Accepted"}`, 0, "", ""},
	{"everything", `{"id":100,"ratio":-5.5,"step":0.75,"name":"ab","status":"Ünïcode","at":"2024-01-31T13:45:00+01:00",
		"url":"https://example.com/x","flag":true,"any":[{"x":null}],"list":[{"n":1,"tags":["a","b€c"]},{"n":2}],
		"custom":{"vendorId":"v","extra":{"deep":[1,2,3]}}}`, 0, "", ""},
	{"whitespace", " \t\r\n{ \"id\" : 1 , \"status\" : \"Accepted\" } \n", 0, "", ""},

	{"not JSON", `{"id":1,`, KindSyntax, "", "invalid JSON at offset 8: unexpected end of input"},
	{"empty", ``, KindSyntax, "", ""},
	{"trailing data", `{"id":1,"status":"Accepted"} {}`, KindSyntax, "", "invalid JSON at offset 29: unexpected data after the top-level value"},
	{"syntax error after a schema error", `{"id":"x","status":"Accepted",}`, KindSyntax, "", ""},
	{"bad escape", `{"id":1,"status":"\q"}`, KindSyntax, "", ""},
	{"control character", "{\"id\":1,\"status\":\"a\tb\"}", KindSyntax, "", ""},
	{"leading zero", `{"id":01,"status":"Accepted"}`, KindSyntax, "", ""},
	{"bare decimal point", `{"id":1.,"status":"Accepted"}`, KindSyntax, "", ""},
	{"plus sign", `{"id":+1,"status":"Accepted"}`, KindSyntax, "", ""},
	{"NaN", `{"id":NaN,"status":"Accepted"}`, KindSyntax, "", ""},
	{"literal typo", `{"id":1,"status":"Accepted","flag":tru}`, KindSyntax, "", ""},

	{"payload not an object", `[]`, KindType, "", "expected object, got array"},
	{"null", `null`, KindType, "", "expected object, got null"},
	{"string for integer", `{"id":"1","status":"Accepted"}`, KindType, "id", `expected integer, got string "1"`},
	{"fraction for integer", `{"id":1.5,"status":"Accepted"}`, KindType, "id", "expected integer, got number 1.5"},
	{"1.0 is an integer", `{"id":1.0,"status":"Accepted"}`, 0, "", ""},
	{"1e1 is an integer", `{"id":1e1,"status":"Accepted"}`, 0, "", ""},
	{"15e-1 is not", `{"id":15e-1,"status":"Accepted"}`, KindType, "id", ""},
	{"150e-1 is", `{"id":150e-1,"status":"Accepted"}`, 0, "", ""},
	{"-0 is", `{"id":-0,"status":"Accepted"}`, 0, "", ""},
	{"huge exponent is not an integer", `{"id":1e1000001,"status":"Accepted"}`, KindType, "id", ""},
	{"zero with huge exponent is", `{"id":0e1000001,"status":"Accepted"}`, 0, "", ""},
	{"exponent beyond int64 is not", `{"id":0e9223372036854775808,"status":"Accepted"}`, KindType, "id", ""},
	{"null for boolean", `{"id":1,"status":"Accepted","flag":null}`, KindType, "flag", "expected boolean, got null"},
	{"object in array", `{"id":1,"status":"Accepted","list":[{"n":1},{"n":"2"}]}`, KindType, "list[1].n", ""},
	{"anything goes", `{"id":1,"status":"Accepted","any":"x"}`, 0, "", ""},

	{"missing required", `{"id":1}`, KindRequired, "", `required property "status" is missing`},
	{"missing nested required", `{"id":1,"status":"Accepted","list":[{"tags":[]}]}`, KindRequired, "list[0]", `required property "n" is missing`},
	{"unknown property", `{"id":1,"status":"Accepted","foo":1}`, KindAdditional, "", `property "foo" is not allowed`},
	{"unknown property in item", `{"id":1,"status":"Accepted","list":[{"n":1,"m":2}]}`, KindAdditional, "list[0]", `property "m" is not allowed`},
	{"extra property where allowed", `{"id":1,"status":"Accepted","custom":{"vendorId":"v","x":[[[]]]}}`, 0, "", ""},

	{"enum", `{"id":1,"status":"X"}`, KindEnum, "status", `value "X" is not one of Accepted, Rejected, Ünïcode`},
	{"enum is case sensitive", `{"id":1,"status":"accepted"}`, KindEnum, "status", ""},
	{"enum with escapes", `{"id":1,"status":"\u0041ccepted"}`, 0, "", ""},
	{"enum with non-ASCII escapes", `{"id":1,"status":"\u00dcn\u00efcode"}`, 0, "", ""},
	{"enum with invalid UTF-8", "{\"id\":1,\"status\":\"Accepted\xff\"}", KindEnum, "status", ""},

	{"too long", `{"id":1,"status":"Accepted","name":"abcdef"}`, KindLength, "name", "string of 6 characters is longer than maxLength 5"},
	{"too short", `{"id":1,"status":"Accepted","name":"a"}`, KindLength, "name", "string of 1 characters is shorter than minLength 2"},
	{"length counts characters", `{"id":1,"status":"Accepted","name":"€€€€€"}`, 0, "", ""},
	{"surrogate pair is one character", `{"id":1,"status":"Accepted","name":"\ud834\udd1e\ud834\udd1eabc"}`, 0, "", ""},
	{"lone surrogates are one each", `{"id":1,"status":"Accepted","name":"\ud834\ud834\udd1eabcd"}`, KindLength, "name", ""},
	{"invalid UTF-8 bytes are one each", "{\"id\":1,\"status\":\"Accepted\",\"name\":\"abc\xff\xfe\"}", 0, "", ""},
	{"invalid UTF-8 over the limit", "{\"id\":1,\"status\":\"Accepted\",\"name\":\"abc\xff\xfe\xfd\"}", KindLength, "name", ""},
	{"item string too long", `{"id":1,"status":"Accepted","list":[{"n":1,"tags":["abcd"]}]}`, KindLength, "list[0].tags[0]", ""},

	{"below minimum", `{"id":-1,"status":"Accepted"}`, KindBounds, "id", "value -1 is less than minimum 0"},
	{"above maximum", `{"id":101,"status":"Accepted"}`, KindBounds, "id", "value 101 is greater than maximum 100"},
	{"maximum with exponent", `{"id":1e2,"status":"Accepted"}`, 0, "", ""},
	{"above maximum with exponent", `{"id":1.01e2,"status":"Accepted"}`, KindBounds, "id", ""},
	{"negative zero at minimum", `{"id":-0.0,"status":"Accepted"}`, 0, "", ""},
	{"number just above maximum", `{"id":1,"status":"Accepted","ratio":1000.0000000000000000001}`, KindBounds, "ratio", ""},
	{"number at maximum", `{"id":1,"status":"Accepted","ratio":1000.000}`, 0, "", ""},
	{"number below minimum", `{"id":1,"status":"Accepted","ratio":-5.6}`, KindBounds, "ratio", ""},
	{"multipleOf 0.1", `{"id":1,"status":"Accepted","ratio":0.3}`, 0, "", ""},
	{"not multipleOf 0.1", `{"id":1,"status":"Accepted","ratio":0.35}`, KindBounds, "ratio", "value 0.35 is not a multiple of 0.1"},
	{"multipleOf 0.1 with exponent", `{"id":1,"status":"Accepted","ratio":35e-2}`, KindBounds, "ratio", ""},
	{"multipleOf 0.1 with trailing zeros", `{"id":1,"status":"Accepted","ratio":0.3000}`, 0, "", ""},
	{"multipleOf 0.25", `{"id":1,"status":"Accepted","step":-1.75}`, 0, "", ""},
	{"not multipleOf 0.25", `{"id":1,"status":"Accepted","step":1.7}`, KindBounds, "step", ""},

	{"too few items", `{"id":1,"status":"Accepted","list":[]}`, KindItems, "list", "array has 0 items, fewer than minItems 1"},
	{"too many items", `{"id":1,"status":"Accepted","list":[{"n":1},{"n":1},{"n":1},{"n":1}]}`, KindItems, "list", "array has 4 items, more than maxItems 3"},

	{"date-time", `{"id":1,"status":"Accepted","at":"2024-02-29T23:59:59.999Z"}`, 0, "", ""},
	{"date-time without offset", `{"id":1,"status":"Accepted","at":"2024-01-31T13:45:00"}`, KindFormat, "at", ""},
	{"date-time on a day that does not exist", `{"id":1,"status":"Accepted","at":"2023-02-29T13:45:00Z"}`, KindFormat, "at", ""},
	{"date-time leap second", `{"id":1,"status":"Accepted","at":"2016-12-31T23:59:60Z"}`, 0, "", ""},
	{"date-time leap second at the wrong time", `{"id":1,"status":"Accepted","at":"2016-12-31T22:59:60Z"}`, KindFormat, "at", ""},
	{"date-time leap second in another zone", `{"id":1,"status":"Accepted","at":"2016-12-31T22:59:60-01:00"}`, 0, "", ""},
	{"date-time lower case", `{"id":1,"status":"Accepted","at":"2024-01-31t13:45:00z"}`, 0, "", ""},
	{"date-time with a signed hour", `{"id":1,"status":"Accepted","at":"2024-01-31T+1:45:00Z"}`, 0, "", ""},
	{"date-time escaped", `{"id":1,"status":"Accepted","at":"2024-01-31\u005413:45:00Z"}`, 0, "", ""},
	{"uri", `{"id":1,"status":"Accepted","url":"ftp://host/path"}`, 0, "", ""},
	{"relative uri", `{"id":1,"status":"Accepted","url":"/path"}`, KindFormat, "url", ""},
	{"uri with zone", `{"id":1,"status":"Accepted","url":"http://[fe80::1%25eth0]/"}`, KindFormat, "url", ""},

	{"duplicate key, last valid", `{"id":"x","id":1,"status":"Accepted"}`, 0, "", ""},
	{"duplicate key, last invalid", `{"id":1,"status":"Accepted","id":"x"}`, KindType, "id", ""},
	{"duplicate key, error elsewhere", `{"id":1,"id":2,"status":"Nope"}`, KindEnum, "status", ""},
	{"duplicate key, nested", `{"id":1,"status":"Accepted","list":[{"n":"x","n":1}]}`, 0, "", ""},
	{"duplicate key, nested in a duplicate", `{"list":[{"n":"x"}],"id":1,"status":"Accepted","list":[{"n":"x","n":2}]}`, 0, "", ""},
	{"duplicate key, escaped", `{"id":"x","\u0069d":1,"status":"Accepted"}`, 0, "", ""},
	{"escaped key", `{"\u0069d":1,"st\u0061tus":"Accepted"}`, 0, "", ""},
}

func TestValidate(t *testing.T) {
	s := testSchema()
	ref := compileReference(t, testSchemaJSON)
	for _, tt := range validateCases {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate([]byte(tt.data))
			_, ok, refErr := referenceVerdict(ref, []byte(tt.data))
			if !ok {
				t.Fatal("the reference validator panicked")
			}
			if (refErr == nil) != (tt.kind == 0) {
				t.Errorf("the reference validator says %v, the test expects kind %v", refErr, tt.kind)
			}
			if tt.kind == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError of kind %v", err, tt.kind)
			}
			if ve.Kind != tt.kind {
				t.Errorf("kind %v (%v), want %v", ve.Kind, ve, tt.kind)
			}
			if ve.Path != tt.path {
				t.Errorf("path %q, want %q", ve.Path, tt.path)
			}
			if tt.msg != "" && ve.Message != tt.msg {
				t.Errorf("message %q, want %q", ve.Message, tt.msg)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	rate := &Schema{Type: TypeString, Enum: []string{"A", "W"}}
	s := &Schema{Type: TypeObject, Properties: []Property{{Name: "chargingProfile", Schema: &Schema{Type: TypeObject, Properties: []Property{
		{Name: "chargingSchedule", Schema: &Schema{Type: TypeObject, Properties: []Property{
			{Name: "chargingRateUnit", Schema: rate},
		}}},
	}}}}}
	err := s.Validate([]byte(`{"chargingProfile":{"chargingSchedule":{"chargingRateUnit":"X"}}}`))
	want := `chargingProfile.chargingSchedule.chargingRateUnit: value "X" is not one of A, W`
	if err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	long := `{"chargingProfile":{"chargingSchedule":{"chargingRateUnit":"` + strings.Repeat("x", 1000) + `"}}}`
	if err := s.Validate([]byte(long)); err == nil || len(err.Error()) > 200 {
		t.Errorf("a long value must be shortened in the message: %q", err)
	}
}

// TestIntegerPerDraft pins down what "integer" means in draft-04 and draft-06: the reference
// validator treats 1.0 as an integer in both (draft-04's text says otherwise, its test suite
// marks that case optional), and so do we.
func TestIntegerPerDraft(t *testing.T) {
	s := &Schema{Type: TypeInteger}
	for _, draft := range []string{"http://json-schema.org/draft-04/schema#", "http://json-schema.org/draft-06/schema#"} {
		ref := compileReference(t, `{"$schema":"`+draft+`","type":"integer"}`)
		for _, lit := range []string{"1", "1.0", "-1.000", "1e3", "1E+3", "12e-1", "120e-1", "1.5", "0.0", "-0", "1e-7",
			"9223372036854775808", "123456789012345678901234567890.0", "1.00000000000000000001", "1e1000000", "1e1000001", "1e-1000001", "0e-99999999999"} {
			_, ok, refErr := referenceVerdict(ref, []byte(lit))
			if !ok {
				t.Fatalf("%s: the reference validator panicked on %s", draft, lit)
			}
			if err := s.Validate([]byte(lit)); (err == nil) != (refErr == nil) {
				t.Errorf("%s: %s: ours %v, reference %v", draft, lit, err, refErr)
			}
		}
	}
}

func TestDepth(t *testing.T) {
	ref := compileReference(t, testSchemaJSON)
	s := testSchema()
	for _, depth := range []int{maxDepth - 2, maxDepth - 1, maxDepth} {
		deep := `{"id":1,"status":"Accepted","custom":{"vendorId":"v","x":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}}`
		refSyntax, ok, refErr := referenceVerdict(ref, []byte(deep))
		if !ok {
			t.Fatal("the reference validator panicked")
		}
		err := s.Validate([]byte(deep))
		var ve *ValidationError
		ourSyntax := errors.As(err, &ve) && ve.Kind == KindSyntax
		if (err == nil) != (refErr == nil) || ourSyntax != refSyntax {
			t.Errorf("depth %d: ours %v, reference %v", depth, err, refErr)
		}
	}
}

func TestValidateDoesNotAllocate(t *testing.T) {
	s := testSchema()
	data := []byte(`{"id":100,"ratio":-5.5,"name":"ab","status":"Ünïcode","at":"2024-01-31T13:45:00+01:00",
		"flag":true,"any":[{"x":null}],"list":[{"n":1,"tags":["a","b€c"]},{"n":2}],"custom":{"vendorId":"v","extra":{"deep":[1,2,3]}}}`)
	if err := s.Validate(data); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = s.Validate(data) }); n != 0 {
		t.Errorf("Validate of a valid payload allocates %v times, want 0", n)
	}
}

func TestDateTime(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"2024-01-31T13:45:00Z", true},
		{"2024-01-31T13:45:00.1+14:00", true},
		{"0000-01-01T00:00:00Z", true},
		{"2000-02-29T00:00:00Z", true},
		{"1900-02-29T00:00:00Z", false},
		{"2024-04-31T00:00:00Z", false},
		{"2024-00-10T00:00:00Z", false},
		{"2024-01-00T00:00:00Z", false},
		{"2024-01-31T13:45:00.Z", false},
		{"2024-01-31T13:45:00+0100", false},
		{"2024-01-31T13:45:00+01:0x", false},
		{"2024-01-31T13:45:00+24:00", false},
		{"2024-01-31T13:45Z", false},
		{"2024-01-31X13:45:00Z", false},
		{"2024-01-31T13:45:00ZZ", false},
		{"2024-01-31T13:-5:00Z", false},
		{"2024-01-31T13:-0:00Z", true}, // strconv.Atoi("-0") is 0: kept for parity
		{"+024-01-31T13:45:00Z", false},
		{"2024-01-31T23:59:60+00:00", true},
		{"2024-01-31T00:00:60+00:01", true}, // 23:59:60 UTC
		{"2024-01-31T00:00:60+00:02", false},
	}
	for _, tt := range tests {
		if got := validDateTime([]byte(tt.in)); got != tt.ok {
			t.Errorf("validDateTime(%q) = %v, want %v", tt.in, got, tt.ok)
		}
	}
}

func TestCompareDecimal(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"0", "0.0", 0}, {"-0", "0", 0}, {"1", "1.0e0", 0}, {"100", "1e2", 0}, {"0.001", "1e-3", 0},
		{"1", "2", -1}, {"-1", "-2", 1}, {"-1", "1", -1}, {"0", "-0.0001", 1},
		{"1e10", "9999999999", 1}, {"100.0000000000000000001", "100", 1}, {"99.999999999999999999", "100", -1},
		{"1e-400", "0", 1}, {"-1e400", "-1e399", -1}, {"1e99999999999999999999", "1e400", 1},
		{"0.5", "0.25", 1}, {"12.30", "12.3", 0},
	}
	for _, tt := range tests {
		if got := compareDecimal([]byte(tt.a), tt.b); got != tt.want {
			t.Errorf("compare(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := compareDecimal(tt.b, []byte(tt.a)); got != -tt.want {
			t.Errorf("compare(%s, %s) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

func TestIsMultiple(t *testing.T) {
	tests := []struct {
		v, m string
		want bool
	}{
		{"0.3", "0.1", true}, {"3", "0.1", true}, {"0", "0.1", true}, {"-0.7", "0.1", true}, {"1e5", "0.1", true},
		{"0.35", "0.1", false}, {"1e-2", "0.1", false}, {"0.30000000000000004", "0.1", false},
		{"10", "10", true}, {"15", "10", false}, {"1e3", "1e2", true},
		{"0.75", "0.25", true}, {"0.8", "0.25", false}, {"7", "3.5", true}, {"7", "3", false},
		{"1e999999", "0.25", true}, {"1e-999999", "0.25", false}, {"3e99999999999", "3.5", false}, {"7e1000000", "3.5", true},
		{"1e99999999999999999999999", "0.1", true},
	}
	for _, tt := range tests {
		if got := isMultiple([]byte(tt.v), tt.m); got != tt.want {
			t.Errorf("isMultiple(%s, %s) = %v, want %v", tt.v, tt.m, got, tt.want)
		}
	}
}

func TestCatalog(t *testing.T) {
	a := &Action{Name: "Heartbeat", Direction: FromStation}
	b := &Action{Name: "DataTransfer", Direction: FromStation | FromCSMS}
	c := &Action{Name: "Reset", Direction: FromCSMS}
	cat := NewCatalog(ocpp.V16, a, b, c)
	if cat.Version() != ocpp.V16 {
		t.Errorf("Version = %s", cat.Version())
	}
	if got, ok := cat.Lookup("Reset"); !ok || got != c {
		t.Errorf("Lookup(Reset) = %v, %v", got, ok)
	}
	if _, ok := cat.Lookup("reset"); ok {
		t.Error("Lookup must be exact")
	}
	var names []string
	for _, a := range cat.Actions() {
		names = append(names, a.Name)
	}
	if fmt.Sprint(names) != "[DataTransfer Heartbeat Reset]" {
		t.Errorf("Actions = %v", names)
	}
	cat.Actions()[0] = nil // a copy: the catalog is unchanged
	if cat.Actions()[0] != b {
		t.Error("Actions returned the catalog's own slice")
	}
	if !b.Direction.Has(FromCSMS) || !b.Direction.Has(FromStation) || a.Direction.Has(FromCSMS) || c.Direction.Has(FromStation) {
		t.Error("Direction.Has")
	}
	if s := b.Direction.String(); s != "FromStation|FromCSMS" {
		t.Errorf("Direction.String = %s", s)
	}
	defer func() {
		if recover() == nil {
			t.Error("a duplicate action must panic")
		}
	}()
	NewCatalog(ocpp.V16, a, a)
}

// A schema nested deeper than the validator's fixed path buffer still reports the full path.
func TestDeepSchemaPath(t *testing.T) {
	s := &Schema{Type: TypeInteger}
	var data, want string
	data = "1.5"
	for i := 0; i < 40; i++ {
		s = &Schema{Type: TypeArray, Items: &Schema{Type: TypeObject, Properties: []Property{{Name: "p", Schema: s}}}}
		data = `[{"p":` + data + `}]`
		want = "[0].p" + want
	}
	err := s.Validate([]byte(data))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Kind != KindType || ve.Path != want {
		t.Errorf("error %v, want a type error at %s", err, want)
	}
	var nilSchema *Schema
	if err := nilSchema.Validate([]byte(data)); err != nil {
		t.Errorf("a nil schema accepts any JSON: %v", err)
	}
	if err := nilSchema.Validate([]byte("{")); err == nil {
		t.Error("a nil schema still rejects malformed JSON")
	}
}

package ocpp

import "testing"

// allCodes is every canonical code; the test below fails if a constant is added to ocpp.go
// without being listed here and in Known.
var allCodes = []ErrorCode{
	FormatViolation, GenericError, InternalError, MessageTypeNotSupported, NotImplemented,
	NotSupported, OccurrenceConstraintViolation, PropertyConstraintViolation, ProtocolError,
	RPCFrameworkError, SecurityError, TypeConstraintViolation,
}

func TestWireCode(t *testing.T) {
	tests := []struct {
		code      ErrorCode
		v16, v201 string
	}{
		{FormatViolation, "FormationViolation", "FormatViolation"},
		{GenericError, "GenericError", "GenericError"},
		{InternalError, "InternalError", "InternalError"},
		{MessageTypeNotSupported, "GenericError", "MessageTypeNotSupported"},
		{NotImplemented, "NotImplemented", "NotImplemented"},
		{NotSupported, "NotSupported", "NotSupported"},
		{OccurrenceConstraintViolation, "OccurenceConstraintViolation", "OccurrenceConstraintViolation"},
		{PropertyConstraintViolation, "PropertyConstraintViolation", "PropertyConstraintViolation"},
		{ProtocolError, "ProtocolError", "ProtocolError"},
		{RPCFrameworkError, "FormationViolation", "RpcFrameworkError"},
		{SecurityError, "SecurityError", "SecurityError"},
		{TypeConstraintViolation, "TypeConstraintViolation", "TypeConstraintViolation"},
		// Not a code of either version: always sent as GenericError.
		{"", "GenericError", "GenericError"},
		{"NoSuchCode", "GenericError", "GenericError"},
		{"FormationViolation", "GenericError", "GenericError"}, // a wire spelling is not a canonical code
	}
	if len(tests)-3 != len(allCodes) {
		t.Fatalf("table covers %d codes, want all %d", len(tests)-3, len(allCodes))
	}
	for _, tt := range tests {
		if got := V16.WireCode(tt.code); got != tt.v16 {
			t.Errorf("V16.WireCode(%q) = %q, want %q", tt.code, got, tt.v16)
		}
		if got := V201.WireCode(tt.code); got != tt.v201 {
			t.Errorf("V201.WireCode(%q) = %q, want %q", tt.code, got, tt.v201)
		}
	}
}

// The 1.6 code table (OCPP-J 1.6 §4.2.3 Table 7) exactly as printed.
var table16 = []string{
	"NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError",
	"FormationViolation", "PropertyConstraintViolation", "OccurenceConstraintViolation",
	"TypeConstraintViolation", "GenericError",
}

func TestWireCodeStaysInVersionTable(t *testing.T) {
	in16 := map[string]bool{}
	for _, s := range table16 {
		in16[s] = true
	}
	for _, c := range allCodes {
		if got := V16.WireCode(c); !in16[got] {
			t.Errorf("V16.WireCode(%q) = %q, not a 1.6 code", c, got)
		}
		if got := V201.WireCode(c); got != string(c) || !c.Known() {
			t.Errorf("V201.WireCode(%q) = %q, want the canonical code", c, got)
		}
	}
}

func TestParseErrorCode(t *testing.T) {
	tests := []struct {
		in   string
		want ErrorCode
		ok   bool
	}{
		// 2.0.1 spellings.
		{"FormatViolation", FormatViolation, true},
		{"GenericError", GenericError, true},
		{"InternalError", InternalError, true},
		{"MessageTypeNotSupported", MessageTypeNotSupported, true},
		{"NotImplemented", NotImplemented, true},
		{"NotSupported", NotSupported, true},
		{"OccurrenceConstraintViolation", OccurrenceConstraintViolation, true},
		{"PropertyConstraintViolation", PropertyConstraintViolation, true},
		{"ProtocolError", ProtocolError, true},
		{"RpcFrameworkError", RPCFrameworkError, true},
		{"SecurityError", SecurityError, true},
		{"TypeConstraintViolation", TypeConstraintViolation, true},
		// 1.6-only spellings.
		{"FormationViolation", FormatViolation, true},
		{"OccurenceConstraintViolation", OccurrenceConstraintViolation, true},
		// Not codes.
		{"", "", false},
		{"formatviolation", "", false},
		{"NoError", "", false},
		{" GenericError", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseErrorCode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseErrorCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// Every code a peer of either version can send reads back as itself, for every code spelled for
// either version: the two directions are inverse except where 1.6 has no such code.
func TestWireCodeRoundTrip(t *testing.T) {
	for _, c := range allCodes {
		for _, v := range []Version{V16, V201} {
			back, ok := ParseErrorCode(v.WireCode(c))
			if !ok {
				t.Fatalf("ParseErrorCode(%s.WireCode(%q)) not ok", v, c)
			}
			want := c
			if v == V16 {
				switch c {
				case RPCFrameworkError:
					want = FormatViolation
				case MessageTypeNotSupported:
					want = GenericError
				}
			}
			if back != want {
				t.Errorf("%s: %q → %q → %q, want %q", v, c, v.WireCode(c), back, want)
			}
		}
	}
	for _, s := range table16 {
		c, ok := ParseErrorCode(s)
		if !ok || V16.WireCode(c) != s {
			t.Errorf("1.6 code %q → %q, %v → %q", s, c, ok, V16.WireCode(c))
		}
	}
}

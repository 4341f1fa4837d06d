package ocpp

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseFrameValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Frame
	}{
		{"call", `[2,"19223201","BootNotification",{"chargePointVendor":"VendorX"}]`,
			Frame{Type: TypeCall, ID: "19223201", Action: "BootNotification", Payload: json.RawMessage(`{"chargePointVendor":"VendorX"}`)}},
		{"call with whitespace", " [ 2 ,\n \"a\" , \"Heartbeat\" , { } ] ",
			Frame{Type: TypeCall, ID: "a", Action: "Heartbeat", Payload: json.RawMessage(`{ }`)}},
		{"call null payload", `[2,"a","Heartbeat",null]`,
			Frame{Type: TypeCall, ID: "a", Action: "Heartbeat", Payload: json.RawMessage(`{}`)}},
		{"call 36 char id", `[2,"123456789012345678901234567890123456","Heartbeat",{}]`,
			Frame{Type: TypeCall, ID: "123456789012345678901234567890123456", Action: "Heartbeat", Payload: json.RawMessage(`{}`)}},
		{"call 36 multibyte chars", `[2,"` + strings.Repeat("é", 36) + `","Heartbeat",{}]`,
			Frame{Type: TypeCall, ID: strings.Repeat("é", 36), Action: "Heartbeat", Payload: json.RawMessage(`{}`)}},
		{"call escaped id", `[2,"a\"b\u00e9","X",{}]`,
			Frame{Type: TypeCall, ID: `a"bé`, Action: "X", Payload: json.RawMessage(`{}`)}},
		{"result", `[3,"19223201",{"status":"Accepted","interval":300}]`,
			Frame{Type: TypeCallResult, ID: "19223201", Payload: json.RawMessage(`{"status":"Accepted","interval":300}`)}},
		{"result null", `[3,"x",null]`,
			Frame{Type: TypeCallResult, ID: "x", Payload: json.RawMessage(`{}`)}},
		{"error 2.0.1 spelling", `[4,"162376037","FormatViolation","bad",{"k":1}]`,
			Frame{Type: TypeCallError, ID: "162376037", ErrorCode: FormatViolation, ErrorDescription: "bad", ErrorDetails: json.RawMessage(`{"k":1}`)}},
		{"error 1.6 spelling", `[4,"1","FormationViolation","",{}]`,
			Frame{Type: TypeCallError, ID: "1", ErrorCode: FormatViolation, ErrorDetails: json.RawMessage(`{}`)}},
		{"error 1.6 occurence", `[4,"1","OccurenceConstraintViolation","",{}]`,
			Frame{Type: TypeCallError, ID: "1", ErrorCode: OccurrenceConstraintViolation, ErrorDetails: json.RawMessage(`{}`)}},
		{"error unknown code kept", `[4,"1","VendorThing","",null]`,
			Frame{Type: TypeCallError, ID: "1", ErrorCode: "VendorThing", ErrorDetails: json.RawMessage(`{}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cerr := ParseFrame([]byte(tt.in))
			if cerr != nil {
				t.Fatalf("ParseFrame: %v", cerr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseFrameInvalid(t *testing.T) {
	long := strings.Repeat("x", 37)
	tests := []struct {
		name   string
		in     string
		code   ErrorCode
		id     string
		typ    MessageType
		action string
	}{
		{"empty", ``, RPCFrameworkError, "-1", 0, ""},
		{"not json", `hello`, RPCFrameworkError, "-1", 0, ""},
		{"object", `{"a":1}`, RPCFrameworkError, "-1", 0, ""},
		{"string", `"x"`, RPCFrameworkError, "-1", 0, ""},
		{"number", `2`, RPCFrameworkError, "-1", 0, ""},
		{"null", `null`, RPCFrameworkError, "-1", 0, ""},
		{"empty array", `[]`, RPCFrameworkError, "-1", 0, ""},
		{"only type", `[2]`, RPCFrameworkError, "-1", TypeCall, ""},
		{"short call", `[2,"a","Heartbeat"]`, RPCFrameworkError, "a", TypeCall, ""},
		{"long call", `[2,"a","Heartbeat",{},{}]`, RPCFrameworkError, "a", TypeCall, ""},
		{"short result", `[3,"a"]`, RPCFrameworkError, "a", TypeCallResult, ""},
		{"long error", `[4,"a","GenericError","",{},1]`, RPCFrameworkError, "a", TypeCallError, ""},
		{"type as string", `["2","a","Heartbeat",{}]`, RPCFrameworkError, "a", 0, ""},
		{"type as float", `[2.0,"a","Heartbeat",{}]`, RPCFrameworkError, "a", 0, ""},
		{"type huge", `[99999999999999999999999,"a","Heartbeat",{}]`, RPCFrameworkError, "a", 0, ""},
		{"type 0", `[0,"a","Heartbeat",{}]`, MessageTypeNotSupported, "a", 0, ""},
		{"type 5 callresulterror", `[5,"a","GenericError","",{}]`, MessageTypeNotSupported, "a", 5, ""},
		{"type 6 send", `[6,"a","NotifyPeriodicEventStream",{}]`, MessageTypeNotSupported, "a", 6, ""},
		{"type negative", `[-2,"a","Heartbeat",{}]`, MessageTypeNotSupported, "a", -2, ""},
		{"unknown type bad id", `[7,1]`, MessageTypeNotSupported, "-1", 7, ""},
		{"numeric id", `[2,123,"Heartbeat",{}]`, RPCFrameworkError, "-1", TypeCall, ""},
		{"null id", `[2,null,"Heartbeat",{}]`, RPCFrameworkError, "-1", TypeCall, ""},
		{"id too long", `[2,"` + long + `","Heartbeat",{}]`, RPCFrameworkError, "-1", TypeCall, ""},
		{"numeric action", `[2,"a",7,{}]`, RPCFrameworkError, "a", TypeCall, ""},
		{"payload array", `[2,"a","Heartbeat",[]]`, FormatViolation, "a", TypeCall, "Heartbeat"},
		{"payload string", `[2,"a","Heartbeat","{}"]`, FormatViolation, "a", TypeCall, "Heartbeat"},
		{"payload number", `[2,"a","Heartbeat",1]`, FormatViolation, "a", TypeCall, "Heartbeat"},
		{"result payload array", `[3,"a",[1]]`, FormatViolation, "a", TypeCallResult, ""},
		{"error code number", `[4,"a",1,"",{}]`, RPCFrameworkError, "a", TypeCallError, ""},
		{"error description number", `[4,"a","GenericError",1,{}]`, RPCFrameworkError, "a", TypeCallError, ""},
		{"error details array", `[4,"a","GenericError","",[]]`, FormatViolation, "a", TypeCallError, ""},
		// Invalid JSON: the envelope is salvaged token by token.
		{"broken payload", `[2,"abc","Heartbeat",{"x":}]`, FormatViolation, "abc", TypeCall, "Heartbeat"},
		{"truncated payload", `[2,"abc","Heartbeat",{"x":1`, FormatViolation, "abc", TypeCall, "Heartbeat"},
		{"missing bracket", `[2,"abc","Heartbeat",{}`, RPCFrameworkError, "abc", TypeCall, "Heartbeat"},
		{"trailing bytes", `[2,"abc","Heartbeat",{}] x`, RPCFrameworkError, "abc", TypeCall, "Heartbeat"},
		{"two values", `[2,"abc","Heartbeat",{}][]`, RPCFrameworkError, "abc", TypeCall, "Heartbeat"},
		{"broken result", `[3,"abc",{"x":]`, RPCFrameworkError, "abc", TypeCallResult, ""},
		{"broken id", `[2,"abc`, RPCFrameworkError, "-1", TypeCall, ""},
		{"broken long id", `[2,"` + long + `",{`, RPCFrameworkError, "-1", TypeCall, ""},
		{"broken type", `[x,"abc","Heartbeat",{}]`, RPCFrameworkError, "-1", 0, ""},
		{"broken action", `[2,"abc",Heartbeat,{}]`, RPCFrameworkError, "abc", TypeCall, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, cerr := ParseFrame([]byte(tt.in))
			if cerr == nil {
				t.Fatalf("ParseFrame(%s) = %+v, want error %s", tt.in, f, tt.code)
			}
			if cerr.Code != tt.code {
				t.Errorf("code = %s (%s), want %s", cerr.Code, cerr.Description, tt.code)
			}
			if f.ID != tt.id {
				t.Errorf("id = %q, want %q", f.ID, tt.id)
			}
			if f.Type != tt.typ {
				t.Errorf("type = %d, want %d", f.Type, tt.typ)
			}
			if f.Action != tt.action {
				t.Errorf("action = %q, want %q", f.Action, tt.action)
			}
			if strings.Contains(cerr.Description, "abc") || strings.Contains(cerr.Description, "Heartbeat") {
				t.Errorf("description %q echoes the input", cerr.Description)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"call", EncodeCall("id1", "Reset", json.RawMessage(`{"type":"Soft"}`)), `[2,"id1","Reset",{"type":"Soft"}]`},
		{"call nil payload", EncodeCall("id1", "Heartbeat", nil), `[2,"id1","Heartbeat",{}]`},
		{"call null payload", EncodeCall("id1", "Heartbeat", json.RawMessage(" null ")), `[2,"id1","Heartbeat",{}]`},
		{"call escapes", EncodeCall("a\"b\\c\n\x01<&>", "X", nil), `[2,"a\"b\\c\n\u0001<&>","X",{}]`},
		{"result", EncodeCallResult("id1", json.RawMessage(`{"status":"Accepted"}`)), `[3,"id1",{"status":"Accepted"}]`},
		{"result nil", EncodeCallResult("id1", nil), `[3,"id1",{}]`},
		{"error 1.6 format", EncodeCallError(V16, "id1", &CallError{Code: FormatViolation, Description: "bad"}), `[4,"id1","FormationViolation","bad",{}]`},
		{"error 1.6 occurrence", EncodeCallError(V16, "id1", &CallError{Code: OccurrenceConstraintViolation}), `[4,"id1","OccurenceConstraintViolation","",{}]`},
		{"error 1.6 rpc", EncodeCallError(V16, "-1", &CallError{Code: RPCFrameworkError}), `[4,"-1","FormationViolation","",{}]`},
		{"error 1.6 type", EncodeCallError(V16, "a", &CallError{Code: MessageTypeNotSupported}), `[4,"a","GenericError","",{}]`},
		{"error 2.0.1 format", EncodeCallError(V201, "id1", &CallError{Code: FormatViolation}), `[4,"id1","FormatViolation","",{}]`},
		{"error 2.0.1 occurrence", EncodeCallError(V201, "id1", &CallError{Code: OccurrenceConstraintViolation}), `[4,"id1","OccurrenceConstraintViolation","",{}]`},
		{"error 2.0.1 rpc", EncodeCallError(V201, "-1", &CallError{Code: RPCFrameworkError}), `[4,"-1","RpcFrameworkError","",{}]`},
		{"error details", EncodeCallError(V201, "a", &CallError{Code: InternalError, Details: json.RawMessage(`{"k":[1]}`)}), `[4,"a","InternalError","",{"k":[1]}]`},
		{"error details not object", EncodeCallError(V201, "a", &CallError{Code: InternalError, Details: json.RawMessage(`[1]`)}), `[4,"a","InternalError","",{}]`},
		{"error details invalid", EncodeCallError(V201, "a", &CallError{Code: InternalError, Details: json.RawMessage(`{"k"`)}), `[4,"a","InternalError","",{}]`},
		{"error details null", EncodeCallError(V201, "a", &CallError{Code: InternalError, Details: json.RawMessage(`null`)}), `[4,"a","InternalError","",{}]`},
		{"error unknown code", EncodeCallError(V201, "a", &CallError{Code: "Oops"}), `[4,"a","GenericError","",{}]`},
		{"error nil", EncodeCallError(V16, "a", nil), `[4,"a","GenericError","",{}]`},
		{"error bad utf8", EncodeCallError(V201, "a", &CallError{Code: GenericError, Description: "x\xffy"}), `[4,"a","GenericError","x` + "\uFFFD" + `y",{}]`},
		{"line separator", EncodeCallResult("\u2028", nil), `[3,"\u2028",{}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("got  %s\nwant %s", tt.got, tt.want)
			}
			if !json.Valid(tt.got) {
				t.Errorf("not valid JSON: %s", tt.got)
			}
		})
	}
}

func TestEncodeCallErrorDescriptionLimit(t *testing.T) {
	for _, tt := range []struct {
		name string
		desc string
	}{
		{"ascii", strings.Repeat("a", 300)},
		{"two-byte at the cut", strings.Repeat("a", 254) + "ééé"},
		{"three-byte", strings.Repeat("€", 100)},
		{"four-byte", strings.Repeat("😀", 70)},
		{"invalid bytes", strings.Repeat("a\xff", 150)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []any
			if err := json.Unmarshal(EncodeCallError(V201, "a", &CallError{Code: GenericError, Description: tt.desc}), &got); err != nil {
				t.Fatal(err)
			}
			d := got[3].(string)
			if len(d) > MaxErrorDescriptionLen || !utf8.ValidString(d) || len(d) < MaxErrorDescriptionLen-3 {
				t.Errorf("description of %d bytes (valid UTF-8: %v)", len(d), utf8.ValidString(d))
			}
			if !strings.HasPrefix(strings.ToValidUTF8(tt.desc, "\uFFFD"), d) {
				t.Errorf("description is not a prefix of the original")
			}
			// 1.6 defines no limit: the text is sent whole.
			if err := json.Unmarshal(EncodeCallError(V16, "a", &CallError{Code: GenericError, Description: tt.desc}), &got); err != nil {
				t.Fatal(err)
			}
			if got[3].(string) != strings.ToValidUTF8(tt.desc, "\uFFFD") {
				t.Errorf("1.6 description was changed")
			}
		})
	}
}

func TestEncodeParseRoundTrip(t *testing.T) {
	id := NewMessageID()
	f, cerr := ParseFrame(EncodeCall(id, "Reset", json.RawMessage(`{"type":"Hard"}`)))
	if cerr != nil || f.Type != TypeCall || f.ID != id || f.Action != "Reset" || string(f.Payload) != `{"type":"Hard"}` {
		t.Errorf("call round trip: %+v %v", f, cerr)
	}
	f, cerr = ParseFrame(EncodeCallError(V16, id, &CallError{Code: FormatViolation, Description: "d", Details: json.RawMessage(`{"a":1}`)}))
	if cerr != nil || f.Type != TypeCallError || f.ID != id || f.ErrorCode != FormatViolation || f.ErrorDescription != "d" || string(f.ErrorDetails) != `{"a":1}` {
		t.Errorf("error round trip: %+v %v", f, cerr)
	}
}

func TestNewMessageID(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := NewMessageID()
		if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' || id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Fatalf("malformed id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestMessageTypeString(t *testing.T) {
	for typ, want := range map[MessageType]string{TypeCall: "CALL", TypeCallResult: "CALLRESULT", TypeCallError: "CALLERROR", 5: "MessageType(5)"} {
		if got := typ.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(typ), got, want)
		}
	}
}

func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{
		`[2,"19223201","BootNotification",{"chargePointVendor":"VendorX"}]`,
		`[3,"1",{"status":"Accepted"}]`,
		`[4,"1","FormationViolation","x",{}]`,
		`[2,"abc","Heartbeat",{"x":}]`,
		`[5,"a","GenericError","",{}]`,
		`[2,123,"Heartbeat",{}]`, `[]`, `{}`, `null`, ``, `[2,"a","b",[]]`, `[2,"a\u00e9","b",null] `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, cerr := ParseFrame(data)
		if utf8.RuneCountInString(fr.ID) > MaxMessageIDLen {
			t.Fatalf("id %q too long", fr.ID)
		}
		if cerr != nil {
			switch cerr.Code {
			case RPCFrameworkError, MessageTypeNotSupported, FormatViolation:
			default:
				t.Fatalf("unexpected code %s", cerr.Code)
			}
			for _, v := range []Version{V16, V201} {
				out := EncodeCallError(v, fr.ID, cerr)
				back, err := ParseFrame(out)
				if err != nil || back.Type != TypeCallError || back.ID != fr.ID {
					t.Fatalf("answer %s does not parse: %v", out, err)
				}
			}
			return
		}
		if !json.Valid(fr.Payload) && fr.Type != TypeCallError {
			t.Fatalf("payload %q is not valid JSON", fr.Payload)
		}
		var out []byte
		switch fr.Type {
		case TypeCall:
			out = EncodeCall(fr.ID, fr.Action, fr.Payload)
		case TypeCallResult:
			out = EncodeCallResult(fr.ID, fr.Payload)
		case TypeCallError:
			out = EncodeCallError(V201, fr.ID, &CallError{Code: fr.ErrorCode, Description: fr.ErrorDescription, Details: fr.ErrorDetails})
		default:
			t.Fatalf("accepted type %d", fr.Type)
		}
		back, cerr := ParseFrame(out)
		if cerr != nil || back.Type != fr.Type || back.ID != strings.ToValidUTF8(fr.ID, "\uFFFD") || back.Action != strings.ToValidUTF8(fr.Action, "\uFFFD") {
			t.Fatalf("re-encoded %s: %+v %v, want %+v", out, back, cerr, fr)
		}
	})
}

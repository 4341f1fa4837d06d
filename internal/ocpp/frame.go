package ocpp

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// UnknownMessageID answers a frame whose own message id could not be read
	// (OCPP 2.0.1 part 4 §4.2.3; 1.6 says nothing, and the same value is as good as any there).
	UnknownMessageID = "-1"
	// MaxMessageIDLen is the longest message id either version allows (string[36]).
	MaxMessageIDLen = 36
	// MaxErrorDescriptionLen bounds a CALLERROR description in OCPP 2.0.1 (string[255]).
	MaxErrorDescriptionLen = 255
)

// Frame is one decoded OCPP-J message. Which fields are set depends on Type:
// CALL has ID, Action and Payload; CALLRESULT has ID and Payload; CALLERROR has ID, ErrorCode,
// ErrorDescription and ErrorDetails.
type Frame struct {
	Type             MessageType
	ID               string
	Action           string
	Payload          json.RawMessage // a JSON object; a null payload is normalised to {}
	ErrorCode        ErrorCode       // canonical if the peer sent a known code, otherwise as sent
	ErrorDescription string
	ErrorDetails     json.RawMessage // a JSON object or nil
}

// String names the message type as the specifications do.
func (t MessageType) String() string {
	switch t {
	case TypeCall:
		return "CALL"
	case TypeCallResult:
		return "CALLRESULT"
	case TypeCallError:
		return "CALLERROR"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// ParseFrame decodes one OCPP-J message. The envelope is decoded once and the payload is kept
// as raw JSON for the action's own decoder.
//
// On failure the returned *CallError carries the canonical code to answer with (spell it with
// Version.WireCode) and a description that never echoes the input; the returned Frame still
// carries whatever could be read: Type when it was a number, and ID, which is the frame's own
// message id when it was readable and valid, otherwise UnknownMessageID. The codes follow
// OCPP 2.0.1 part 4 §4.2.3 / §4.3 / §4.4:
//
//   - RpcFrameworkError: not JSON, not an array, message type or id of the wrong JSON type, id
//     longer than 36 characters, wrong number of elements, action or error fields that are not
//     strings, or trailing bytes after the array.
//   - MessageTypeNotSupported: an integer message type other than 2, 3 or 4 (this includes the
//     OCPP 2.1 types such as CALLRESULTERROR = 5, which neither 1.6 nor 2.0.1 defines).
//   - FormatViolation: the payload (or CALLERROR details) is not a JSON object, or, for an
//     otherwise readable CALL, the payload is not valid JSON.
//
// Both specifications allow null for an empty payload; it is accepted and normalised to {}.
func ParseFrame(data []byte) (Frame, *CallError) {
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return salvage(data)
	}
	f := Frame{ID: UnknownMessageID}
	if len(elems) == 0 {
		return f, Errorf(RPCFrameworkError, "message is an empty array")
	}

	// The id is read first so that even a frame with an unusable type can be answered with it.
	idOK := false
	if len(elems) >= 2 {
		if id, ok := jsonString(elems[1]); ok && utf8.RuneCountInString(id) <= MaxMessageIDLen {
			f.ID, idOK = id, true
		}
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(elems[0])))
	if err != nil {
		return f, Errorf(RPCFrameworkError, "message type is not an integer")
	}
	f.Type = MessageType(n)
	switch f.Type {
	case TypeCall, TypeCallResult, TypeCallError:
	default:
		return f, Errorf(MessageTypeNotSupported, "message type %d is not supported", n)
	}
	if !idOK {
		return f, Errorf(RPCFrameworkError, "message id is missing, not a string or longer than %d characters", MaxMessageIDLen)
	}

	switch f.Type {
	case TypeCall:
		if len(elems) != 4 {
			return f, Errorf(RPCFrameworkError, "a CALL has 4 elements, got %d", len(elems))
		}
		action, ok := jsonString(elems[2])
		if !ok {
			return f, Errorf(RPCFrameworkError, "action is not a string")
		}
		f.Action = action
		if f.Payload, ok = object(elems[3]); !ok {
			return f, Errorf(FormatViolation, "payload is not a JSON object")
		}
	case TypeCallResult:
		if len(elems) != 3 {
			return f, Errorf(RPCFrameworkError, "a CALLRESULT has 3 elements, got %d", len(elems))
		}
		var ok bool
		if f.Payload, ok = object(elems[2]); !ok {
			return f, Errorf(FormatViolation, "payload is not a JSON object")
		}
	case TypeCallError:
		if len(elems) != 5 {
			return f, Errorf(RPCFrameworkError, "a CALLERROR has 5 elements, got %d", len(elems))
		}
		code, ok := jsonString(elems[2])
		if !ok {
			return f, Errorf(RPCFrameworkError, "error code is not a string")
		}
		if c, known := ParseErrorCode(code); known {
			f.ErrorCode = c
		} else {
			f.ErrorCode = ErrorCode(code)
		}
		if f.ErrorDescription, ok = jsonString(elems[3]); !ok {
			return f, Errorf(RPCFrameworkError, "error description is not a string")
		}
		if f.ErrorDetails, ok = object(elems[4]); !ok {
			return f, Errorf(FormatViolation, "error details are not a JSON object")
		}
	}
	return f, nil
}

// salvage handles data that json.Unmarshal refused (invalid JSON, or valid JSON that is not an
// array): it reads the envelope token by token to recover the type and id, so the CALLERROR can
// reach the right request, and to tell a broken payload (FormatViolation) from a broken
// envelope (RpcFrameworkError).
func salvage(data []byte) (Frame, *CallError) {
	f := Frame{ID: UnknownMessageID}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return f, Errorf(RPCFrameworkError, "message is not valid JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return f, Errorf(RPCFrameworkError, "message is not a JSON array")
	}
	invalid := Errorf(RPCFrameworkError, "message is not a valid JSON array")

	tok, err = dec.Token()
	num, ok := tok.(json.Number)
	if err != nil || !ok {
		return f, invalid
	}
	n, err := strconv.Atoi(string(num))
	if err != nil {
		return f, invalid
	}
	f.Type = MessageType(n)

	tok, err = dec.Token()
	id, ok := tok.(string)
	if err != nil || !ok || utf8.RuneCountInString(id) > MaxMessageIDLen {
		return f, invalid
	}
	f.ID = id
	if f.Type != TypeCall {
		return f, invalid
	}

	tok, err = dec.Token()
	action, ok := tok.(string)
	if err != nil || !ok {
		return f, invalid
	}
	f.Action = action
	var payload json.RawMessage
	if err := dec.Decode(&payload); err != nil {
		return f, Errorf(FormatViolation, "payload is not valid JSON")
	}
	return f, invalid // the defect is after the payload: extra elements, no ']' or trailing bytes
}

// jsonString decodes raw when it is a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// object returns raw when it is a JSON object, {} for null, and false otherwise. raw is known to
// be valid JSON.
func object(raw json.RawMessage) (json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) > 0 && raw[0] == '{':
		return raw, true
	case string(raw) == "null":
		return json.RawMessage("{}"), true
	}
	return nil, false
}

// EncodeCall encodes [2, id, action, payload]. payload must be a JSON object; nil or null is
// sent as {}.
func EncodeCall(id, action string, payload json.RawMessage) []byte {
	b := make([]byte, 0, 12+len(id)+len(action)+len(payload))
	b = append(b, "[2,"...)
	b = appendString(b, id)
	b = append(b, ',')
	b = appendString(b, action)
	b = append(b, ',')
	b = appendPayload(b, payload)
	return append(b, ']')
}

// EncodeCallResult encodes [3, id, payload]. payload must be a JSON object; nil or null is sent
// as {}.
func EncodeCallResult(id string, payload json.RawMessage) []byte {
	b := make([]byte, 0, 8+len(id)+len(payload))
	b = append(b, "[3,"...)
	b = appendString(b, id)
	b = append(b, ',')
	b = appendPayload(b, payload)
	return append(b, ']')
}

// EncodeCallError encodes [4, id, code, description, details] for a peer speaking v: the code is
// spelled with v.WireCode, details that are not a JSON object are sent as {}, and for 2.0.1 the
// description is cut to at most 255 bytes on a UTF-8 boundary (which also keeps it within 255
// characters). A nil e is sent as GenericError.
func EncodeCallError(v Version, id string, e *CallError) []byte {
	if e == nil {
		e = &CallError{Code: GenericError}
	}
	desc := strings.ToValidUTF8(e.Description, "\uFFFD")
	if v != V16 {
		desc = truncateUTF8(desc, MaxErrorDescriptionLen)
	}
	details, ok := object(e.Details)
	if !ok || !json.Valid(details) {
		details = json.RawMessage("{}")
	}
	code := v.WireCode(e.Code)
	b := make([]byte, 0, 16+len(id)+len(code)+len(desc)+len(details))
	b = append(b, "[4,"...)
	b = appendString(b, id)
	b = append(b, ',')
	b = appendString(b, code)
	b = append(b, ',')
	b = appendString(b, desc)
	b = append(b, ',')
	b = append(b, details...)
	return append(b, ']')
}

// NewMessageID returns a random UUID (version 4) from crypto/rand: 36 characters, the most
// either version allows, and unique without any shared counter.
func NewMessageID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // never fails since Go 1.24 (it crashes the program instead)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

func appendPayload(b []byte, payload json.RawMessage) []byte {
	p := bytes.TrimSpace(payload)
	if len(p) == 0 || string(p) == "null" {
		return append(b, "{}"...)
	}
	return append(b, p...)
}

// truncateUTF8 cuts valid UTF-8 s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// appendString appends s as a JSON string. Unlike encoding/json it does not escape <, > and &,
// which keeps frames readable; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			// Valid JSON either way, but JavaScript-based stations may choke on the raw form.
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

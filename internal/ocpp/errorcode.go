package ocpp

// The CALLERROR code sets differ between the versions (OCPP-J 1.6 §4.2.3 Table 7, OCPP 2.0.1
// part 4 §4.3 Table 8). ErrorCode always holds the 2.0.1 spelling; the wire spelling is decided
// only when a frame is encoded, because only then is the peer's version known.
//
// OCPP 1.6 differences and the choices made for them:
//
//   - FormatViolation is spelled FormationViolation and OccurrenceConstraintViolation is spelled
//     OccurenceConstraintViolation. The 1.6 errata (§5.1, §5.2) lists both as typos that will
//     NOT be fixed in 1.6 because that would break implementations, so 1.6 peers get the typo.
//   - RpcFrameworkError (2.0.1: "content of the call is not a valid RPC request, for example:
//     MessageId could not be read") does not exist in 1.6. It becomes FormationViolation, which
//     1.6 defines as "syntactically incorrect or not conform the PDU structure": a frame that is
//     not a well-formed [type, id, ...] array is exactly a syntax/structure failure. GenericError
//     ("any other error not covered by the previous ones") would be wrong because a covering
//     code exists.
//   - MessageTypeNotSupported does not exist in 1.6 (1.6 §4.1.3 only says the payload of an
//     unknown message type is ignored). The frame is syntactically fine, the action is not
//     what is wrong (NotImplemented/NotSupported speak of the requested Action), and no payload
//     code applies, so it becomes GenericError, 1.6's code for "any other error".
//
// Codes outside both tables (a handler's typo, a future code) are sent as GenericError so that
// every CALLERROR we write uses a code the peer's version defines.

// Known reports whether c is one of the twelve OCPP 2.0.1 codes.
func (c ErrorCode) Known() bool {
	switch c {
	case FormatViolation, GenericError, InternalError, MessageTypeNotSupported, NotImplemented,
		NotSupported, OccurrenceConstraintViolation, PropertyConstraintViolation, ProtocolError,
		RPCFrameworkError, SecurityError, TypeConstraintViolation:
		return true
	}
	return false
}

// WireCode spells c for a CALLERROR sent to a peer speaking v. Unknown codes become GenericError;
// for 1.6 the typo spellings are used and the codes 1.6 lacks are mapped as documented above.
// Any version other than 1.6 gets the canonical (2.0.1) spelling.
func (v Version) WireCode(c ErrorCode) string {
	if !c.Known() {
		c = GenericError
	}
	if v == V16 {
		switch c {
		case FormatViolation, RPCFrameworkError:
			return "FormationViolation"
		case OccurrenceConstraintViolation:
			return "OccurenceConstraintViolation"
		case MessageTypeNotSupported:
			return string(GenericError)
		}
	}
	return string(c)
}

// ParseErrorCode reads a CALLERROR code as a peer of either version spells it. Both spellings of
// every code are accepted; the result is canonical. ok is false for a string no version defines.
func ParseErrorCode(s string) (ErrorCode, bool) {
	switch s {
	case "FormationViolation":
		return FormatViolation, true
	case "OccurenceConstraintViolation":
		return OccurrenceConstraintViolation, true
	}
	if c := ErrorCode(s); c.Known() {
		return c, true
	}
	return "", false
}

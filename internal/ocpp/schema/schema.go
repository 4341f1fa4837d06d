// Package schema holds OCPP payload schemas in a compact in-memory form and validates raw JSON
// payloads against them without decoding them first. The tables themselves are generated from
// the official OCA JSON schemas into packages v16 and v201 (see internal/ocpp/gen); this package
// only knows the subset of JSON Schema those files use, and judges every payload exactly as a
// general JSON Schema validator (github.com/santhosh-tekuri/jsonschema) judges it against the
// official file. It also describes actions (name, direction, schemas, Go payload types) and
// catalogs of them per protocol version.
//
// It imports the standard library and internal/ocpp only.
package schema

import (
	"strconv"
	"strings"

	"github.com/opencpo/opencpo/internal/ocpp"
)

// Type is the JSON type a schema demands. The zero value, TypeAny, accepts every JSON value and
// makes the other keywords moot (2.0.1 DataTransfer.data has no type).
type Type uint8

const (
	TypeAny Type = iota
	TypeObject
	TypeArray
	TypeString
	TypeInteger
	TypeNumber
	TypeBoolean
)

func (t Type) String() string {
	switch t {
	case TypeAny:
		return "any"
	case TypeObject:
		return "object"
	case TypeArray:
		return "array"
	case TypeString:
		return "string"
	case TypeInteger:
		return "integer"
	case TypeNumber:
		return "number"
	case TypeBoolean:
		return "boolean"
	}
	return "invalid"
}

// Format is a string format assertion. Draft-04 and draft-06 assert formats by default, so a
// malformed date-time is a validation failure, not an annotation.
type Format uint8

const (
	FormatNone Format = iota
	// FormatDateTime is RFC 3339 date-time with a mandatory time-zone offset ("Z" or ±hh:mm).
	FormatDateTime
	// FormatURI is an absolute URI (it has a scheme).
	FormatURI
)

func (f Format) String() string {
	switch f {
	case FormatNone:
		return ""
	case FormatDateTime:
		return "date-time"
	case FormatURI:
		return "uri"
	}
	return "invalid"
}

// Schema is one node of a payload schema. Only the keywords the OCPP schemas use exist here;
// $ref is resolved by the generator, so shared definitions are shared *Schema values.
// Schemas are immutable once built: the generated tables are package-level values that every
// goroutine reads concurrently.
type Schema struct {
	Type Type

	// Object keywords. Properties keep the order of the schema file, which is also the order of
	// the Go struct fields and of the error messages.
	Properties []Property
	// AdditionalProperties mirrors the keyword: false rejects properties not listed. The JSON
	// Schema default is true; the generator writes it out explicitly either way.
	AdditionalProperties bool

	// Array keywords. MaxItems 0 means no limit.
	Items              *Schema
	MinItems, MaxItems int

	// String keywords. MaxLength 0 means no limit; lengths count Unicode code points of the
	// decoded string, as JSON Schema does.
	Enum                 []string
	MinLength, MaxLength int
	Format               Format

	// Number keywords, as the decimal literals of the schema file ("" means absent), so
	// comparisons are exact: 0.1 has no float64 representation and multipleOf 0.1 must hold
	// for 0.3.
	Minimum, Maximum, MultipleOf string
}

// Property is a named member of an object schema.
type Property struct {
	Name     string
	Schema   *Schema
	Required bool
}

// Kind classifies a validation failure; it decides the CALLERROR code.
type Kind uint8

const (
	KindSyntax     Kind = iota + 1 // the payload is not JSON
	KindType                       // a value has the wrong JSON type
	KindRequired                   // a required property is missing
	KindAdditional                 // a property the schema does not allow
	KindEnum                       // a string that is not one of the allowed values
	KindLength                     // a string too long or too short
	KindBounds                     // a number outside minimum/maximum or not a multipleOf
	KindItems                      // an array with too few or too many items
	KindFormat                     // a string that is not a valid date-time/uri
)

func (k Kind) String() string {
	switch k {
	case KindSyntax:
		return "Syntax"
	case KindType:
		return "Type"
	case KindRequired:
		return "Required"
	case KindAdditional:
		return "Additional"
	case KindEnum:
		return "Enum"
	case KindLength:
		return "Length"
	case KindBounds:
		return "Bounds"
	case KindItems:
		return "Items"
	case KindFormat:
		return "Format"
	}
	return "Unknown"
}

// ValidationError is the first problem found in a payload.
type ValidationError struct {
	Kind Kind
	// Path locates the offending value: property names joined by dots, array indexes in
	// brackets ("meterValue[0].sampledValue[1].measurand"). For Required and Additional it is
	// the object that lacks or has the property. Empty means the payload itself.
	Path    string
	Message string
}

func (e *ValidationError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// Code is the CALLERROR code OCPP-J prescribes for this kind of failure. Malformed JSON and
// unknown properties are both "not the format the schema defines", hence FormatViolation.
func (e *ValidationError) Code() ocpp.ErrorCode {
	switch e.Kind {
	case KindSyntax, KindAdditional:
		return ocpp.FormatViolation
	case KindRequired, KindItems:
		return ocpp.OccurrenceConstraintViolation
	case KindType:
		return ocpp.TypeConstraintViolation
	case KindEnum, KindLength, KindBounds, KindFormat:
		return ocpp.PropertyConstraintViolation
	}
	return ocpp.FormatViolation
}

// step is one step from the payload root to the value being validated: a property name, or an
// array index when name is empty.
type step struct {
	name  string
	index int
}

// formatPath renders steps as "a.b[2].c".
func formatPath(steps []step) string {
	var b strings.Builder
	for _, st := range steps {
		if st.name == "" {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(st.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(st.name)
	}
	return b.String()
}

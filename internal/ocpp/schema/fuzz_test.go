package schema

import (
	"errors"
	"regexp"
	"testing"
)

// FuzzValidate feeds arbitrary bytes to Validate. It must never panic, must only return
// *ValidationError, must call a payload malformed exactly when encoding/json does, and must reach
// the reference validator's verdict.
func FuzzValidate(f *testing.F) {
	for _, tt := range validateCases {
		f.Add([]byte(tt.data))
	}
	for _, seed := range []string{
		`{"id":1,"status":"Accepted","custom":{"vendorId":"v","x":[[[[[[{}]]]]]]}}`,
		`{"id":1e999999999999999999999,"status":"Accepted"}`,
		`{"id":1,"status":"Accepted","ratio":1e-999999}`,
		`{"id":1,"status":"Accepted","name":"\ud800\udc00\udbff\udfff\u0000"}`,
		`{"id":1,"status":"Accepted","at":"2024-12-31T23:59:60.5-00:00"}`,
		`{"id":1,"status":"Accepted","url":"http://[::ffff:1.2.3.4]:0/?#"}`,
		"\xef\xbb\xbf{}",
		`{"list":[{"n":1,"n":1,"tags":["a","a"],"tags":[]}],"list":[],"id":0,"status":"Rejected"}`,
	} {
		f.Add([]byte(seed))
	}
	s := testSchema()
	ref := compileReference(f, testSchemaJSON)
	// The reference validator expands numbers with big exponents through math/big, which takes
	// tens of milliseconds each and stalls the fuzzer; such inputs are still checked for panics.
	bigExponent := regexp.MustCompile(`[eE][+-]?0*[0-9]{4}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		err := s.Validate(data)
		var ve *ValidationError
		if err != nil && !errors.As(err, &ve) {
			t.Fatalf("Validate returned %T: %v", err, err)
		}
		if ve != nil && (ve.Kind.String() == "Unknown" || ve.Code() == "" || ve.Message == "") {
			t.Fatalf("incomplete error %#v", ve)
		}
		if bigExponent.Match(data) {
			return
		}
		refSyntax, ok, refErr := referenceVerdict(ref, data)
		if !ok {
			return // the reference validator panicked: no verdict to compare with
		}
		if ourSyntax := ve != nil && ve.Kind == KindSyntax; ourSyntax != refSyntax {
			t.Fatalf("syntax verdicts differ on %q: ours %v, encoding/json %v", data, err, refErr)
		}
		if (err == nil) != (refErr == nil) {
			t.Fatalf("verdicts differ on %q: ours %v, reference %v", data, err, refErr)
		}
	})
}

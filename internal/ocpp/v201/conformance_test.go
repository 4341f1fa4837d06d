package v201

import (
	"strings"
	"testing"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/schema/schematest"
)

// TestConformance judges payloads built from every official 2.0.1 schema (draft-06) with the
// generated tables and with a general JSON Schema validator compiling the official file, and
// requires the same verdict every time.
func TestConformance(t *testing.T) {
	dir := schematest.Dir(t)
	if testing.Short() {
		t.Skip("conformance check skipped in -short mode")
	}
	name := func(base string) (string, bool, bool) {
		if a, ok := strings.CutSuffix(base, "Request"); ok {
			return a, true, true
		}
		if a, ok := strings.CutSuffix(base, "Response"); ok {
			return a, false, true
		}
		return "", false, false
	}
	files := schematest.Files(t, dir, "2.0.1/schemas", name)
	if Catalog().Version() != ocpp.V201 {
		t.Fatalf("catalog version %s", Catalog().Version())
	}
	st := schematest.Check(t, Catalog(), files)
	t.Logf("OCPP 2.0.1: %v", st)
	if st.Schemas != 128 {
		t.Errorf("checked %d schemas, want 128", st.Schemas)
	}
}

package v16

import (
	"strings"
	"testing"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/schema/schematest"
)

// TestConformance judges payloads built from every official 1.6 schema (core, draft-04, and the
// security whitepaper, draft-06) with the generated tables and with a general JSON Schema
// validator compiling the official file, and requires the same verdict every time.
func TestConformance(t *testing.T) {
	dir := schematest.Dir(t)
	if testing.Short() {
		t.Skip("conformance check skipped in -short mode")
	}
	name := func(base string) (string, bool, bool) {
		if a, ok := strings.CutSuffix(base, "Response"); ok {
			return a, false, true
		}
		return base, true, true
	}
	var files []schematest.File
	for _, d := range []string{"1.6/schemas", "1.6/security-schemas"} {
		files = append(files, schematest.Files(t, dir, d, name)...)
	}
	if Catalog().Version() != ocpp.V16 {
		t.Fatalf("catalog version %s", Catalog().Version())
	}
	st := schematest.Check(t, Catalog(), files)
	t.Logf("OCPP 1.6: %v", st)
	if st.Schemas != 78 {
		t.Errorf("checked %d schemas, want 78 (56 core + 22 security)", st.Schemas)
	}
}

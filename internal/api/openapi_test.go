package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestOpenAPICoversRoutes holds the OpenAPI description and the route table together.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	s := &Server{}
	described := 0
	for _, rt := range s.routeTable() {
		ops, ok := doc.Paths[rt.path]
		if !ok {
			t.Errorf("route %s %s is not in openapi.json", rt.method, rt.path)
			continue
		}
		if _, ok := ops[strings.ToLower(rt.method)]; !ok {
			t.Errorf("route %s %s has no %s operation in openapi.json", rt.method, rt.path, strings.ToLower(rt.method))
		}
		described++
	}
	ops := 0
	for _, p := range doc.Paths {
		for m := range p {
			if m != "parameters" {
				ops++
			}
		}
	}
	if ops != described {
		t.Errorf("openapi.json describes %d operations, the API has %d", ops, described)
	}
}

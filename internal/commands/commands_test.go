package commands

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp/schema"
)

// TestTableIsComplete: every command names actions the CSMS may send in that version, and has a
// builder for each (or names the route that carries it).
func TestTableIsComplete(t *testing.T) {
	tbl := New()
	if len(tbl.List()) < 30 {
		t.Fatalf("only %d commands", len(tbl.List()))
	}
	for _, c := range tbl.List() {
		if len(c.Actions) == 0 || c.Summary == "" {
			t.Errorf("%s: no actions or summary", c.Name)
		}
		for version, action := range c.Actions {
			act, ok := tbl.catalogs[version].Lookup(action)
			if !ok || act.Direction&schema.FromCSMS == 0 {
				t.Errorf("%s: %s is not a CSMS-initiated OCPP %s action", c.Name, action, version)
			}
			if c.build[version] == nil && c.Via == "" {
				t.Errorf("%s: no builder for %s", c.Name, version)
			}
		}
	}
}

func TestBuildRefusesBadInput(t *testing.T) {
	tbl := New()
	for _, tc := range []struct {
		command, version, input, field string
	}{
		{"reset", domain.OCPP16, `{"type":"Warm"}`, `"type"`},
		{"reset", domain.OCPP16, `{"type":"Soft","extra":1}`, `"extra"`},
		{"reset", domain.OCPP16, `[1]`, "JSON object"},
		{"getConfiguration", domain.OCPP201, `{"keys":["NoSlash"]}`, `"keys[0]"`},
		{"getVariables", domain.OCPP16, `{}`, "2.0.1"},
		{"getBaseReport", domain.OCPP201, `{"reportBase":"Everything"}`, "reportBase"},
		{"setConfiguration", domain.OCPP16, `{"key":"` + strings.Repeat("k", 51) + `","value":"1"}`, `"key"`},
	} {
		c, _ := tbl.Lookup(tc.command)
		_, _, err := tbl.Build(c, tc.version, json.RawMessage(tc.input))
		if !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s %s: %v; want invalid naming %s", tc.command, tc.input, err, tc.field)
		}
	}
	c, _ := tbl.Lookup("getBaseReport")
	action, payload, err := tbl.Build(c, domain.OCPP201, json.RawMessage(`{"reportBase":"FullInventory"}`))
	if err != nil || action != "GetBaseReport" || !strings.Contains(string(payload), `"requestId":`) {
		t.Fatalf("getBaseReport = %s %s %v", action, payload, err)
	}
}

func TestNormalize(t *testing.T) {
	tbl := New()
	c, _ := tbl.Lookup("setConfiguration")
	r := Normalize(c, "CP", domain.OCPP201, "SetVariables", json.RawMessage(
		`{"setVariableResult":[{"attributeStatus":"RebootRequired","component":{"name":"A","evse":{"id":1}},"variable":{"name":"B"}}]}`))
	if r.Status != "RebootRequired" || !r.Accepted || len(r.Values) != 1 || r.Values[0].Key != "A@1/B" {
		t.Fatalf("%+v", r)
	}
	c, _ = tbl.Lookup("getLocalListVersion")
	r = Normalize(c, "CP", domain.OCPP201, "GetLocalListVersion", json.RawMessage(`{"versionNumber":7}`))
	if r.ListVersion == nil || *r.ListVersion != 7 || !r.Accepted {
		t.Fatalf("%+v", r)
	}
	c, _ = tbl.Lookup("unlockConnector")
	if r := Normalize(c, "CP", domain.OCPP16, "UnlockConnector", json.RawMessage(`{"status":"UnlockFailed"}`)); r.Accepted || r.Status != "UnlockFailed" {
		t.Fatalf("%+v", r)
	}
}

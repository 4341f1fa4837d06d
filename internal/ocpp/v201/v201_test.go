package v201

import (
	"reflect"
	"testing"

	"github.com/opencpo/opencpo/internal/ocpp/schema"
)

func TestCatalog(t *testing.T) {
	cat := Catalog()
	if n := len(cat.Actions()); n != 64 {
		t.Errorf("%d actions, want 64", n)
	}
	station := 0
	for _, a := range cat.Actions() {
		if a.Direction.Has(schema.FromStation) {
			station++
		}
		if a.Request == nil || a.Response == nil {
			t.Errorf("%s: missing schema", a.Name)
		}
		req, resp := reflect.TypeOf(a.NewRequest()), reflect.TypeOf(a.NewResponse())
		if req.String() != "*v201."+a.Name+"Request" || resp.String() != "*v201."+a.Name+"Response" {
			t.Errorf("%s: payload types %v, %v", a.Name, req, resp)
		}
	}
	if station != 25 {
		t.Errorf("%d actions sent by the station, want 25", station)
	}
	if a, _ := cat.Lookup("DataTransfer"); a.Direction != schema.FromStation|schema.FromCSMS {
		t.Errorf("DataTransfer direction %v", a.Direction)
	}
}

// CustomDataType is the one object that accepts properties it does not declare.
func TestCustomDataAllowsExtras(t *testing.T) {
	a, _ := Catalog().Lookup("Heartbeat")
	if err := a.Request.Validate([]byte(`{"customData":{"vendorId":"acme","firmwareHash":"ab12","nested":{"x":[1]}}}`)); err != nil {
		t.Errorf("extras in customData: %v", err)
	}
	err := a.Request.Validate([]byte(`{"customData":{"vendorId":"acme"},"extra":1}`))
	if ve, ok := err.(*schema.ValidationError); !ok || ve.Kind != schema.KindAdditional {
		t.Errorf("extras next to customData: %v", err)
	}
	if err := a.Request.Validate([]byte(`{"customData":{}}`)); err == nil {
		t.Error("customData without vendorId must fail")
	}
}

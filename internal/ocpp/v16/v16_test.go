package v16

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/opencpo/opencpo/internal/ocpp/schema"
)

func TestCatalog(t *testing.T) {
	cat := Catalog()
	if n := len(cat.Actions()); n != 39 {
		t.Errorf("%d actions, want 39 (28 core + 11 security)", n)
	}
	for name, want := range map[string]schema.Direction{
		"BootNotification":          schema.FromStation,
		"DataTransfer":              schema.FromStation | schema.FromCSMS,
		"SecurityEventNotification": schema.FromStation,
		"SignedUpdateFirmware":      schema.FromCSMS,
		"RemoteStartTransaction":    schema.FromCSMS,
	} {
		a, ok := cat.Lookup(name)
		if !ok || a.Direction != want {
			t.Errorf("%s: %v, %v; want direction %v", name, a, ok, want)
		}
	}
	for _, a := range cat.Actions() {
		if a.Request == nil || a.Response == nil {
			t.Errorf("%s: missing schema", a.Name)
		}
		req, resp := reflect.TypeOf(a.NewRequest()), reflect.TypeOf(a.NewResponse())
		if req.String() != "*v16."+a.Name+"Request" || resp.String() != "*v16."+a.Name+"Response" {
			t.Errorf("%s: payload types %v, %v", a.Name, req, resp)
		}
	}
}

func Example() {
	a, _ := Catalog().Lookup("Authorize")
	payload := []byte(`{"idTagInfo":{"status":"Accepted","parentIdTag":"FLEET-7"}}`)
	if err := a.Response.Validate(payload); err != nil {
		fmt.Println(err)
		return
	}
	resp := a.NewResponse().(*AuthorizeResponse)
	if err := json.Unmarshal(payload, resp); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.IdTagInfo.Status == IdTagInfoStatusAccepted, resp.IdTagInfo.ParentIdTag)

	err := a.Response.Validate([]byte(`{"idTagInfo":{"status":"Unknown"}}`))
	fmt.Println(err, "→", err.(*schema.ValidationError).Code())
	// Output:
	// true FLEET-7
	// idTagInfo.status: value "Unknown" is not one of Accepted, Blocked, Expired, Invalid, ConcurrentTx → PropertyConstraintViolation
}

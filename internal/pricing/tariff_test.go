package pricing

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/opencpo/opencpo/internal/domain"
)

func TestTariffJSONRoundTrip(t *testing.T) {
	tf := decodeTariff(t, ocpiComplex)
	if tf.Currency != "EUR" || len(tf.Elements) != 6 || tf.Elements[1].Restrictions.MaxCurrent.String() != "32" ||
		tf.Elements[4].Restrictions.StartTime != "09:00" || tf.Elements[0].PriceComponents[0].Vat.String() != "15" {
		t.Fatalf("decoded %+v", tf)
	}
	out, err := json.Marshal(tf)
	if err != nil {
		t.Fatal(err)
	}
	// OCPI numbers stay JSON numbers, names stay snake_case.
	for _, want := range []string{`"price":2.5`, `"step_size":900`, `"max_current":32`, `"day_of_week":["SATURDAY"]`, `"price_components"`, `"last_updated":"2015-06-29T20:39:09Z"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("encoded tariff lacks %s: %s", want, out)
		}
	}
	var back Tariff
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if string(again) != string(out) {
		t.Errorf("round trip changed the tariff:\n%s\n%s", out, again)
	}
}

func TestNumberJSON(t *testing.T) {
	var n struct{ A, B Number }
	if err := json.Unmarshal([]byte(`{"A": 0.1, "B": "0.2"}`), &n); err != nil {
		t.Fatal(err)
	}
	if n.A.Add(n.B.Decimal).String() != "0.3" { // exact, unlike float64
		t.Errorf("0.1 + 0.2 = %s", n.A.Add(n.B.Decimal))
	}
	if err := json.Unmarshal([]byte(`{"A": true}`), &n); err == nil {
		t.Error("a bool decoded as a number")
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name, js, want string
	}{
		{"currency lower case", `{"currency":"eur","elements":[{"price_components":[{"type":"FLAT","price":1,"step_size":0}]}]}`, "currency: must be an ISO 4217 code"},
		{"currency unknown", `{"currency":"XYZ","elements":[{"price_components":[{"type":"FLAT","price":1,"step_size":0}]}]}`, "XYZ is not a currency"},
		{"no elements", `{"currency":"EUR","elements":[]}`, "elements: at least one tariff element"},
		{"no components", `{"currency":"EUR","elements":[{"price_components":[]}]}`, "elements[0].price_components: at least one"},
		{"bad type", `{"currency":"EUR","elements":[{"price_components":[{"type":"KWH","price":1,"step_size":0}]}]}`, `elements[0].price_components[0].type: must be one of`},
		{"negative price", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":-1,"step_size":0}]}]}`, "price: must not be negative"},
		{"vat over 100", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"vat":101,"step_size":0}]}]}`, "vat: must be between 0 and 100"},
		{"negative step", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":-5}]}]}`, "step_size: must not be negative"},
		{"bad time", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":0}],"restrictions":{"start_time":"9:00"}}]}`, "start_time: must be HH:MM"},
		{"24:00", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":0}],"restrictions":{"end_time":"24:00"}}]}`, "end_time: must be HH:MM"},
		{"same times", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":0}],"restrictions":{"start_time":"10:00","end_time":"10:00"}}]}`, "end_time: must differ"},
		{"bad date", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":0}],"restrictions":{"start_date":"2025-02-30"}}]}`, "start_date: must be a date"},
		{"dates reversed", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":0}],"restrictions":{"start_date":"2025-03-01","end_date":"2025-03-01"}}]}`, "end_date: must be after start_date"},
		{"min kwh over max", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":0}],"restrictions":{"min_kwh":10,"max_kwh":5}}]}`, "min_kwh: must not exceed max_kwh"},
		{"min power over max", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":0}],"restrictions":{"min_power":50,"max_power":22}}]}`, "min_power: must not exceed max_power"},
		{"min current over max", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":0}],"restrictions":{"min_current":40,"max_current":16}}]}`, "min_current: must not exceed"},
		{"durations", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":0}],"restrictions":{"min_duration":3600,"max_duration":60}}]}`, "min_duration: must not exceed max_duration"},
		{"weekday", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":0}],"restrictions":{"day_of_week":["MON"]}}]}`, `"MON" is not one of`},
		{"weekday twice", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":0}],"restrictions":{"day_of_week":["MONDAY","MONDAY"]}}]}`, "MONDAY is listed twice"},
		{"reservation", `{"currency":"EUR","elements":[{"price_components":[{"type":"TIME","price":1,"step_size":0}],"restrictions":{"reservation":"YES"}}]}`, "reservation: must be"},
		{"min over max price", `{"currency":"EUR","min_price":{"excl_vat":10},"max_price":{"excl_vat":5},"elements":[{"price_components":[{"type":"FLAT","price":1,"step_size":0}]}]}`, "min_price.excl_vat: must not exceed"},
		{"incl below excl", `{"currency":"EUR","max_price":{"excl_vat":10,"incl_vat":9},"elements":[{"price_components":[{"type":"FLAT","price":1,"step_size":0}]}]}`, "max_price.incl_vat: must not be less"},
		{"tariff type", `{"currency":"EUR","type":"CHEAP","elements":[{"price_components":[{"type":"FLAT","price":1,"step_size":0}]}]}`, "type: must be one of AD_HOC_PAYMENT"},
		{"validity", `{"currency":"EUR","start_date_time":"2025-02-01T00:00:00Z","end_date_time":"2025-01-01T00:00:00Z","elements":[{"price_components":[{"type":"FLAT","price":1,"step_size":0}]}]}`, "end_date_time: must be after"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tf Tariff
			if err := json.Unmarshal([]byte(c.js), &tf); err != nil {
				t.Fatal(err)
			}
			err := tf.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want it to say %q", err, c.want)
			}
			if !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("%v is not ErrInvalid", err)
			}
			if _, err := Price(tf, Timeline{}); !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("Price accepted an invalid tariff: %v", err)
			}
		})
	}
	// Every problem is reported at once.
	var tf Tariff
	_ = json.Unmarshal([]byte(`{"currency":"EURO","elements":[{"price_components":[{"type":"ENERGY","price":-1,"vat":200,"step_size":0}]}]}`), &tf)
	if err := tf.Validate(); err == nil || strings.Count(err.Error(), ";") != 2 {
		t.Errorf("want three problems, got %v", err)
	}
	// Every OCPI example is valid.
	for _, g := range goldenVectors(t) {
		decodeTariff(t, g.tariff)
	}
}

func TestMinorUnits(t *testing.T) {
	for cur, want := range map[string]int32{"EUR": 2, "HUF": 2, "JPY": 0, "KWD": 3, "CHF": 2, "SEK": 2} {
		if got, ok := MinorUnits(cur); !ok || got != want {
			t.Errorf("%s: %d %v, want %d", cur, got, ok, want)
		}
	}
	if _, ok := MinorUnits("XXX"); ok {
		t.Error("XXX known")
	}
}

package v16

import (
	"encoding/json"
	"testing"
)

// meterValues is a typical periodic MeterValues of a three-phase AC charger: two samples of
// eleven measurands each.
var meterValues = []byte(`{"connectorId":1,"transactionId":123456,"meterValue":[` +
	sample("2024-05-14T10:15:00Z") + `,` + sample("2024-05-14T10:16:00Z") + `]}`)

func sample(ts string) string {
	return `{"timestamp":"` + ts + `","sampledValue":[
 {"value":"15234.5","context":"Sample.Periodic","format":"Raw","measurand":"Energy.Active.Import.Register","location":"Outlet","unit":"Wh"},
 {"value":"11040","context":"Sample.Periodic","measurand":"Power.Active.Import","location":"Outlet","unit":"W"},
 {"value":"16.0","context":"Sample.Periodic","measurand":"Current.Import","phase":"L1","location":"Outlet","unit":"A"},
 {"value":"16.1","context":"Sample.Periodic","measurand":"Current.Import","phase":"L2","location":"Outlet","unit":"A"},
 {"value":"15.9","context":"Sample.Periodic","measurand":"Current.Import","phase":"L3","location":"Outlet","unit":"A"},
 {"value":"230.1","context":"Sample.Periodic","measurand":"Voltage","phase":"L1-N","location":"Outlet","unit":"V"},
 {"value":"229.8","context":"Sample.Periodic","measurand":"Voltage","phase":"L2-N","location":"Outlet","unit":"V"},
 {"value":"231.0","context":"Sample.Periodic","measurand":"Voltage","phase":"L3-N","location":"Outlet","unit":"V"},
 {"value":"32","context":"Sample.Periodic","measurand":"Current.Offered","location":"Outlet","unit":"A"},
 {"value":"41","context":"Sample.Periodic","measurand":"Temperature","location":"Body","unit":"Celsius"},
 {"value":"67","context":"Sample.Periodic","measurand":"SoC","location":"EV","unit":"Percent"}]}`
}

func BenchmarkValidateMeterValues(b *testing.B) {
	a, _ := Catalog().Lookup("MeterValues")
	if err := a.Request.Validate(meterValues); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(meterValues)))
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Request.Validate(meterValues); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeMeterValues is the decoding that follows validation, for scale.
func BenchmarkDecodeMeterValues(b *testing.B) {
	b.SetBytes(int64(len(meterValues)))
	b.ReportAllocs()
	for b.Loop() {
		var req MeterValuesRequest
		if err := json.Unmarshal(meterValues, &req); err != nil {
			b.Fatal(err)
		}
	}
}

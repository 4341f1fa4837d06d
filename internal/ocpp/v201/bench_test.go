package v201

import (
	"encoding/json"
	"testing"
)

// transactionEvent is a typical periodic TransactionEvent of a three-phase AC charger.
var transactionEvent = []byte(`{"eventType":"Updated","timestamp":"2024-05-14T10:16:00.000Z","triggerReason":"MeterValuePeriodic",
 "seqNo":17,"offline":false,"numberOfPhasesUsed":3,
 "transactionInfo":{"transactionId":"b7c1e0a4-6d3f-4a8e-9f0b-2c5d7e9a1b3c","chargingState":"Charging","timeSpentCharging":3600},
 "evse":{"id":1,"connectorId":1},
 "idToken":{"idToken":"04A1B2C3D4E5F6","type":"ISO14443"},
 "meterValue":[{"timestamp":"2024-05-14T10:16:00.000Z","sampledValue":[
  {"value":15234.5,"context":"Sample.Periodic","measurand":"Energy.Active.Import.Register","location":"Outlet","unitOfMeasure":{"unit":"Wh","multiplier":0}},
  {"value":11040,"context":"Sample.Periodic","measurand":"Power.Active.Import","location":"Outlet","unitOfMeasure":{"unit":"W"}},
  {"value":16.0,"context":"Sample.Periodic","measurand":"Current.Import","phase":"L1","location":"Outlet","unitOfMeasure":{"unit":"A"}},
  {"value":16.1,"context":"Sample.Periodic","measurand":"Current.Import","phase":"L2","location":"Outlet","unitOfMeasure":{"unit":"A"}},
  {"value":15.9,"context":"Sample.Periodic","measurand":"Current.Import","phase":"L3","location":"Outlet","unitOfMeasure":{"unit":"A"}},
  {"value":230.1,"context":"Sample.Periodic","measurand":"Voltage","phase":"L1-N","location":"Outlet","unitOfMeasure":{"unit":"V"}},
  {"value":229.8,"context":"Sample.Periodic","measurand":"Voltage","phase":"L2-N","location":"Outlet","unitOfMeasure":{"unit":"V"}},
  {"value":231.0,"context":"Sample.Periodic","measurand":"Voltage","phase":"L3-N","location":"Outlet","unitOfMeasure":{"unit":"V"}},
  {"value":67,"context":"Sample.Periodic","measurand":"SoC","location":"EV","unitOfMeasure":{"unit":"Percent"}}]}]}`)

func BenchmarkValidateTransactionEvent(b *testing.B) {
	a, _ := Catalog().Lookup("TransactionEvent")
	if err := a.Request.Validate(transactionEvent); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(transactionEvent)))
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Request.Validate(transactionEvent); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeTransactionEvent is the decoding that follows validation, for scale.
func BenchmarkDecodeTransactionEvent(b *testing.B) {
	b.SetBytes(int64(len(transactionEvent)))
	b.ReportAllocs()
	for b.Loop() {
		var req TransactionEventRequest
		if err := json.Unmarshal(transactionEvent, &req); err != nil {
			b.Fatal(err)
		}
	}
}

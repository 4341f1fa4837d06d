package main

import (
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp/schema"
	v16 "github.com/opencpo/opencpo/internal/ocpp/v16"
	v201 "github.com/opencpo/opencpo/internal/ocpp/v201"
)

type actionSample struct {
	version, action, payload string
}

// stationActionSamples holds one valid payload for every action a station sends, both versions.
func stationActionSamples() []actionSample {
	now := time.Now().UTC().Format(time.RFC3339)
	return []actionSample{
		{"1.6", "Authorize", `{"idTag":"UNKNOWN-1"}`},
		{"1.6", "BootNotification", `{"chargePointVendor":"V","chargePointModel":"M"}`},
		{"1.6", "DataTransfer", `{"vendorId":"com.example","messageId":"x","data":"{}"}`},
		{"1.6", "DiagnosticsStatusNotification", `{"status":"Uploaded"}`},
		{"1.6", "FirmwareStatusNotification", `{"status":"Installed"}`},
		{"1.6", "Heartbeat", `{}`},
		{"1.6", "MeterValues", `{"connectorId":0,"meterValue":[{"timestamp":"` + now + `","sampledValue":[{"value":"12.5","measurand":"Energy.Active.Import.Register","unit":"kWh","context":"Sample.Clock"}]}]}`},
		{"1.6", "StartTransaction", `{"connectorId":1,"idTag":"UNKNOWN-1","meterStart":100,"timestamp":"` + now + `"}`},
		{"1.6", "StatusNotification", `{"connectorId":1,"errorCode":"NoError","status":"Preparing"}`},
		{"1.6", "StopTransaction", `{"transactionId":999999,"meterStop":200,"timestamp":"` + now + `","reason":"Local"}`},
		{"1.6", "LogStatusNotification", `{"status":"Uploaded","requestId":1}`},
		{"1.6", "SecurityEventNotification", `{"type":"StartupOfTheDevice","timestamp":"` + now + `"}`},
		{"1.6", "SignCertificate", `{"csr":"-----BEGIN CERTIFICATE REQUEST-----"}`},
		{"1.6", "SignedFirmwareStatusNotification", `{"status":"SignatureVerified","requestId":1}`},

		{"2.0.1", "Authorize", `{"idToken":{"idToken":"UNKNOWN-1","type":"ISO14443"}}`},
		{"2.0.1", "BootNotification", `{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}}`},
		{"2.0.1", "ClearedChargingLimit", `{"chargingLimitSource":"EMS"}`},
		{"2.0.1", "DataTransfer", `{"vendorId":"com.example"}`},
		{"2.0.1", "FirmwareStatusNotification", `{"status":"Installed"}`},
		{"2.0.1", "Get15118EVCertificate", `{"iso15118SchemaVersion":"urn:iso:15118:2:2013:MsgDef","action":"Install","exiRequest":"AAAA"}`},
		{"2.0.1", "GetCertificateStatus", `{"ocspRequestData":{"hashAlgorithm":"SHA256","issuerNameHash":"a","issuerKeyHash":"b","serialNumber":"c","responderURL":"http://ocsp.example"}}`},
		{"2.0.1", "Heartbeat", `{}`},
		{"2.0.1", "LogStatusNotification", `{"status":"Uploaded","requestId":1}`},
		{"2.0.1", "MeterValues", `{"evseId":1,"meterValue":[{"timestamp":"` + now + `","sampledValue":[{"value":1200.5}]}]}`},
		{"2.0.1", "NotifyChargingLimit", `{"chargingLimit":{"chargingLimitSource":"EMS"}}`},
		{"2.0.1", "NotifyCustomerInformation", `{"data":"none","seqNo":0,"generatedAt":"` + now + `","requestId":1}`},
		{"2.0.1", "NotifyDisplayMessages", `{"requestId":1}`},
		{"2.0.1", "NotifyEVChargingNeeds", `{"evseId":1,"chargingNeeds":{"requestedEnergyTransfer":"AC_three_phase"}}`},
		{"2.0.1", "NotifyEVChargingSchedule", `{"timeBase":"` + now + `","evseId":1,"chargingSchedule":{"id":1,"chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":11000}]}}`},
		{"2.0.1", "NotifyEvent", `{"generatedAt":"` + now + `","seqNo":0,"eventData":[{"eventId":1,"timestamp":"` + now + `","trigger":"Delta","actualValue":"Faulted","eventNotificationType":"HardWiredNotification","component":{"name":"Connector"},"variable":{"name":"AvailabilityState"}}]}`},
		{"2.0.1", "NotifyMonitoringReport", `{"requestId":1,"seqNo":0,"generatedAt":"` + now + `"}`},
		{"2.0.1", "NotifyReport", `{"requestId":1,"generatedAt":"` + now + `","seqNo":0}`},
		{"2.0.1", "PublishFirmwareStatusNotification", `{"status":"Published","location":["http://fw.example/1.bin"],"requestId":1}`},
		{"2.0.1", "ReportChargingProfiles", `{"requestId":1,"chargingLimitSource":"CSO","evseId":1,"chargingProfile":[{"id":1,"stackLevel":0,"chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute","chargingSchedule":[{"id":1,"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":16}]}]}]}`},
		{"2.0.1", "ReservationStatusUpdate", `{"reservationId":1,"reservationUpdateStatus":"Expired"}`},
		{"2.0.1", "SecurityEventNotification", `{"type":"SettingSystemTime","timestamp":"` + now + `"}`},
		{"2.0.1", "SignCertificate", `{"csr":"-----BEGIN CERTIFICATE REQUEST-----"}`},
		{"2.0.1", "StatusNotification", `{"timestamp":"` + now + `","connectorStatus":"Available","evseId":1,"connectorId":1}`},
		{"2.0.1", "TransactionEvent", `{"eventType":"Started","timestamp":"` + now + `","triggerReason":"CablePluggedIn","seqNo":0,"transactionInfo":{"transactionId":"TX-SAMPLE"},"evse":{"id":1,"connectorId":1}}`},
	}
}

// TestSamplesCoverEveryStationAction keeps stationActionSamples complete: a new station→CSMS
// action in the generated catalogs must get a sample, and so an end-to-end answer check.
func TestSamplesCoverEveryStationAction(t *testing.T) {
	have := map[string]bool{}
	for _, s := range stationActionSamples() {
		have[s.version+"/"+s.action] = true
	}
	for _, cat := range []*schema.Catalog{v16.Catalog(), v201.Catalog()} {
		for _, a := range cat.Actions() {
			if a.Direction.Has(schema.FromStation) && !have[string(cat.Version())+"/"+a.Name] {
				t.Errorf("no sample for OCPP %s %s", cat.Version(), a.Name)
			}
		}
	}
}

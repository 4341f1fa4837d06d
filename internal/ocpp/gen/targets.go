package main

// A target is one generated package and the schema folders it is made from.
type target struct {
	pkg        string // package name and folder: v16, v201
	version    string // ocpp.Version constant: V16, V201
	title      string // for comments: "OCPP 1.6"
	dirs       []string
	directions map[string]direction
	// requestType and responseType map a schema file name (without .json) to the action it
	// belongs to, or return "" if the file is not of that kind.
	requestFile  func(file string) (action string)
	responseFile func(file string) (action string)
}

type direction uint8

const (
	fromStation direction = 1 << iota
	fromCSMS
	both = fromStation | fromCSMS
)

func (d direction) expr() string {
	switch d {
	case fromStation:
		return "schema.FromStation"
	case fromCSMS:
		return "schema.FromCSMS"
	}
	return "schema.FromStation | schema.FromCSMS"
}

func targets0() []*target {
	return []*target{
		{
			pkg:     "v16",
			version: "V16",
			title:   "OCPP 1.6",
			dirs:    []string{"1.6/schemas", "1.6/security-schemas"},
			// Who sends which request is protocol knowledge the schemas do not carry: OCPP 1.6
			// edition 2 §4 and §5, and the security whitepaper edition 3. Every action of the
			// schema folders must be listed, and every listed action must have both files.
			directions: map[string]direction{
				// Core, initiated by the charge point.
				"Authorize":                     fromStation,
				"BootNotification":              fromStation,
				"DataTransfer":                  both,
				"DiagnosticsStatusNotification": fromStation,
				"FirmwareStatusNotification":    fromStation,
				"Heartbeat":                     fromStation,
				"MeterValues":                   fromStation,
				"StartTransaction":              fromStation,
				"StatusNotification":            fromStation,
				"StopTransaction":               fromStation,
				// Core, initiated by the central system.
				"CancelReservation":      fromCSMS,
				"ChangeAvailability":     fromCSMS,
				"ChangeConfiguration":    fromCSMS,
				"ClearCache":             fromCSMS,
				"ClearChargingProfile":   fromCSMS,
				"GetCompositeSchedule":   fromCSMS,
				"GetConfiguration":       fromCSMS,
				"GetDiagnostics":         fromCSMS,
				"GetLocalListVersion":    fromCSMS,
				"RemoteStartTransaction": fromCSMS,
				"RemoteStopTransaction":  fromCSMS,
				"ReserveNow":             fromCSMS,
				"Reset":                  fromCSMS,
				"SendLocalList":          fromCSMS,
				"SetChargingProfile":     fromCSMS,
				"TriggerMessage":         fromCSMS,
				"UnlockConnector":        fromCSMS,
				"UpdateFirmware":         fromCSMS,
				// Security whitepaper, initiated by the charge point.
				"LogStatusNotification":            fromStation,
				"SecurityEventNotification":        fromStation,
				"SignCertificate":                  fromStation,
				"SignedFirmwareStatusNotification": fromStation,
				// Security whitepaper, initiated by the central system.
				"CertificateSigned":          fromCSMS,
				"DeleteCertificate":          fromCSMS,
				"ExtendedTriggerMessage":     fromCSMS,
				"GetInstalledCertificateIds": fromCSMS,
				"GetLog":                     fromCSMS,
				"InstallCertificate":         fromCSMS,
				"SignedUpdateFirmware":       fromCSMS,
			},
			// 1.6 names request files after the action and response files with a suffix.
			requestFile: func(f string) string {
				if hasSuffix(f, "Response") {
					return ""
				}
				return f
			},
			responseFile: func(f string) string { return trimSuffix(f, "Response") },
		},
		{
			pkg:     "v201",
			version: "V201",
			title:   "OCPP 2.0.1",
			dirs:    []string{"2.0.1/schemas"},
			// OCPP 2.0.1 Part 2: the messages a charging station initiates; all others are
			// initiated by the CSMS. DataTransfer goes both ways.
			directions: map[string]direction{
				"Authorize":                         fromStation,
				"BootNotification":                  fromStation,
				"ClearedChargingLimit":              fromStation,
				"DataTransfer":                      both,
				"FirmwareStatusNotification":        fromStation,
				"Get15118EVCertificate":             fromStation,
				"GetCertificateStatus":              fromStation,
				"Heartbeat":                         fromStation,
				"LogStatusNotification":             fromStation,
				"MeterValues":                       fromStation,
				"NotifyChargingLimit":               fromStation,
				"NotifyCustomerInformation":         fromStation,
				"NotifyDisplayMessages":             fromStation,
				"NotifyEVChargingNeeds":             fromStation,
				"NotifyEVChargingSchedule":          fromStation,
				"NotifyEvent":                       fromStation,
				"NotifyMonitoringReport":            fromStation,
				"NotifyReport":                      fromStation,
				"PublishFirmwareStatusNotification": fromStation,
				"ReportChargingProfiles":            fromStation,
				"ReservationStatusUpdate":           fromStation,
				"SecurityEventNotification":         fromStation,
				"SignCertificate":                   fromStation,
				"StatusNotification":                fromStation,
				"TransactionEvent":                  fromStation,

				"CancelReservation":          fromCSMS,
				"CertificateSigned":          fromCSMS,
				"ChangeAvailability":         fromCSMS,
				"ClearCache":                 fromCSMS,
				"ClearChargingProfile":       fromCSMS,
				"ClearDisplayMessage":        fromCSMS,
				"ClearVariableMonitoring":    fromCSMS,
				"CostUpdated":                fromCSMS,
				"CustomerInformation":        fromCSMS,
				"DeleteCertificate":          fromCSMS,
				"GetBaseReport":              fromCSMS,
				"GetChargingProfiles":        fromCSMS,
				"GetCompositeSchedule":       fromCSMS,
				"GetDisplayMessages":         fromCSMS,
				"GetInstalledCertificateIds": fromCSMS,
				"GetLocalListVersion":        fromCSMS,
				"GetLog":                     fromCSMS,
				"GetMonitoringReport":        fromCSMS,
				"GetReport":                  fromCSMS,
				"GetTransactionStatus":       fromCSMS,
				"GetVariables":               fromCSMS,
				"InstallCertificate":         fromCSMS,
				"PublishFirmware":            fromCSMS,
				"RequestStartTransaction":    fromCSMS,
				"RequestStopTransaction":     fromCSMS,
				"ReserveNow":                 fromCSMS,
				"Reset":                      fromCSMS,
				"SendLocalList":              fromCSMS,
				"SetChargingProfile":         fromCSMS,
				"SetDisplayMessage":          fromCSMS,
				"SetMonitoringBase":          fromCSMS,
				"SetMonitoringLevel":         fromCSMS,
				"SetNetworkProfile":          fromCSMS,
				"SetVariableMonitoring":      fromCSMS,
				"SetVariables":               fromCSMS,
				"TriggerMessage":             fromCSMS,
				"UnlockConnector":            fromCSMS,
				"UnpublishFirmware":          fromCSMS,
				"UpdateFirmware":             fromCSMS,
			},
			requestFile:  func(f string) string { return trimSuffix(f, "Request") },
			responseFile: func(f string) string { return trimSuffix(f, "Response") },
		},
	}
}

func hasSuffix(s, suffix string) bool {
	return len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix
}

// trimSuffix returns s without suffix, or "" if s does not end in it.
func trimSuffix(s, suffix string) string {
	if !hasSuffix(s, suffix) {
		return ""
	}
	return s[:len(s)-len(suffix)]
}

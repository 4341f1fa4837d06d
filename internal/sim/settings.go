package sim

import (
	"strconv"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
)

// Configuration: OCPP 1.6 configuration keys and the OCPP 2.0.1 device model, as tables. The
// tables are never modified; a station keeps only the values of the writable entries.

type settingID uint8

const (
	settingNone settingID = iota
	settingHeartbeatInterval
	settingMeterInterval
	settingAuthorizeRemote
	settingLocalAuthorizeOffline
	settingStopOnInvalid
)

type valueKind uint8

const (
	kindString valueKind = iota
	kindInt
	kindBool
	kindDecimal
	kindList // comma-separated (1.6 CSL, 2.0.1 MemberList/SequenceList)
)

type scope uint8

const (
	scopeStation   scope = iota // 1.6 keys; 2.0.1 components without an EVSE
	scopeEVSE                   // 2.0.1 component "EVSE", evse.id = n
	scopeConnector              // 2.0.1 component "Connector", evse.id = n, connectorId = 1
)

type setting struct {
	component string // 2.0.1 component name ("" for 1.6)
	name      string // 1.6 key or 2.0.1 variable name
	instance  string // 2.0.1 variable instance
	scope     scope
	readonly  bool
	kind      valueKind
	unit      string
	use       settingID
	def       func(s *Station) string          // initial value of a stored setting
	get       func(s *Station, e *evse) string // live value; nil means stored
}

func constant(v string) func(*Station) string { return func(*Station) string { return v } }

func heartbeatDefault(s *Station) string {
	return strconv.Itoa(int(s.heartbeat / time.Second))
}

func meterDefault(s *Station) string {
	return strconv.Itoa(int(s.cfg.MeterInterval / time.Second))
}

func connectorCount(s *Station, _ *evse) string { return strconv.Itoa(len(s.evses)) }

func sampledMeasurands(s *Station) string {
	m := "Energy.Active.Import.Register,Power.Active.Import,Current.Import"
	for _, e := range s.evses {
		if e.spec.DC {
			return m + ",SoC"
		}
	}
	return m
}

// settings16 are the OCPP 1.6 configuration keys (edition 2 §9.1 core, §9.4 smart charging).
var settings16 = []setting{
	{name: "AllowOfflineTxForUnknownId", kind: kindBool, def: constant("false")},
	{name: "AuthorizationCacheEnabled", kind: kindBool, def: constant("false")},
	{name: "AuthorizeRemoteTxRequests", kind: kindBool, use: settingAuthorizeRemote, def: constant("false")},
	{name: "ClockAlignedDataInterval", kind: kindInt, def: constant("0")},
	{name: "ConnectionTimeOut", kind: kindInt, def: constant("90")},
	{name: "ConnectorPhaseRotation", kind: kindList, def: constant("0.RST")},
	{name: "GetConfigurationMaxKeys", readonly: true, kind: kindInt, get: func(*Station, *evse) string { return "50" }},
	{name: "HeartbeatInterval", kind: kindInt, use: settingHeartbeatInterval, def: heartbeatDefault},
	{name: "LocalAuthorizeOffline", kind: kindBool, use: settingLocalAuthorizeOffline, def: constant("true")},
	{name: "LocalPreAuthorize", kind: kindBool, def: constant("false")},
	{name: "MeterValuesAlignedData", kind: kindList, def: constant("Energy.Active.Import.Register")},
	{name: "MeterValuesSampledData", kind: kindList, def: sampledMeasurands},
	{name: "MeterValueSampleInterval", kind: kindInt, use: settingMeterInterval, def: meterDefault},
	{name: "NumberOfConnectors", readonly: true, kind: kindInt, get: connectorCount},
	{name: "ResetRetries", kind: kindInt, def: constant("3")},
	{name: "StopTransactionOnEVSideDisconnect", kind: kindBool, def: constant("true")},
	{name: "StopTransactionOnInvalidId", kind: kindBool, use: settingStopOnInvalid, def: constant("true")},
	{name: "StopTxnAlignedData", kind: kindList, def: constant("")},
	{name: "StopTxnSampledData", kind: kindList, def: constant("Energy.Active.Import.Register")},
	{name: "SupportedFeatureProfiles", readonly: true, kind: kindList, get: func(*Station, *evse) string { return "Core,RemoteTrigger,SmartCharging" }},
	{name: "TransactionMessageAttempts", kind: kindInt, def: constant(strconv.Itoa(maxAttempts))},
	{name: "TransactionMessageRetryInterval", kind: kindInt, def: constant("30")},
	{name: "UnlockConnectorOnEVSideDisconnect", kind: kindBool, def: constant("true")},
	{name: "WebSocketPingInterval", kind: kindInt, def: constant("0")},
	{name: "ChargeProfileMaxStackLevel", readonly: true, kind: kindInt, get: func(*Station, *evse) string { return "10" }},
	{name: "ChargingScheduleAllowedChargingRateUnit", readonly: true, kind: kindList, get: func(*Station, *evse) string { return "Current,Power" }},
	{name: "ChargingScheduleMaxPeriods", readonly: true, kind: kindInt, get: func(*Station, *evse) string { return "24" }},
	{name: "MaxChargingProfilesInstalled", readonly: true, kind: kindInt, get: func(*Station, *evse) string { return "10" }},
}

func availability201(s *Station, e *evse) string {
	if e == nil {
		if s.inoperative {
			return "Unavailable"
		}
		return "Available"
	}
	return s.proto.status(e)
}

func readOnly(v string) func(*Station, *evse) string {
	return func(*Station, *evse) string { return v }
}

// settings201 is the OCPP 2.0.1 device model the simulator reports (part 2 appendices,
// standardized components and variables; a small but coherent subset).
var settings201 = []setting{
	{component: "OCPPCommCtrlr", name: "HeartbeatInterval", kind: kindInt, unit: "s", use: settingHeartbeatInterval, def: heartbeatDefault},
	{component: "OCPPCommCtrlr", name: "OfflineThreshold", kind: kindInt, unit: "s", def: constant("300")},
	{component: "OCPPCommCtrlr", name: "MessageAttempts", instance: "TransactionEvent", kind: kindInt, def: constant(strconv.Itoa(maxAttempts))},
	{component: "OCPPCommCtrlr", name: "MessageAttemptInterval", instance: "TransactionEvent", kind: kindInt, unit: "s", def: constant("30")},
	{component: "OCPPCommCtrlr", name: "MessageTimeout", instance: "Default", readonly: true, kind: kindInt, unit: "s", get: func(s *Station, _ *evse) string { return strconv.Itoa(int(s.cfg.CallTimeout / time.Second)) }},
	{component: "OCPPCommCtrlr", name: "ResetRetries", kind: kindInt, def: constant("3")},
	{component: "SampledDataCtrlr", name: "Enabled", readonly: true, kind: kindBool, get: readOnly("true")},
	{component: "SampledDataCtrlr", name: "TxUpdatedInterval", kind: kindInt, unit: "s", use: settingMeterInterval, def: meterDefault},
	{component: "SampledDataCtrlr", name: "TxUpdatedMeasurands", kind: kindList, def: sampledMeasurands},
	{component: "SampledDataCtrlr", name: "TxStartedMeasurands", kind: kindList, def: constant("Energy.Active.Import.Register")},
	{component: "SampledDataCtrlr", name: "TxEndedMeasurands", kind: kindList, def: constant("Energy.Active.Import.Register")},
	{component: "SampledDataCtrlr", name: "TxEndedInterval", kind: kindInt, unit: "s", def: constant("0")},
	{component: "AlignedDataCtrlr", name: "Interval", kind: kindInt, unit: "s", def: constant("0")},
	{component: "AlignedDataCtrlr", name: "Measurands", kind: kindList, def: constant("Energy.Active.Import.Register")},
	{component: "TxCtrlr", name: "EVConnectionTimeOut", kind: kindInt, unit: "s", def: constant("90")},
	{component: "TxCtrlr", name: "StopTxOnEVSideDisconnect", readonly: true, kind: kindBool, get: readOnly("true")},
	{component: "TxCtrlr", name: "StopTxOnInvalidId", kind: kindBool, use: settingStopOnInvalid, def: constant("true")},
	{component: "TxCtrlr", name: "TxStartPoint", readonly: true, kind: kindList, get: readOnly("PowerPathClosed")},
	{component: "TxCtrlr", name: "TxStopPoint", readonly: true, kind: kindList, get: readOnly("PowerPathClosed")},
	{component: "AuthCtrlr", name: "Enabled", kind: kindBool, def: constant("true")},
	{component: "AuthCtrlr", name: "AuthorizeRemoteStart", kind: kindBool, use: settingAuthorizeRemote, def: constant("false")},
	{component: "AuthCtrlr", name: "LocalAuthorizeOffline", kind: kindBool, use: settingLocalAuthorizeOffline, def: constant("true")},
	{component: "AuthCtrlr", name: "LocalPreAuthorize", kind: kindBool, def: constant("false")},
	{component: "DeviceDataCtrlr", name: "ItemsPerMessage", instance: "GetReport", readonly: true, kind: kindInt, get: readOnly("100")},
	{component: "DeviceDataCtrlr", name: "ItemsPerMessage", instance: "GetVariables", readonly: true, kind: kindInt, get: readOnly("50")},
	{component: "DeviceDataCtrlr", name: "ItemsPerMessage", instance: "SetVariables", readonly: true, kind: kindInt, get: readOnly("50")},
	{component: "DeviceDataCtrlr", name: "BytesPerMessage", instance: "GetReport", readonly: true, kind: kindInt, get: readOnly("65000")},
	{component: "DeviceDataCtrlr", name: "BytesPerMessage", instance: "GetVariables", readonly: true, kind: kindInt, get: readOnly("65000")},
	{component: "DeviceDataCtrlr", name: "BytesPerMessage", instance: "SetVariables", readonly: true, kind: kindInt, get: readOnly("65000")},
	{component: "SmartChargingCtrlr", name: "Enabled", readonly: true, kind: kindBool, get: readOnly("true")},
	{component: "SmartChargingCtrlr", name: "RateUnit", readonly: true, kind: kindList, get: readOnly("A,W")},
	{component: "SmartChargingCtrlr", name: "PeriodsPerSchedule", readonly: true, kind: kindInt, get: readOnly("24")},
	{component: "SmartChargingCtrlr", name: "ProfileStackLevel", readonly: true, kind: kindInt, get: readOnly("10")},
	{component: "SmartChargingCtrlr", name: "LimitChangeSignificance", kind: kindDecimal, def: constant("0.1")},
	{component: "ChargingStation", name: "AvailabilityState", readonly: true, kind: kindString, get: availability201},
	{component: "ChargingStation", name: "Available", readonly: true, kind: kindBool, get: readOnly("true")},
	{component: "ChargingStation", name: "Model", readonly: true, kind: kindString, get: func(s *Station, _ *evse) string { return s.cfg.Model }},
	{component: "ChargingStation", name: "VendorName", readonly: true, kind: kindString, get: func(s *Station, _ *evse) string { return s.cfg.Vendor }},
	{component: "EVSE", name: "AvailabilityState", scope: scopeEVSE, readonly: true, kind: kindString, get: availability201},
	{component: "EVSE", name: "Available", scope: scopeEVSE, readonly: true, kind: kindBool, get: readOnly("true")},
	{component: "EVSE", name: "Power", scope: scopeEVSE, readonly: true, kind: kindDecimal, unit: "W", get: func(s *Station, e *evse) string { return strconv.FormatFloat(e.powerW, 'f', 0, 64) }},
	{component: "EVSE", name: "SupplyPhases", scope: scopeEVSE, readonly: true, kind: kindInt, get: func(_ *Station, e *evse) string { return strconv.Itoa(e.spec.Phases) }},
	{component: "Connector", name: "AvailabilityState", scope: scopeConnector, readonly: true, kind: kindString, get: availability201},
	{component: "Connector", name: "Available", scope: scopeConnector, readonly: true, kind: kindBool, get: readOnly("true")},
	{component: "Connector", name: "ConnectorType", scope: scopeConnector, readonly: true, kind: kindString, get: func(_ *Station, e *evse) string {
		if e.spec.DC {
			return "cCCS2"
		}
		return "cType2"
	}},
}

func (s *Station) settingTable() []setting {
	if s.cfg.Version == ocpp.V16 {
		return settings16
	}
	return settings201
}

func initSettings(s *Station) []string {
	table := s.settingTable()
	vals := make([]string, len(table))
	for i, st := range table {
		if st.get == nil {
			vals[i] = st.def(s)
		}
	}
	return vals
}

func (s *Station) settingIndex(id settingID) int {
	for i, st := range s.settingTable() {
		if st.use == id {
			return i
		}
	}
	return -1
}

func (s *Station) boolSetting(id settingID) bool {
	i := s.settingIndex(id)
	return i >= 0 && strings.EqualFold(s.settings[i], "true")
}

// value is a setting's current value (for an EVSE or connector scope, of e).
func (s *Station) value(i int, e *evse) string {
	if st := s.settingTable()[i]; st.get != nil {
		return st.get(s, e)
	}
	return s.settings[i]
}

func (s *Station) setHeartbeatSetting(seconds int) {
	if i := s.settingIndex(settingHeartbeatInterval); i >= 0 {
		s.settings[i] = strconv.Itoa(seconds)
	}
}

// validValue reports whether v is acceptable for a setting of kind k.
func validValue(k valueKind, v string) bool {
	switch k {
	case kindInt:
		n, err := strconv.Atoi(v)
		return err == nil && n >= 0
	case kindBool:
		return strings.EqualFold(v, "true") || strings.EqualFold(v, "false")
	case kindDecimal:
		_, err := strconv.ParseFloat(v, 64)
		return err == nil
	}
	return true
}

// setValue stores v in writable setting i and applies it.
func (s *Station) setValue(i int, v string) {
	st := s.settingTable()[i]
	if st.kind == kindBool {
		v = strings.ToLower(v)
	}
	s.settings[i] = v
	n, _ := strconv.Atoi(v)
	switch st.use {
	case settingHeartbeatInterval:
		s.heartbeat = time.Duration(n) * time.Second
		s.scheduleHeartbeat()
	case settingMeterInterval:
		s.meterEvery = time.Duration(n) * time.Second
		for _, e := range s.evses {
			s.scheduleMeter(e)
		}
	}
}

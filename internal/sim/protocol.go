package sim

import "math"

// protocol turns the station's life into the messages of one OCPP version and answers the
// CSMS in that version. Implementations: v16proto, v201proto.
type protocol interface {
	bootMsg(reason bootReason) *outMsg
	heartbeatMsg() *outMsg
	// status is the connector status of e in this version's vocabulary.
	status(e *evse) string
	statusMsg(e *evse) *outMsg
	// stationStatusMsg is 1.6's connector 0 notification; nil for 2.0.1.
	stationStatusMsg() *outMsg
	authorize(token string, done func(authResult))
	startTx(e *evse, tx *txn, trigger startTrigger)
	meter(e *evse, tx *txn, ctx readingContext)
	chargingStateChanged(e *evse, tx *txn)
	// rateChanged reports that a charging profile changed what tx may draw.
	rateChanged(e *evse, tx *txn)
	endTx(e *evse, tx *txn, reason stopReason)
	// handler answers a CSMS-initiated action; nil when the simulator does not support it.
	handler(action string) handler
}

// reading is one sampled value, version-neutral.
type reading struct {
	measurand string
	value     float64
	unit      string
	location  string // "" or "EV"
	decimals  int
}

// readings samples e's meter. The register alone at the start and end of a transaction (the
// default StopTxnSampledData / TxEndedMeasurands); periodic and triggered readings add power,
// current and, for DC, the EV's state of charge.
func (s *Station) readings(e *evse, ctx readingContext) []reading {
	rs := []reading{{measurand: "Energy.Active.Import.Register", value: math.Floor(e.energyWh), unit: "Wh"}}
	if ctx == readBegin || ctx == readEnd {
		return rs
	}
	phases := e.spec.Phases
	if e.ev != nil && !e.spec.DC && e.ev.phases < phases {
		phases = e.ev.phases
	}
	amps := ampsFromWatts(e.powerW, e.spec.DC, phases, s.dcVolts(e))
	rs = append(rs,
		reading{measurand: "Power.Active.Import", value: math.Round(e.powerW), unit: "W"},
		reading{measurand: "Current.Import", value: math.Round(amps*10) / 10, unit: "A", decimals: 1},
	)
	if e.spec.DC && e.ev != nil {
		rs = append(rs, reading{measurand: "SoC", value: math.Floor(e.ev.bat.SoC * 100), unit: "Percent", location: "EV"})
	}
	return rs
}

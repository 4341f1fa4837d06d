package sim

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// v201proto speaks OCPP 2.0.1. Each EVSE has one connector (id 1). Transactions start when
// the EV is connected and the driver authorized (TxStartPoint PowerPathClosed) and end when
// either goes (TxStopPoint PowerPathClosed).
type v201proto struct{ s *Station }

func (p v201proto) bootMsg(reason bootReason) *outMsg {
	s := p.s
	r := v201.BootReasonEnumTypePowerUp
	switch reason {
	case bootRemoteReset:
		r = v201.BootReasonEnumTypeRemoteReset
	case bootTriggered:
		r = v201.BootReasonEnumTypeTriggered
	case bootReconnect:
		r = v201.BootReasonEnumTypeUnknown
	}
	req := v201.BootNotificationRequest{
		ChargingStation: v201.ChargingStationType{
			SerialNumber:    s.cfg.SerialNumber,
			Model:           s.cfg.Model,
			VendorName:      s.cfg.Vendor,
			FirmwareVersion: s.cfg.FirmwareVersion,
		},
		Reason: r,
	}
	return &outMsg{
		action:    "BootNotification",
		pendingOK: true,
		build:     func() (any, error) { return req, nil },
		onReply: func(raw json.RawMessage) {
			if r, ok := decode[v201.BootNotificationResponse](s, raw); ok {
				s.bootAnswered(string(r.Status), r.Interval)
			}
		},
		onFail: func(error) { s.bootFailed() },
	}
}

func (p v201proto) heartbeatMsg() *outMsg {
	return &outMsg{action: "Heartbeat", build: func() (any, error) { return v201.HeartbeatRequest{}, nil }}
}

func (p v201proto) status(e *evse) string {
	switch {
	case e.faulted:
		return string(v201.ConnectorStatusEnumTypeFaulted)
	case e.ev != nil:
		return string(v201.ConnectorStatusEnumTypeOccupied)
	case e.inoperative || p.s.inoperative:
		return string(v201.ConnectorStatusEnumTypeUnavailable)
	case p.s.reservationOn(e) != nil:
		return string(v201.ConnectorStatusEnumTypeReserved)
	}
	return string(v201.ConnectorStatusEnumTypeAvailable)
}

func (p v201proto) statusMsg(e *evse) *outMsg {
	req := v201.StatusNotificationRequest{Timestamp: p.s.wall(), ConnectorStatus: v201.ConnectorStatusEnumType(p.status(e)), EvseId: e.id, ConnectorId: 1}
	return &outMsg{action: "StatusNotification", build: func() (any, error) { return req, nil }}
}

func (p v201proto) stationStatusMsg() *outMsg { return nil }

func idToken201(token string) v201.IdTokenType {
	return v201.IdTokenType{IdToken: token, Type: v201.IdTokenEnumTypeISO14443}
}

func (p v201proto) authorize(token string, done func(authResult)) {
	s := p.s
	s.send(&outMsg{
		action: "Authorize",
		build:  func() (any, error) { return v201.AuthorizeRequest{IdToken: idToken201(token)}, nil },
		onReply: func(raw json.RawMessage) {
			r, ok := decode[v201.AuthorizeResponse](s, raw)
			if ok && r.IdTokenInfo.Status == v201.AuthorizationStatusEnumTypeAccepted {
				done(authAccepted)
			} else {
				done(authRejected)
			}
		},
		onFail: func(err error) {
			if err != nil {
				done(authRejected)
			} else {
				done(authLost)
			}
		},
	})
}

func chargingState201(tx *txn) v201.ChargingStateEnumType {
	switch tx.state {
	case csSuspendedEV:
		return v201.ChargingStateEnumTypeSuspendedEV
	case csSuspendedEVSE:
		return v201.ChargingStateEnumTypeSuspendedEVSE
	}
	return v201.ChargingStateEnumTypeCharging
}

func (p v201proto) meterValue(e *evse, ctx readingContext) v201.MeterValueType {
	mv := v201.MeterValueType{Timestamp: p.s.wall()}
	for _, r := range p.s.readings(e, ctx) {
		sv := v201.SampledValueType{
			Value:         r.value,
			Context:       v201.ReadingContextEnumType(ctx.String()),
			Measurand:     v201.MeasurandEnumType(r.measurand),
			UnitOfMeasure: &v201.UnitOfMeasureType{Unit: r.unit},
		}
		if r.location != "" {
			sv.Location = v201.LocationEnumType(r.location)
		} else {
			sv.Location = v201.LocationEnumTypeOutlet
		}
		mv.SampledValue = append(mv.SampledValue, sv)
	}
	return mv
}

// event queues a TransactionEvent of tx with the next seqNo. Events made while the station is
// not connected say so (offline = true).
func (p v201proto) event(e *evse, tx *txn, typ v201.TransactionEventEnumType, trigger v201.TriggerReasonEnumType,
	meterCtx readingContext, edit func(*v201.TransactionEventRequest), onReply func(v201.TransactionEventResponse)) {
	s := p.s
	req := v201.TransactionEventRequest{
		EventType:       typ,
		Timestamp:       s.wall(),
		TriggerReason:   trigger,
		SeqNo:           tx.seqNo,
		TransactionInfo: v201.TransactionType{TransactionId: tx.id, ChargingState: chargingState201(tx)},
		Evse:            &v201.EVSEType{Id: e.id, ConnectorId: ptr(1)},
	}
	tx.seqNo++
	if s.registration != regAccepted {
		req.Offline = ptr(true)
	}
	if meterCtx != 0 {
		req.MeterValue = []v201.MeterValueType{p.meterValue(e, meterCtx)}
	}
	if edit != nil {
		edit(&req)
	}
	m := &outMsg{action: "TransactionEvent", tx: true, meter: meterCtx == readPeriodic,
		build: func() (any, error) { return req, nil }}
	if onReply != nil {
		m.onReply = func(raw json.RawMessage) {
			if r, ok := decode[v201.TransactionEventResponse](s, raw); ok {
				onReply(r)
			}
		}
	}
	s.send(m)
}

func (p v201proto) startTx(e *evse, tx *txn, trigger startTrigger) {
	s := p.s
	reason := v201.TriggerReasonEnumTypeAuthorized
	if trigger == startRemote {
		reason = v201.TriggerReasonEnumTypeRemoteStart
	}
	p.event(e, tx, v201.TransactionEventEnumTypeStarted, reason, readBegin, func(r *v201.TransactionEventRequest) {
		r.Timestamp = tx.startedWall
		r.IdToken = ptr(idToken201(tx.token))
		r.TransactionInfo.RemoteStartId = tx.remoteStartID
		r.ReservationId = tx.reservationID
	}, func(r v201.TransactionEventResponse) {
		s.stats.sessionsStarted.Add(1)
		if r.IdTokenInfo != nil && r.IdTokenInfo.Status != v201.AuthorizationStatusEnumTypeAccepted {
			s.deauthorize(e, tx)
		}
	})
}

func (p v201proto) meter(e *evse, tx *txn, ctx readingContext) {
	trigger := v201.TriggerReasonEnumTypeMeterValuePeriodic
	if ctx == readTrigger {
		trigger = v201.TriggerReasonEnumTypeTrigger
	}
	p.event(e, tx, v201.TransactionEventEnumTypeUpdated, trigger, ctx, nil, nil)
}

func (p v201proto) chargingStateChanged(e *evse, tx *txn) {
	p.event(e, tx, v201.TransactionEventEnumTypeUpdated, v201.TriggerReasonEnumTypeChargingStateChanged, 0, nil, nil)
}

// rateChanged reports a new charging limit (K01: ChargingRateChanged).
func (p v201proto) rateChanged(e *evse, tx *txn) {
	p.event(e, tx, v201.TransactionEventEnumTypeUpdated, v201.TriggerReasonEnumTypeChargingRateChanged, readOther, nil, nil)
}

func (p v201proto) endTx(e *evse, tx *txn, reason stopReason) {
	s := p.s
	trigger, stopped, state := v201.TriggerReasonEnumTypeAbnormalCondition, v201.ReasonEnumTypeOther, v201.ChargingStateEnumTypeEVConnected
	switch reason {
	case stopLocal:
		trigger, stopped = v201.TriggerReasonEnumTypeStopAuthorized, v201.ReasonEnumTypeLocal
	case stopEVDisconnected:
		trigger, stopped, state = v201.TriggerReasonEnumTypeEVCommunicationLost, v201.ReasonEnumTypeEVDisconnected, v201.ChargingStateEnumTypeIdle
	case stopRemote:
		trigger, stopped = v201.TriggerReasonEnumTypeRemoteStop, v201.ReasonEnumTypeRemote
	case stopDeAuthorized:
		trigger, stopped = v201.TriggerReasonEnumTypeDeauthorized, v201.ReasonEnumTypeDeAuthorized
	case stopSoftReset, stopHardReset:
		trigger, stopped = v201.TriggerReasonEnumTypeResetCommand, v201.ReasonEnumTypeImmediateReset
	case stopUnlock:
		trigger = v201.TriggerReasonEnumTypeUnlockCommand
	}
	p.event(e, tx, v201.TransactionEventEnumTypeEnded, trigger, readEnd, func(r *v201.TransactionEventRequest) {
		r.TransactionInfo.StoppedReason = stopped
		r.TransactionInfo.ChargingState = state
		if reason == stopLocal {
			r.IdToken = ptr(idToken201(tx.token))
		}
	}, func(r v201.TransactionEventResponse) {
		s.stats.sessionsCompleted.Add(1)
		if r.TotalCost != nil {
			s.costs.add(CostReport{TransactionID: tx.id, TotalCost: *r.TotalCost, Final: true})
		}
	})
}

// --- CSMS-initiated calls ---------------------------------------------------------------------

// handlers201 answer the CSMS-initiated actions the simulator supports. Never modified.
var handlers201 = map[string]handler{
	"Reset":                   reset201,
	"UnlockConnector":         unlock201,
	"ChangeAvailability":      changeAvailability201,
	"RequestStartTransaction": requestStart201,
	"RequestStopTransaction":  requestStop201,
	"TriggerMessage":          trigger201,
	"GetVariables":            getVariables201,
	"SetVariables":            setVariables201,
	"GetBaseReport":           getBaseReport201,
	"ClearCache": func(*Station, any) (any, func(), *ocpp.CallError) {
		return v201.ClearCacheResponse{Status: v201.ClearCacheStatusEnumTypeAccepted}, nil, nil
	},
	"DataTransfer": func(*Station, any) (any, func(), *ocpp.CallError) {
		return v201.DataTransferResponse{Status: v201.DataTransferStatusEnumTypeUnknownVendorId}, nil, nil
	},
	"SetChargingProfile":   setChargingProfile201,
	"ClearChargingProfile": clearChargingProfile201,
	"GetCompositeSchedule": getCompositeSchedule201,
	"SendLocalList":        sendLocalList201,
	"GetLocalListVersion":  getLocalListVersion201,
	"ReserveNow":           reserveNow201,
	"CancelReservation":    cancelReservation201,
	"GetLog":               getLog201,
	"UpdateFirmware":       updateFirmware201,
	"CostUpdated":          costUpdated201,
}

func (p v201proto) handler(action string) handler { return handlers201[action] }

func reset201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.ResetRequest)
	if r.EvseId != nil { // resetting a single EVSE is optional (B11/B12) and not simulated
		return v201.ResetResponse{Status: v201.ResetStatusEnumTypeRejected}, nil, nil
	}
	if r.Type == v201.ResetEnumTypeOnIdle {
		for _, e := range s.evses {
			if e.tx != nil {
				return v201.ResetResponse{Status: v201.ResetStatusEnumTypeScheduled}, func() { s.resetOnIdle = true }, nil
			}
		}
	}
	return v201.ResetResponse{Status: v201.ResetStatusEnumTypeAccepted}, func() { s.rebootNow(stopHardReset) }, nil
}

func unlock201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.UnlockConnectorRequest)
	e := s.evse(r.EvseId)
	switch {
	case e == nil || r.ConnectorId != 1:
		return v201.UnlockConnectorResponse{Status: v201.UnlockStatusEnumTypeUnknownConnector}, nil, nil
	case e.tx != nil: // F05.FR.02: a running, authorized transaction keeps the cable locked
		return v201.UnlockConnectorResponse{Status: v201.UnlockStatusEnumTypeOngoingAuthorizedTransaction}, nil, nil
	}
	return v201.UnlockConnectorResponse{Status: v201.UnlockStatusEnumTypeUnlocked}, func() {
		if e.ev != nil {
			s.unplug(e)
		}
	}, nil
}

func changeAvailability201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.ChangeAvailabilityRequest)
	station := r.Evse == nil || r.Evse.Id == 0
	targets := s.evses
	if !station {
		e := s.evse(r.Evse.Id)
		if e == nil || r.Evse.ConnectorId != nil && *r.Evse.ConnectorId != 1 {
			return v201.ChangeAvailabilityResponse{Status: v201.ChangeAvailabilityStatusEnumTypeRejected}, nil, nil
		}
		targets = []*evse{e}
	}
	scheduled := s.changeAvailability(targets, station, r.OperationalStatus == v201.OperationalStatusEnumTypeInoperative)
	status := v201.ChangeAvailabilityStatusEnumTypeAccepted
	if scheduled {
		status = v201.ChangeAvailabilityStatusEnumTypeScheduled
	}
	return v201.ChangeAvailabilityResponse{Status: status}, func() {
		for _, e := range s.evses {
			s.syncStatus(e)
		}
	}, nil
}

func requestStart201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.RequestStartTransactionRequest)
	rejected := v201.RequestStartTransactionResponse{Status: v201.RequestStartStopStatusEnumTypeRejected}
	var e *evse
	if r.EvseId != nil {
		if e = s.evse(*r.EvseId); e == nil || !freeForRemoteStart(s, e) {
			return rejected, nil, nil
		}
	} else {
		for _, c := range s.evses {
			if freeForRemoteStart(s, c) && (e == nil || c.ev != nil && e.ev == nil) {
				e = c
			}
		}
		if e == nil {
			return rejected, nil, nil
		}
	}
	var profile *chargingProfile
	if cp := r.ChargingProfile; cp != nil {
		if cp.ChargingProfilePurpose != v201.ChargingProfilePurposeEnumTypeTxProfile {
			return rejected, nil, nil
		}
		profile = profile201(cp, e.id, s.wall())
	}
	id := r.RemoteStartId
	token := r.IdToken.IdToken
	return v201.RequestStartTransactionResponse{Status: v201.RequestStartStopStatusEnumTypeAccepted}, func() {
		s.remoteStart(e, token, &id, profile)
	}, nil
}

func requestStop201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.RequestStopTransactionRequest)
	for _, e := range s.evses {
		if e.tx != nil && e.tx.id == r.TransactionId {
			return v201.RequestStopTransactionResponse{Status: v201.RequestStartStopStatusEnumTypeAccepted}, func() { s.remoteStop(e) }, nil
		}
	}
	return v201.RequestStopTransactionResponse{Status: v201.RequestStartStopStatusEnumTypeRejected}, nil, nil
}

func trigger201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.TriggerMessageRequest)
	accepted := v201.TriggerMessageResponse{Status: v201.TriggerMessageStatusEnumTypeAccepted}
	rejected := v201.TriggerMessageResponse{Status: v201.TriggerMessageStatusEnumTypeRejected}
	targets := s.evses
	if r.Evse != nil && r.Evse.Id != 0 {
		e := s.evse(r.Evse.Id)
		if e == nil || r.Evse.ConnectorId != nil && *r.Evse.ConnectorId != 1 {
			return rejected, nil, nil
		}
		targets = []*evse{e}
	}
	p := v201proto{s}
	switch r.RequestedMessage {
	case v201.MessageTriggerEnumTypeBootNotification:
		if s.registration == regAccepted { // F06.FR.17
			return rejected, nil, nil
		}
		return accepted, func() { s.ob.push(p.bootMsg(bootTriggered)) }, nil
	case v201.MessageTriggerEnumTypeHeartbeat:
		return accepted, func() { s.send(triggered(p.heartbeatMsg())) }, nil
	case v201.MessageTriggerEnumTypeStatusNotification:
		return accepted, func() {
			for _, e := range targets {
				e.reported = p.status(e)
				s.send(triggered(p.statusMsg(e)))
			}
		}, nil
	case v201.MessageTriggerEnumTypeMeterValues:
		return accepted, func() {
			for _, e := range targets {
				req := v201.MeterValuesRequest{EvseId: e.id, MeterValue: []v201.MeterValueType{p.meterValue(e, readTrigger)}}
				s.send(triggered(&outMsg{action: "MeterValues", build: func() (any, error) { return req, nil }}))
			}
		}, nil
	case v201.MessageTriggerEnumTypeTransactionEvent:
		var running []*evse
		for _, e := range targets {
			if e.tx != nil {
				running = append(running, e)
			}
		}
		if len(running) == 0 {
			return rejected, nil, nil
		}
		return accepted, func() {
			for _, e := range running {
				if e.tx != nil {
					p.meter(e, e.tx, readTrigger)
				}
			}
		}, nil
	case v201.MessageTriggerEnumTypeFirmwareStatusNotification:
		return accepted, func() {
			s.send(triggered(&outMsg{action: "FirmwareStatusNotification", build: func() (any, error) {
				return v201.FirmwareStatusNotificationRequest{Status: v201.FirmwareStatusEnumTypeIdle}, nil
			}}))
		}, nil
	case v201.MessageTriggerEnumTypeLogStatusNotification:
		return accepted, func() {
			s.send(triggered(&outMsg{action: "LogStatusNotification", build: func() (any, error) {
				return v201.LogStatusNotificationRequest{Status: v201.UploadLogStatusEnumTypeIdle}, nil
			}}))
		}, nil
	}
	return v201.TriggerMessageResponse{Status: v201.TriggerMessageStatusEnumTypeNotImplemented}, nil, nil
}

// find201 locates a device-model variable. It returns the table index and, for EVSE and
// connector components, the EVSE; otherwise the GetVariables status saying what is unknown.
func (s *Station) find201(c v201.ComponentType, v v201.VariableType) (int, *evse, v201.GetVariableStatusEnumType) {
	var e *evse
	want := scopeStation
	if c.Evse != nil {
		if e = s.evse(c.Evse.Id); e == nil {
			return -1, nil, v201.GetVariableStatusEnumTypeUnknownComponent
		}
		want = scopeEVSE
		if c.Evse.ConnectorId != nil {
			if *c.Evse.ConnectorId != 1 {
				return -1, nil, v201.GetVariableStatusEnumTypeUnknownComponent
			}
			want = scopeConnector
		}
	}
	known := false
	for i, st := range settings201 {
		if st.component != c.Name || st.scope != want || c.Instance != "" {
			continue
		}
		known = true
		if st.name == v.Name && st.instance == v.Instance {
			return i, e, ""
		}
	}
	if !known {
		return -1, nil, v201.GetVariableStatusEnumTypeUnknownComponent
	}
	return -1, nil, v201.GetVariableStatusEnumTypeUnknownVariable
}

func getVariables201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.GetVariablesRequest)
	var resp v201.GetVariablesResponse
	for _, d := range r.GetVariableData {
		res := v201.GetVariableResultType{AttributeType: d.AttributeType, Component: d.Component, Variable: d.Variable}
		i, e, status := s.find201(d.Component, d.Variable)
		switch {
		case status != "":
			res.AttributeStatus = status
		case d.AttributeType != "" && d.AttributeType != v201.AttributeEnumTypeActual:
			res.AttributeStatus = v201.GetVariableStatusEnumTypeNotSupportedAttributeType
		default:
			res.AttributeStatus = v201.GetVariableStatusEnumTypeAccepted
			res.AttributeValue = s.value(i, e)
		}
		resp.GetVariableResult = append(resp.GetVariableResult, res)
	}
	return resp, nil, nil
}

func setVariables201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.SetVariablesRequest)
	var resp v201.SetVariablesResponse
	type change struct {
		i int
		v string
	}
	var changes []change
	for _, d := range r.SetVariableData {
		res := v201.SetVariableResultType{AttributeType: d.AttributeType, Component: d.Component, Variable: d.Variable}
		i, _, status := s.find201(d.Component, d.Variable)
		switch {
		case status != "":
			res.AttributeStatus = v201.SetVariableStatusEnumType(status)
		case d.AttributeType != "" && d.AttributeType != v201.AttributeEnumTypeActual:
			res.AttributeStatus = v201.SetVariableStatusEnumTypeNotSupportedAttributeType
		case settings201[i].readonly || !validValue(settings201[i].kind, d.AttributeValue):
			res.AttributeStatus = v201.SetVariableStatusEnumTypeRejected
		default:
			res.AttributeStatus = v201.SetVariableStatusEnumTypeAccepted
			changes = append(changes, change{i, d.AttributeValue})
		}
		resp.SetVariableResult = append(resp.SetVariableResult, res)
	}
	return resp, func() {
		for _, c := range changes {
			s.setValue(c.i, c.v)
		}
	}, nil
}

func dataType201(k valueKind) v201.DataEnumType {
	switch k {
	case kindInt:
		return v201.DataEnumTypeinteger
	case kindBool:
		return v201.DataEnumTypeboolean
	case kindDecimal:
		return v201.DataEnumTypedecimal
	case kindList:
		return v201.DataEnumTypeMemberList
	}
	return v201.DataEnumTypestring
}

func getBaseReport201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.GetBaseReportRequest)
	var data []v201.ReportDataType
	add := func(i int, st setting, e *evse, comp v201.ComponentType) {
		mut := v201.MutabilityEnumTypeReadWrite
		if st.readonly {
			mut = v201.MutabilityEnumTypeReadOnly
		}
		data = append(data, v201.ReportDataType{
			Component: comp,
			Variable:  v201.VariableType{Name: st.name, Instance: st.instance},
			VariableAttribute: []v201.VariableAttributeType{{
				Type: v201.AttributeEnumTypeActual, Value: s.value(i, e), Mutability: mut,
				Persistent: ptr(true), Constant: ptr(false),
			}},
			VariableCharacteristics: &v201.VariableCharacteristicsType{Unit: st.unit, DataType: dataType201(st.kind)},
		})
	}
	for i, st := range settings201 {
		switch r.ReportBase {
		case v201.ReportBaseEnumTypeConfigurationInventory:
			if st.readonly {
				continue
			}
		case v201.ReportBaseEnumTypeSummaryInventory:
			if !strings.HasPrefix(st.name, "Availab") {
				continue
			}
		}
		switch st.scope {
		case scopeStation:
			add(i, st, nil, v201.ComponentType{Name: st.component})
		default:
			for _, e := range s.evses {
				comp := v201.ComponentType{Name: st.component, Evse: &v201.EVSEType{Id: e.id}}
				if st.scope == scopeConnector {
					comp.Evse.ConnectorId = ptr(1)
				}
				add(i, st, e, comp)
			}
		}
	}
	requestID := r.RequestId
	return v201.GetBaseReportResponse{Status: v201.GenericDeviceModelStatusEnumTypeAccepted}, func() {
		report := v201.NotifyReportRequest{RequestId: requestID, GeneratedAt: s.wall(), ReportData: data, SeqNo: 0}
		s.send(triggered(&outMsg{action: "NotifyReport", build: func() (any, error) { return report, nil }}))
	}, nil
}

// profile201 converts a 2.0.1 charging profile (its first schedule: the simulator does not
// negotiate ISO 15118 schedules).
func profile201(cp *v201.ChargingProfileType, evseID int, now time.Time) *chargingProfile {
	p := &chargingProfile{id: cp.Id, stackLevel: cp.StackLevel, kind: string(cp.ChargingProfileKind),
		recurrency: string(cp.RecurrencyKind), validFrom: cp.ValidFrom, validTo: cp.ValidTo, evse: evseID, setAt: now}
	switch cp.ChargingProfilePurpose {
	case v201.ChargingProfilePurposeEnumTypeChargingStationMaxProfile, v201.ChargingProfilePurposeEnumTypeChargingStationExternalConstraints:
		p.purpose = purposeStationMax
	case v201.ChargingProfilePurposeEnumTypeTxDefaultProfile:
		p.purpose = purposeTxDefault
	default:
		p.purpose = purposeTx
	}
	if len(cp.ChargingSchedule) > 0 {
		cs := cp.ChargingSchedule[0]
		p.start = cs.StartSchedule
		p.unitA = cs.ChargingRateUnit == v201.ChargingRateUnitEnumTypeA
		if cs.Duration != nil {
			p.duration = *cs.Duration
		}
		for _, sp := range cs.ChargingSchedulePeriod {
			pp := period{start: sp.StartPeriod, limit: sp.Limit}
			if sp.NumberPhases != nil {
				pp.phases = *sp.NumberPhases
			}
			p.periods = append(p.periods, pp)
		}
		sortPeriods(p.periods)
	}
	return p
}

func setChargingProfile201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.SetChargingProfileRequest)
	cp := &r.ChargingProfile
	rejected := v201.SetChargingProfileResponse{Status: v201.ChargingProfileStatusEnumTypeRejected}
	if r.EvseId != 0 && s.evse(r.EvseId) == nil {
		return rejected, nil, nil
	}
	p := profile201(cp, r.EvseId, s.wall())
	switch cp.ChargingProfilePurpose {
	case v201.ChargingProfilePurposeEnumTypeChargingStationExternalConstraints: // K01.FR.22: not the CSMS's to set
		return rejected, nil, nil
	case v201.ChargingProfilePurposeEnumTypeChargingStationMaxProfile:
		if r.EvseId != 0 {
			return rejected, nil, nil
		}
	case v201.ChargingProfilePurposeEnumTypeTxProfile:
		e := s.evse(r.EvseId)
		if e == nil || e.tx == nil || cp.TransactionId != e.tx.id {
			return rejected, nil, nil
		}
		p.tx = e.tx
	}
	return v201.SetChargingProfileResponse{Status: v201.ChargingProfileStatusEnumTypeAccepted}, func() { s.installProfile(p) }, nil
}

func clearChargingProfile201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.ClearChargingProfileRequest)
	var pur purpose
	var crit v201.ClearChargingProfileType
	if r.ChargingProfileCriteria != nil {
		crit = *r.ChargingProfileCriteria
	}
	switch crit.ChargingProfilePurpose {
	case v201.ChargingProfilePurposeEnumTypeChargingStationMaxProfile, v201.ChargingProfilePurposeEnumTypeChargingStationExternalConstraints:
		pur = purposeStationMax
	case v201.ChargingProfilePurposeEnumTypeTxDefaultProfile:
		pur = purposeTxDefault
	case v201.ChargingProfilePurposeEnumTypeTxProfile:
		pur = purposeTx
	}
	n := s.clearProfiles(clearFilter{id: r.ChargingProfileId, evse: crit.EvseId, stackLevel: crit.StackLevel, purpose: pur}.matches)
	if n == 0 {
		return v201.ClearChargingProfileResponse{Status: v201.ClearChargingProfileStatusEnumTypeUnknown}, nil, nil
	}
	return v201.ClearChargingProfileResponse{Status: v201.ClearChargingProfileStatusEnumTypeAccepted}, nil, nil
}

func getCompositeSchedule201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.GetCompositeScheduleRequest)
	limitW, spec, volts, ok := s.compositeLimit(r.EvseId)
	if !ok {
		return v201.GetCompositeScheduleResponse{Status: v201.GenericStatusEnumTypeRejected}, nil, nil
	}
	unit := v201.ChargingRateUnitEnumTypeW
	limit := limitW
	if r.ChargingRateUnit == v201.ChargingRateUnitEnumTypeA {
		unit = v201.ChargingRateUnitEnumTypeA
		limit = ampsFromWatts(limitW, spec.DC, spec.Phases, volts)
	}
	return v201.GetCompositeScheduleResponse{
		Status: v201.GenericStatusEnumTypeAccepted,
		Schedule: &v201.CompositeScheduleType{
			ChargingSchedulePeriod: []v201.ChargingSchedulePeriodType{{StartPeriod: 0, Limit: roundLimit(limit)}},
			EvseId:                 r.EvseId,
			Duration:               r.Duration,
			ScheduleStart:          s.wall(),
			ChargingRateUnit:       unit,
		},
	}, nil, nil
}

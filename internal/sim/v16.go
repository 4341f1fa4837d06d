package sim

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
)

// v16proto speaks OCPP 1.6J (edition 2). Connector N is EVSE N.
type v16proto struct{ s *Station }

func (p v16proto) bootMsg(bootReason) *outMsg {
	s := p.s
	return &outMsg{
		action:    "BootNotification",
		pendingOK: true,
		build: func() (any, error) {
			return v16.BootNotificationRequest{
				ChargePointVendor:       s.cfg.Vendor,
				ChargePointModel:        s.cfg.Model,
				ChargePointSerialNumber: s.cfg.SerialNumber,
				FirmwareVersion:         s.cfg.FirmwareVersion,
				MeterType:               "SimMeter",
			}, nil
		},
		onReply: func(raw json.RawMessage) {
			if r, ok := decode[v16.BootNotificationResponse](s, raw); ok {
				s.bootAnswered(string(r.Status), r.Interval)
			}
		},
		onFail: func(error) { s.bootFailed() },
	}
}

func (p v16proto) heartbeatMsg() *outMsg {
	return &outMsg{action: "Heartbeat", build: func() (any, error) { return v16.HeartbeatRequest{}, nil }}
}

func (p v16proto) status(e *evse) string {
	switch {
	case e.faulted:
		return string(v16.StatusNotificationRequestStatusFaulted)
	case e.tx != nil:
		switch e.tx.state {
		case csSuspendedEV:
			return string(v16.StatusNotificationRequestStatusSuspendedEV)
		case csSuspendedEVSE:
			return string(v16.StatusNotificationRequestStatusSuspendedEVSE)
		}
		return string(v16.StatusNotificationRequestStatusCharging)
	case e.inoperative || p.s.inoperative:
		return string(v16.StatusNotificationRequestStatusUnavailable)
	case e.ev == nil && p.s.reservationOn(e) != nil:
		return string(v16.StatusNotificationRequestStatusReserved)
	}
	switch e.phase {
	case phasePlugged, phaseAuthorizing, phaseRejected:
		return string(v16.StatusNotificationRequestStatusPreparing)
	case phaseFinishing:
		return string(v16.StatusNotificationRequestStatusFinishing)
	}
	return string(v16.StatusNotificationRequestStatusAvailable)
}

func (p v16proto) statusMsg(e *evse) *outMsg {
	req := v16.StatusNotificationRequest{
		ConnectorId: e.id,
		ErrorCode:   v16.StatusNotificationRequestErrorCodeNoError,
		Status:      v16.StatusNotificationRequestStatus(p.status(e)),
		Timestamp:   ptr(p.s.wall()),
	}
	if e.faulted {
		req.ErrorCode = v16.StatusNotificationRequestErrorCode(e.faultCode)
	}
	return &outMsg{action: "StatusNotification", build: func() (any, error) { return req, nil }}
}

func (p v16proto) stationStatusMsg() *outMsg {
	req := v16.StatusNotificationRequest{
		ConnectorId: 0,
		ErrorCode:   v16.StatusNotificationRequestErrorCodeNoError,
		Status:      v16.StatusNotificationRequestStatus(p.s.stationStatus()),
		Timestamp:   ptr(p.s.wall()),
	}
	return &outMsg{action: "StatusNotification", build: func() (any, error) { return req, nil }}
}

func (p v16proto) authorize(token string, done func(authResult)) {
	s := p.s
	s.send(&outMsg{
		action: "Authorize",
		build:  func() (any, error) { return v16.AuthorizeRequest{IdTag: token}, nil },
		onReply: func(raw json.RawMessage) {
			r, ok := decode[v16.AuthorizeResponse](s, raw)
			if ok && r.IdTagInfo.Status == v16.IdTagInfoStatusAccepted {
				done(authAccepted)
			} else {
				done(authRejected)
			}
		},
		onFail: func(err error) {
			if err != nil { // the CSMS answered, with an error: not an authorization
				done(authRejected)
			} else {
				done(authLost)
			}
		},
	})
}

// txID16 is the transactionId for a message of tx, known once the CSMS answered its
// StartTransaction. Messages queued while it was not known are built only when they are sent,
// which is after that answer (the queue is in order), so they carry the CSMS's id.
func txID16(tx *txn) (int, error) {
	if !tx.known {
		return 0, errNoTransactionID
	}
	return tx.id16, nil
}

func (p v16proto) startTx(e *evse, tx *txn, _ startTrigger) {
	s := p.s
	req := v16.StartTransactionRequest{ConnectorId: e.id, IdTag: tx.token, MeterStart: tx.meterStartWh, Timestamp: tx.startedWall,
		ReservationId: tx.reservationID}
	s.send(&outMsg{
		action: "StartTransaction",
		tx:     true,
		build:  func() (any, error) { return req, nil },
		onReply: func(raw json.RawMessage) {
			r, ok := decode[v16.StartTransactionResponse](s, raw)
			if !ok {
				return
			}
			tx.id16, tx.known, tx.id = r.TransactionId, true, strconv.Itoa(r.TransactionId)
			s.stats.sessionsStarted.Add(1)
			if r.IdTagInfo.Status != v16.IdTagInfoStatusAccepted {
				s.deauthorize(e, tx)
			}
		},
	})
}

// deauthorize applies a refusal of a running transaction's token: stop it (1.6
// StopTransactionOnInvalidId, 2.0.1 StopTxOnInvalidId), or else suspend charging.
func (s *Station) deauthorize(e *evse, tx *txn) {
	s.stats.rejected.Add(1)
	if e.tx != tx || tx.ended {
		return
	}
	if !s.boolSetting(settingStopOnInvalid) {
		tx.blocked = true
		s.checkChargingState(e)
		return
	}
	s.endTx(e, stopDeAuthorized)
	s.syncStatus(e)
	e.stepAt = s.in(uniformDur(e.rnd, 20*time.Second, 90*time.Second)) // the driver gives up and unplugs
}

func (p v16proto) meterValue(e *evse, ctx readingContext) v16.MeterValue {
	mv := v16.MeterValue{Timestamp: p.s.wall()}
	for _, r := range p.s.readings(e, ctx) {
		mv.SampledValue = append(mv.SampledValue, v16.SampledValue{
			Value:     strconv.FormatFloat(r.value, 'f', r.decimals, 64),
			Context:   v16.SampledValueContext(ctx.String()),
			Measurand: v16.SampledValueMeasurand(r.measurand),
			Location:  v16.SampledValueLocation(orDefault(r.location, "Outlet")),
			Unit:      v16.SampledValueUnit(r.unit),
		})
	}
	return mv
}

func (p v16proto) meter(e *evse, tx *txn, ctx readingContext) {
	mv := p.meterValue(e, ctx)
	p.s.send(&outMsg{
		action: "MeterValues",
		tx:     true,
		meter:  ctx == readPeriodic,
		build: func() (any, error) {
			id, err := txID16(tx)
			if err != nil {
				return nil, err
			}
			return v16.MeterValuesRequest{ConnectorId: e.id, TransactionId: &id, MeterValue: []v16.MeterValue{mv}}, nil
		},
	})
}

// chargingStateChanged: 1.6 shows the charging state as the connector status only.
func (p v16proto) chargingStateChanged(*evse, *txn) {}

// rateChanged: 1.6 has no message for it; the next meter values show the new power.
func (p v16proto) rateChanged(*evse, *txn) {}

func (p v16proto) endTx(e *evse, tx *txn, reason stopReason) {
	s := p.s
	now := s.wall()
	req := v16.StopTransactionRequest{
		MeterStop: int(e.energyWh),
		Timestamp: now,
		Reason:    stopReason16(reason),
		TransactionData: []v16.TransactionData{{Timestamp: now, SampledValue: []v16.TransactionDataSampledValue{{
			Value:     strconv.Itoa(int(e.energyWh)),
			Context:   v16.TransactionDataSampledValueContextTransactionEnd,
			Measurand: v16.TransactionDataSampledValueMeasurandEnergyActiveImportRegister,
			Location:  v16.TransactionDataSampledValueLocationOutlet,
			Unit:      v16.TransactionDataSampledValueUnitWh,
		}}}},
	}
	if reason == stopLocal {
		req.IdTag = tx.token
	}
	s.send(&outMsg{
		action: "StopTransaction",
		tx:     true,
		build: func() (any, error) {
			id, err := txID16(tx)
			if err != nil {
				return nil, err
			}
			r := req
			r.TransactionId = id
			return r, nil
		},
		onReply: func(json.RawMessage) { s.stats.sessionsCompleted.Add(1) },
	})
}

func stopReason16(r stopReason) v16.StopTransactionRequestReason {
	switch r {
	case stopLocal:
		return v16.StopTransactionRequestReasonLocal
	case stopEVDisconnected:
		return v16.StopTransactionRequestReasonEVDisconnected
	case stopRemote:
		return v16.StopTransactionRequestReasonRemote
	case stopDeAuthorized:
		return v16.StopTransactionRequestReasonDeAuthorized
	case stopSoftReset:
		return v16.StopTransactionRequestReasonSoftReset
	case stopHardReset:
		return v16.StopTransactionRequestReasonHardReset
	case stopUnlock:
		return v16.StopTransactionRequestReasonUnlockCommand
	}
	return v16.StopTransactionRequestReasonOther
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// --- CSMS-initiated calls ---------------------------------------------------------------------

// handlers16 answer the CSMS-initiated actions the simulator supports. Never modified.
var handlers16 = map[string]handler{
	"Reset":                  reset16,
	"UnlockConnector":        unlock16,
	"ChangeAvailability":     changeAvailability16,
	"RemoteStartTransaction": remoteStart16,
	"RemoteStopTransaction":  remoteStop16,
	"TriggerMessage":         trigger16,
	"GetConfiguration":       getConfiguration16,
	"ChangeConfiguration":    changeConfiguration16,
	"ClearCache": func(*Station, any) (any, func(), *ocpp.CallError) {
		return v16.ClearCacheResponse{Status: v16.ClearCacheResponseStatusAccepted}, nil, nil
	},
	"DataTransfer": func(*Station, any) (any, func(), *ocpp.CallError) {
		return v16.DataTransferResponse{Status: v16.DataTransferResponseStatusUnknownVendorId}, nil, nil
	},
	"SetChargingProfile":   setChargingProfile16,
	"ClearChargingProfile": clearChargingProfile16,
	"GetCompositeSchedule": getCompositeSchedule16,
	"SendLocalList":        sendLocalList16,
	"GetLocalListVersion":  getLocalListVersion16,
	"ReserveNow":           reserveNow16,
	"CancelReservation":    cancelReservation16,
	"GetDiagnostics":       getDiagnostics16,
	"GetLog":               getLog16,
	"UpdateFirmware":       updateFirmware16,
	"SignedUpdateFirmware": signedUpdateFirmware16,
}

func (p v16proto) handler(action string) handler { return handlers16[action] }

func reset16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.ResetRequest)
	reason := stopSoftReset
	if r.Type == v16.ResetRequestTypeHard {
		reason = stopHardReset
	}
	return v16.ResetResponse{Status: v16.ResetResponseStatusAccepted}, func() { s.rebootNow(reason) }, nil
}

func unlock16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.UnlockConnectorRequest)
	e := s.evse(r.ConnectorId)
	if e == nil {
		return v16.UnlockConnectorResponse{Status: v16.UnlockConnectorResponseStatusNotSupported}, nil, nil
	}
	// §5.17: a transaction on the connector is stopped first, then the connector unlocks and
	// the driver takes the cable.
	return v16.UnlockConnectorResponse{Status: v16.UnlockConnectorResponseStatusUnlocked}, func() {
		if e.tx != nil {
			s.endTx(e, stopUnlock)
		}
		if e.ev != nil {
			s.unplug(e)
		}
	}, nil
}

func changeAvailability16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.ChangeAvailabilityRequest)
	targets := s.evses
	if r.ConnectorId != 0 {
		e := s.evse(r.ConnectorId)
		if e == nil {
			return v16.ChangeAvailabilityResponse{Status: v16.ChangeAvailabilityResponseStatusRejected}, nil, nil
		}
		targets = []*evse{e}
	}
	scheduled := s.changeAvailability(targets, r.ConnectorId == 0, r.Type == v16.ChangeAvailabilityRequestTypeInoperative)
	status := v16.ChangeAvailabilityResponseStatusAccepted
	if scheduled {
		status = v16.ChangeAvailabilityResponseStatusScheduled
	}
	return v16.ChangeAvailabilityResponse{Status: status}, func() {
		s.syncStation()
		for _, e := range s.evses {
			s.syncStatus(e)
		}
	}, nil
}

// changeAvailability sets targets (whole station when station) operative or not; it reports
// whether a running transaction delays the change (Scheduled).
func (s *Station) changeAvailability(targets []*evse, station, inoperative bool) (scheduled bool) {
	if station {
		s.inoperative = inoperative
		s.pendingInoperative = false
	}
	for _, e := range targets {
		switch {
		case !inoperative:
			e.inoperative, e.pendingInoperative = false, false
		case e.tx != nil:
			e.pendingInoperative = true
			scheduled = true
		default:
			e.inoperative = true
		}
	}
	if station && inoperative && scheduled {
		// The station as a whole goes out of service when its last transaction has ended.
		s.inoperative, s.pendingInoperative = false, true
	}
	return scheduled
}

func remoteStart16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.RemoteStartTransactionRequest)
	rejected := v16.RemoteStartTransactionResponse{Status: v16.RemoteStartTransactionResponseStatusRejected}
	var e *evse
	if r.ConnectorId != nil {
		if e = s.evse(*r.ConnectorId); e == nil || !freeForRemoteStart(s, e) {
			return rejected, nil, nil
		}
	} else {
		for _, c := range s.evses {
			if freeForRemoteStart(s, c) && c.ev != nil { // prefer the EV waiting for its driver
				e = c
				break
			}
		}
		for _, c := range s.evses {
			if e == nil && freeForRemoteStart(s, c) {
				e = c
			}
		}
		if e == nil {
			return rejected, nil, nil
		}
	}
	var profile *chargingProfile
	if cp := r.ChargingProfile; cp != nil {
		if cp.ChargingProfilePurpose != v16.ChargingProfileChargingProfilePurposeTxProfile {
			return rejected, nil, nil
		}
		profile = profile16(cp.ChargingProfileId, cp.StackLevel, string(cp.ChargingProfilePurpose), string(cp.ChargingProfileKind),
			string(cp.RecurrencyKind), cp.ValidFrom, cp.ValidTo, cp.ChargingSchedule, e.id, s.wall())
	}
	return v16.RemoteStartTransactionResponse{Status: v16.RemoteStartTransactionResponseStatusAccepted}, func() {
		s.remoteStart(e, r.IdTag, nil, profile)
	}, nil
}

// remoteStart plugs a virtual EV in (if none waits) and starts charging for token, after an
// Authorize when the station is configured to check remote starts.
func (s *Station) remoteStart(e *evse, token string, remoteStartID *int, profile *chargingProfile) {
	if !freeForRemoteStart(s, e) {
		return
	}
	if e.ev == nil {
		e.ev = newEV(e.rnd, e.spec)
		e.ev.remote = true
		e.phase = phasePlugged
		s.syncStatus(e)
	}
	e.ev.token = token
	begin := func() {
		s.startTx(e, startRemote, remoteStartID)
		if profile != nil {
			profile.tx = e.tx
			s.installProfile(profile)
		}
	}
	if !s.boolSetting(settingAuthorizeRemote) || s.registration != regAccepted {
		begin()
		return
	}
	e.phase = phaseAuthorizing
	v := e.ev
	s.proto.authorize(token, func(r authResult) {
		if e.ev != v || e.phase != phaseAuthorizing {
			return
		}
		if r == authRejected {
			s.rejected(e)
			return
		}
		begin()
	})
}

func remoteStop16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.RemoteStopTransactionRequest)
	for _, e := range s.evses {
		if e.tx != nil && e.tx.known && e.tx.id16 == r.TransactionId {
			return v16.RemoteStopTransactionResponse{Status: v16.RemoteStopTransactionResponseStatusAccepted}, func() { s.remoteStop(e) }, nil
		}
	}
	return v16.RemoteStopTransactionResponse{Status: v16.RemoteStopTransactionResponseStatusRejected}, nil, nil
}

// remoteStop ends e's transaction on the CSMS's request; the driver unplugs a little later.
func (s *Station) remoteStop(e *evse) {
	if e.tx == nil {
		return
	}
	s.endTx(e, stopRemote)
	s.syncStatus(e)
	e.stepAt = s.in(uniformDur(e.rnd, 10*time.Second, 60*time.Second))
}

func trigger16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.TriggerMessageRequest)
	accepted := v16.TriggerMessageResponse{Status: v16.TriggerMessageResponseStatusAccepted}
	rejected := v16.TriggerMessageResponse{Status: v16.TriggerMessageResponseStatusRejected}
	targets := s.evses
	if r.ConnectorId != nil {
		if *r.ConnectorId != 0 || r.RequestedMessage == v16.TriggerMessageRequestRequestedMessageMeterValues {
			e := s.evse(*r.ConnectorId)
			if e == nil {
				return rejected, nil, nil
			}
			targets = []*evse{e}
		}
	}
	p := v16proto{s}
	switch r.RequestedMessage {
	case v16.TriggerMessageRequestRequestedMessageBootNotification:
		return accepted, func() {
			m := p.bootMsg(bootTriggered)
			s.ob.push(m)
		}, nil
	case v16.TriggerMessageRequestRequestedMessageHeartbeat:
		return accepted, func() { s.send(triggered(p.heartbeatMsg())) }, nil
	case v16.TriggerMessageRequestRequestedMessageStatusNotification:
		return accepted, func() {
			if r.ConnectorId == nil || *r.ConnectorId == 0 {
				s.send(triggered(p.stationStatusMsg()))
			}
			if r.ConnectorId == nil || *r.ConnectorId != 0 {
				for _, e := range targets {
					e.reported = p.status(e)
					s.send(triggered(p.statusMsg(e)))
				}
			}
		}, nil
	case v16.TriggerMessageRequestRequestedMessageMeterValues:
		return accepted, func() {
			for _, e := range targets {
				mv := p.meterValue(e, readTrigger)
				req := v16.MeterValuesRequest{ConnectorId: e.id, MeterValue: []v16.MeterValue{mv}}
				if e.tx != nil && e.tx.known {
					req.TransactionId = ptr(e.tx.id16)
				}
				s.send(triggered(&outMsg{action: "MeterValues", build: func() (any, error) { return req, nil }}))
			}
		}, nil
	case v16.TriggerMessageRequestRequestedMessageDiagnosticsStatusNotification:
		return accepted, func() {
			s.send(triggered(&outMsg{action: "DiagnosticsStatusNotification", build: func() (any, error) {
				return v16.DiagnosticsStatusNotificationRequest{Status: v16.DiagnosticsStatusNotificationRequestStatusIdle}, nil
			}}))
		}, nil
	case v16.TriggerMessageRequestRequestedMessageFirmwareStatusNotification:
		return accepted, func() {
			s.send(triggered(&outMsg{action: "FirmwareStatusNotification", build: func() (any, error) {
				return v16.FirmwareStatusNotificationRequest{Status: v16.FirmwareStatusNotificationRequestStatusIdle}, nil
			}}))
		}, nil
	}
	return v16.TriggerMessageResponse{Status: v16.TriggerMessageResponseStatusNotImplemented}, nil, nil
}

// triggered marks a message the CSMS asked for: it may go out while the station is Pending.
func triggered(m *outMsg) *outMsg {
	m.pendingOK = true
	return m
}

func getConfiguration16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.GetConfigurationRequest)
	var resp v16.GetConfigurationResponse
	entry := func(i int) v16.ConfigurationKey {
		st := settings16[i]
		return v16.ConfigurationKey{Key: st.name, Readonly: st.readonly, Value: s.value(i, nil)}
	}
	if len(r.Key) == 0 {
		for i := range settings16 {
			resp.ConfigurationKey = append(resp.ConfigurationKey, entry(i))
		}
		return resp, nil, nil
	}
	for _, k := range r.Key {
		if i := index16(k); i >= 0 {
			resp.ConfigurationKey = append(resp.ConfigurationKey, entry(i))
		} else {
			resp.UnknownKey = append(resp.UnknownKey, k)
		}
	}
	return resp, nil, nil
}

func index16(key string) int {
	for i, st := range settings16 {
		if st.name == key {
			return i
		}
	}
	return -1
}

func changeConfiguration16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.ChangeConfigurationRequest)
	i := index16(r.Key)
	switch {
	case i < 0:
		return v16.ChangeConfigurationResponse{Status: v16.ChangeConfigurationResponseStatusNotSupported}, nil, nil
	case settings16[i].readonly || !validValue(settings16[i].kind, r.Value):
		return v16.ChangeConfigurationResponse{Status: v16.ChangeConfigurationResponseStatusRejected}, nil, nil
	}
	return v16.ChangeConfigurationResponse{Status: v16.ChangeConfigurationResponseStatusAccepted}, func() { s.setValue(i, r.Value) }, nil
}

// profile16 converts a 1.6 charging profile (SetChargingProfile's csChargingProfiles or
// RemoteStartTransaction's chargingProfile, which have the same shape).
func profile16(id, stack int, purpose, kind, recurrency string, from, to *time.Time, cs v16.ChargingSchedule, evseID int, now time.Time) *chargingProfile {
	p := &chargingProfile{id: id, stackLevel: stack, kind: kind, recurrency: recurrency,
		validFrom: from, validTo: to, start: cs.StartSchedule, unitA: cs.ChargingRateUnit == v16.ChargingScheduleChargingRateUnitA,
		evse: evseID, setAt: now}
	switch purpose {
	case "ChargePointMaxProfile":
		p.purpose = purposeStationMax
	case "TxDefaultProfile":
		p.purpose = purposeTxDefault
	default:
		p.purpose = purposeTx
	}
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
	return p
}

func setChargingProfile16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.SetChargingProfileRequest)
	cp := r.CsChargingProfiles
	rejected := v16.SetChargingProfileResponse{Status: v16.SetChargingProfileResponseStatusRejected}
	if r.ConnectorId != 0 && s.evse(r.ConnectorId) == nil {
		return rejected, nil, nil
	}
	p := profile16(cp.ChargingProfileId, cp.StackLevel, string(cp.ChargingProfilePurpose), string(cp.ChargingProfileKind),
		string(cp.RecurrencyKind), cp.ValidFrom, cp.ValidTo, cp.ChargingSchedule, r.ConnectorId, s.wall())
	switch p.purpose {
	case purposeStationMax:
		if r.ConnectorId != 0 {
			return rejected, nil, nil
		}
	case purposeTx:
		e := s.evse(r.ConnectorId)
		if e == nil || e.tx == nil || cp.TransactionId != nil && (!e.tx.known || e.tx.id16 != *cp.TransactionId) {
			return rejected, nil, nil
		}
		p.tx = e.tx
	}
	return v16.SetChargingProfileResponse{Status: v16.SetChargingProfileResponseStatusAccepted}, func() { s.installProfile(p) }, nil
}

func clearChargingProfile16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.ClearChargingProfileRequest)
	var pur purpose
	switch r.ChargingProfilePurpose {
	case v16.ClearChargingProfileRequestChargingProfilePurposeChargePointMaxProfile:
		pur = purposeStationMax
	case v16.ClearChargingProfileRequestChargingProfilePurposeTxDefaultProfile:
		pur = purposeTxDefault
	case v16.ClearChargingProfileRequestChargingProfilePurposeTxProfile:
		pur = purposeTx
	}
	n := s.clearProfiles(clearFilter{id: r.Id, evse: r.ConnectorId, stackLevel: r.StackLevel, purpose: pur}.matches)
	if n == 0 {
		return v16.ClearChargingProfileResponse{Status: v16.ClearChargingProfileResponseStatusUnknown}, nil, nil
	}
	return v16.ClearChargingProfileResponse{Status: v16.ClearChargingProfileResponseStatusAccepted}, nil, nil
}

func getCompositeSchedule16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.GetCompositeScheduleRequest)
	rejected := v16.GetCompositeScheduleResponse{Status: v16.GetCompositeScheduleResponseStatusRejected}
	limitW, spec, volts, ok := s.compositeLimit(r.ConnectorId)
	if !ok {
		return rejected, nil, nil
	}
	unit := v16.ChargingScheduleChargingRateUnitW
	limit := limitW
	if r.ChargingRateUnit == v16.GetCompositeScheduleRequestChargingRateUnitA {
		unit = v16.ChargingScheduleChargingRateUnitA
		limit = ampsFromWatts(limitW, spec.DC, spec.Phases, volts)
	}
	now := s.wall()
	return v16.GetCompositeScheduleResponse{
		Status:        v16.GetCompositeScheduleResponseStatusAccepted,
		ConnectorId:   ptr(r.ConnectorId),
		ScheduleStart: &now,
		ChargingSchedule: &v16.ChargingSchedule{
			Duration:               ptr(r.Duration),
			StartSchedule:          &now,
			ChargingRateUnit:       unit,
			ChargingSchedulePeriod: []v16.ChargingSchedulePeriod{{StartPeriod: 0, Limit: roundLimit(limit)}},
		},
	}, nil, nil
}

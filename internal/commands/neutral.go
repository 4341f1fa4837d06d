package commands

import (
	"encoding/json"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// neutralCommands are the operations OCPP 1.6 and 2.0.1 both have with the same meaning: one
// input shape, translated per version. EVSE N of a 1.6 station is its connector N.
func neutralCommands() []*Command {
	return []*Command{
		{Name: "reset", Summary: "restart the station (type Hard/Soft, or 2.0.1's Immediate/OnIdle)",
			Actions: both("Reset"), build: map[string]builder{domain.OCPP16: reset16, domain.OCPP201: reset201}},
		{Name: "changeAvailability", Summary: "make the station or one EVSE Operative or Inoperative",
			Actions: both("ChangeAvailability"), build: map[string]builder{domain.OCPP16: availability16, domain.OCPP201: availability201}},
		{Name: "unlockConnector", Summary: "unlock the cable of a connector",
			Actions: both("UnlockConnector"), build: map[string]builder{domain.OCPP16: unlock16, domain.OCPP201: unlock201}},
		{Name: "triggerMessage", Summary: "ask the station to send a message now",
			Actions: both("TriggerMessage"), build: map[string]builder{domain.OCPP16: trigger16, domain.OCPP201: trigger201}},
		{Name: "getConfiguration", Summary: "read configuration keys (1.6 GetConfiguration, 2.0.1 GetVariables)",
			Actions: map[string]string{domain.OCPP16: "GetConfiguration", domain.OCPP201: "GetVariables"},
			build:   map[string]builder{domain.OCPP16: getConfig16, domain.OCPP201: getConfig201}},
		{Name: "setConfiguration", Summary: "set one configuration key (1.6 ChangeConfiguration, 2.0.1 SetVariables)",
			Actions: map[string]string{domain.OCPP16: "ChangeConfiguration", domain.OCPP201: "SetVariables"},
			build:   map[string]builder{domain.OCPP16: setConfig16, domain.OCPP201: setConfig201}},
		{Name: "clearCache", Summary: "clear the station's authorization cache",
			Actions: both("ClearCache"), build: map[string]builder{domain.OCPP16: clearCache16, domain.OCPP201: clearCache201}},
		{Name: "dataTransfer", Summary: "send vendor-specific data",
			Actions: both("DataTransfer"), build: map[string]builder{domain.OCPP16: dataTransfer16, domain.OCPP201: dataTransfer201}},
		{Name: "sendLocalList", Summary: "send a local authorization list as given (see also local-list/sync)",
			Actions: both("SendLocalList"), build: map[string]builder{domain.OCPP16: sendLocalList16, domain.OCPP201: sendLocalList201}},
		{Name: "getLocalListVersion", Summary: "read the version of the station's local authorization list",
			Actions: both("GetLocalListVersion"), build: map[string]builder{domain.OCPP16: empty16LocalList, domain.OCPP201: empty201LocalList}},
		{Name: "setChargingProfile", Summary: "install a charging profile on the station or an EVSE",
			Actions: both("SetChargingProfile"), build: map[string]builder{domain.OCPP16: setProfile16, domain.OCPP201: setProfile201}},
		{Name: "clearChargingProfile", Summary: "remove charging profiles by id or criteria",
			Actions: both("ClearChargingProfile"), build: map[string]builder{domain.OCPP16: clearProfile16, domain.OCPP201: clearProfile201}},
		{Name: "getCompositeSchedule", Summary: "ask for the schedule that results from all profiles on an EVSE",
			Actions: both("GetCompositeSchedule"), build: map[string]builder{domain.OCPP16: composite16, domain.OCPP201: composite201}},
		{Name: "remoteStart", Summary: "start charging for a token", Via: "POST /api/v1/sessions",
			Actions: map[string]string{domain.OCPP16: "RemoteStartTransaction", domain.OCPP201: "RequestStartTransaction"}},
		{Name: "remoteStop", Summary: "stop an active session", Via: "POST /api/v1/sessions/{id}/stop",
			Actions: map[string]string{domain.OCPP16: "RemoteStopTransaction", domain.OCPP201: "RequestStopTransaction"}},
	}
}

// ---- reset

type resetInput struct {
	Type   string `json:"type"`
	EvseID *int   `json:"evseId"`
}

// Hard and Soft are 1.6's names; 2.0.1's Immediate and OnIdle mean the same (restart now, or
// once no transaction runs), so either pair is accepted for either version.
var resetTo16 = map[string]v16.ResetRequestType{"Hard": "Hard", "Immediate": "Hard", "Soft": "Soft", "OnIdle": "Soft"}
var resetTo201 = map[string]v201.ResetEnumType{"Hard": "Immediate", "Immediate": "Immediate", "Soft": "OnIdle", "OnIdle": "OnIdle"}

func reset16(in json.RawMessage) (any, error) {
	var r resetInput
	if err := decode(in, &r); err != nil {
		return nil, err
	}
	if err := oneOf("type", r.Type, "Hard", "Soft", "Immediate", "OnIdle"); err != nil {
		return nil, err
	}
	if r.EvseID != nil {
		return nil, notFor("evseId", domain.OCPP16, "a 1.6 reset restarts the whole station")
	}
	return v16.ResetRequest{Type: resetTo16[r.Type]}, nil
}

func reset201(in json.RawMessage) (any, error) {
	var r resetInput
	if err := decode(in, &r); err != nil {
		return nil, err
	}
	if err := oneOf("type", r.Type, "Hard", "Soft", "Immediate", "OnIdle"); err != nil {
		return nil, err
	}
	if r.EvseID != nil && *r.EvseID < 1 {
		return nil, domain.Errorf(domain.ErrInvalid, "field \"evseId\" must be a positive EVSE id (leave it out to reset the station)")
	}
	return v201.ResetRequest{Type: resetTo201[r.Type], EvseId: r.EvseID}, nil
}

// ---- availability

type availabilityInput struct {
	EvseID      int    `json:"evseId"`
	ConnectorID *int   `json:"connectorId"`
	Status      string `json:"status"`
}

func (a availabilityInput) check() error {
	if err := oneOf("status", a.Status, "Operative", "Inoperative"); err != nil {
		return err
	}
	if a.EvseID < 0 {
		return domain.Errorf(domain.ErrInvalid, "field \"evseId\" must be 0 (the whole station) or an EVSE id")
	}
	if a.ConnectorID != nil && (*a.ConnectorID < 1 || a.EvseID == 0) {
		return domain.Errorf(domain.ErrInvalid, "field \"connectorId\" must be a positive connector id of the EVSE given in evseId")
	}
	return nil
}

func availability16(in json.RawMessage) (any, error) {
	var a availabilityInput
	if err := decode(in, &a); err != nil {
		return nil, err
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	if a.ConnectorID != nil && *a.ConnectorID != 1 {
		return nil, notFor("connectorId", domain.OCPP16, "each 1.6 EVSE has the single connector 1")
	}
	return v16.ChangeAvailabilityRequest{ConnectorId: a.EvseID, Type: v16.ChangeAvailabilityRequestType(a.Status)}, nil
}

func availability201(in json.RawMessage) (any, error) {
	var a availabilityInput
	if err := decode(in, &a); err != nil {
		return nil, err
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	req := v201.ChangeAvailabilityRequest{OperationalStatus: v201.OperationalStatusEnumType(a.Status)}
	if a.EvseID > 0 {
		req.Evse = &v201.EVSEType{Id: a.EvseID, ConnectorId: a.ConnectorID}
	}
	return req, nil
}

// ---- unlock

type unlockInput struct {
	EvseID      int  `json:"evseId"`
	ConnectorID *int `json:"connectorId"`
}

func (u unlockInput) check() (int, error) {
	if u.EvseID < 1 {
		return 0, domain.Errorf(domain.ErrInvalid, "field \"evseId\" is required: the positive id of the EVSE to unlock")
	}
	conn := 1
	if u.ConnectorID != nil {
		if *u.ConnectorID < 1 {
			return 0, domain.Errorf(domain.ErrInvalid, "field \"connectorId\" must be a positive connector id")
		}
		conn = *u.ConnectorID
	}
	return conn, nil
}

func unlock16(in json.RawMessage) (any, error) {
	var u unlockInput
	if err := decode(in, &u); err != nil {
		return nil, err
	}
	conn, err := u.check()
	if err != nil {
		return nil, err
	}
	if conn != 1 {
		return nil, notFor("connectorId", domain.OCPP16, "each 1.6 EVSE has the single connector 1")
	}
	return v16.UnlockConnectorRequest{ConnectorId: u.EvseID}, nil
}

func unlock201(in json.RawMessage) (any, error) {
	var u unlockInput
	if err := decode(in, &u); err != nil {
		return nil, err
	}
	conn, err := u.check()
	if err != nil {
		return nil, err
	}
	return v201.UnlockConnectorRequest{EvseId: u.EvseID, ConnectorId: conn}, nil
}

// ---- trigger

type triggerInput struct {
	Message     string `json:"message"`
	EvseID      *int   `json:"evseId"`
	ConnectorID *int   `json:"connectorId"`
}

func trigger16(in json.RawMessage) (any, error) {
	var t triggerInput
	if err := decode(in, &t); err != nil {
		return nil, err
	}
	if err := oneOf("message", t.Message, "BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
		"Heartbeat", "MeterValues", "StatusNotification"); err != nil {
		return nil, err
	}
	if t.ConnectorID != nil {
		return nil, notFor("connectorId", domain.OCPP16, "give the EVSE in evseId")
	}
	if t.EvseID != nil && *t.EvseID < 1 {
		return nil, domain.Errorf(domain.ErrInvalid, "field \"evseId\" must be a positive EVSE id")
	}
	return v16.TriggerMessageRequest{RequestedMessage: v16.TriggerMessageRequestRequestedMessage(t.Message), ConnectorId: t.EvseID}, nil
}

func trigger201(in json.RawMessage) (any, error) {
	var t triggerInput
	if err := decode(in, &t); err != nil {
		return nil, err
	}
	if err := oneOf("message", t.Message, "BootNotification", "LogStatusNotification", "FirmwareStatusNotification",
		"Heartbeat", "MeterValues", "SignChargingStationCertificate", "SignV2GCertificate", "StatusNotification",
		"TransactionEvent", "SignCombinedCertificate", "PublishFirmwareStatusNotification"); err != nil {
		return nil, err
	}
	req := v201.TriggerMessageRequest{RequestedMessage: v201.MessageTriggerEnumType(t.Message)}
	switch {
	case t.EvseID != nil && *t.EvseID < 1:
		return nil, domain.Errorf(domain.ErrInvalid, "field \"evseId\" must be a positive EVSE id")
	case t.ConnectorID != nil && (t.EvseID == nil || *t.ConnectorID < 1):
		return nil, domain.Errorf(domain.ErrInvalid, "field \"connectorId\" must be a positive connector id of the EVSE given in evseId")
	case t.EvseID != nil:
		req.Evse = &v201.EVSEType{Id: *t.EvseID, ConnectorId: t.ConnectorID}
	}
	return req, nil
}

// ---- configuration

type getConfigInput struct {
	Keys []string `json:"keys"`
}

type setConfigInput struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

func getConfig16(in json.RawMessage) (any, error) {
	var g getConfigInput
	if err := decode(in, &g); err != nil {
		return nil, err
	}
	for i, k := range g.Keys {
		if k == "" || len(k) > 50 {
			return nil, domain.Errorf(domain.ErrInvalid, "field \"keys[%d]\" must be a 1.6 key of 1 to 50 characters", i)
		}
	}
	return v16.GetConfigurationRequest{Key: g.Keys}, nil
}

func getConfig201(in json.RawMessage) (any, error) {
	var g getConfigInput
	if err := decode(in, &g); err != nil {
		return nil, err
	}
	if len(g.Keys) == 0 {
		return nil, domain.Errorf(domain.ErrInvalid,
			"field \"keys\" is required for OCPP 2.0.1 stations (Component/Variable keys); the command getBaseReport reads the whole device model")
	}
	req := v201.GetVariablesRequest{}
	for i, k := range g.Keys {
		dv, err := domain.ParseDeviceKey(k)
		if err != nil {
			return nil, domain.Errorf(domain.ErrInvalid, "field \"keys[%d]\": %v", i, err)
		}
		comp, variable := DeviceTypes(dv)
		req.GetVariableData = append(req.GetVariableData, v201.GetVariableDataType{Component: comp, Variable: variable})
	}
	return req, nil
}

func (s setConfigInput) check() error {
	switch {
	case s.Key == "":
		return required("key")
	case s.Value == nil:
		return required("value")
	}
	return nil
}

func setConfig16(in json.RawMessage) (any, error) {
	var s setConfigInput
	if err := decode(in, &s); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	if len(s.Key) > 50 || len(*s.Value) > 500 {
		return nil, domain.Errorf(domain.ErrInvalid, "field \"key\" is at most 50 and \"value\" at most 500 characters in OCPP 1.6")
	}
	return v16.ChangeConfigurationRequest{Key: s.Key, Value: *s.Value}, nil
}

func setConfig201(in json.RawMessage) (any, error) {
	var s setConfigInput
	if err := decode(in, &s); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	dv, err := domain.ParseDeviceKey(s.Key)
	if err != nil {
		return nil, domain.Errorf(domain.ErrInvalid, "field \"key\": %v", err)
	}
	if len(*s.Value) > 1000 {
		return nil, domain.Errorf(domain.ErrInvalid, "field \"value\" is at most 1000 characters in OCPP 2.0.1")
	}
	comp, variable := DeviceTypes(dv)
	return v201.SetVariablesRequest{SetVariableData: []v201.SetVariableDataType{{
		AttributeValue: *s.Value, Component: comp, Variable: variable,
	}}}, nil
}

// DeviceTypes converts a device-model variable to the OCPP 2.0.1 component and variable.
func DeviceTypes(dv domain.DeviceVariable) (v201.ComponentType, v201.VariableType) {
	comp := v201.ComponentType{Name: dv.Component, Instance: dv.ComponentInstance}
	if dv.EVSE > 0 {
		comp.Evse = &v201.EVSEType{Id: dv.EVSE}
		if dv.Connector > 0 {
			c := dv.Connector
			comp.Evse.ConnectorId = &c
		}
	}
	return comp, v201.VariableType{Name: dv.Variable, Instance: dv.VariableInstance}
}

// DeviceVariableOf is the inverse of DeviceTypes.
func DeviceVariableOf(comp v201.ComponentType, variable v201.VariableType) domain.DeviceVariable {
	dv := domain.DeviceVariable{Component: comp.Name, ComponentInstance: comp.Instance, Variable: variable.Name, VariableInstance: variable.Instance}
	if comp.Evse != nil {
		dv.EVSE = comp.Evse.Id
		if comp.Evse.ConnectorId != nil {
			dv.Connector = *comp.Evse.ConnectorId
		}
	}
	return dv
}

// ---- simple ones

type emptyInput struct{}

func clearCache16(in json.RawMessage) (any, error) {
	return v16.ClearCacheRequest{}, decode(in, &emptyInput{})
}

func clearCache201(in json.RawMessage) (any, error) {
	return v201.ClearCacheRequest{}, decode(in, &emptyInput{})
}

func empty16LocalList(in json.RawMessage) (any, error) {
	return v16.GetLocalListVersionRequest{}, decode(in, &emptyInput{})
}

func empty201LocalList(in json.RawMessage) (any, error) {
	return v201.GetLocalListVersionRequest{}, decode(in, &emptyInput{})
}

type dataTransferInput struct {
	VendorID  string          `json:"vendorId"`
	MessageID string          `json:"messageId"`
	Data      json.RawMessage `json:"data"`
}

func (d dataTransferInput) check() error {
	if d.VendorID == "" {
		return required("vendorId")
	}
	return nil
}

func dataTransfer16(in json.RawMessage) (any, error) {
	var d dataTransferInput
	if err := decode(in, &d); err != nil {
		return nil, err
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	req := v16.DataTransferRequest{VendorId: d.VendorID, MessageId: d.MessageID}
	if len(d.Data) > 0 && string(d.Data) != "null" {
		if err := json.Unmarshal(d.Data, &req.Data); err != nil {
			return nil, notFor("data", domain.OCPP16, "1.6 DataTransfer data is a string")
		}
	}
	return req, nil
}

func dataTransfer201(in json.RawMessage) (any, error) {
	var d dataTransferInput
	if err := decode(in, &d); err != nil {
		return nil, err
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	req := v201.DataTransferRequest{VendorId: d.VendorID, MessageId: d.MessageID}
	if len(d.Data) > 0 && string(d.Data) != "null" {
		req.Data = d.Data
	}
	return req, nil
}

// ---- local list

// LocalListInput is the version-neutral SendLocalList: entries without a status are removals
// (Differential only).
type LocalListInput struct {
	UpdateType string                  `json:"updateType"`
	Version    int                     `json:"version"`
	Entries    []domain.LocalListEntry `json:"entries"`
}

func (l LocalListInput) check() error {
	if err := oneOf("updateType", l.UpdateType, "Full", "Differential"); err != nil {
		return err
	}
	if l.Version < 1 {
		return domain.Errorf(domain.ErrInvalid, "field \"version\" must be a positive list version")
	}
	for i, e := range l.Entries {
		if e.IDToken == "" {
			return domain.Errorf(domain.ErrInvalid, "field \"entries[%d].idToken\" is required", i)
		}
		if e.Status == "" && l.UpdateType == "Full" {
			return domain.Errorf(domain.ErrInvalid, "field \"entries[%d].status\" is required in a Full update", i)
		}
		if e.Status != "" {
			if err := oneOf("entries[].status", e.Status, "Accepted", "Blocked", "Expired", "Invalid"); err != nil {
				return err
			}
		}
	}
	return nil
}

// LocalList16 builds the OCPP 1.6 SendLocalList of a list update.
func LocalList16(l LocalListInput) v16.SendLocalListRequest {
	req := v16.SendLocalListRequest{ListVersion: l.Version, UpdateType: v16.SendLocalListRequestUpdateType(l.UpdateType)}
	for _, e := range l.Entries {
		item := v16.LocalAuthorizationList{IdTag: e.IDToken}
		if e.Status != "" {
			item.IdTagInfo = &v16.IdTagInfo{Status: v16.IdTagInfoStatus(e.Status), ParentIdTag: e.GroupID, ExpiryDate: timePtr(e.ExpiresAt)}
		}
		req.LocalAuthorizationList = append(req.LocalAuthorizationList, item)
	}
	return req
}

// LocalList201 builds the OCPP 2.0.1 SendLocalList of a list update.
func LocalList201(l LocalListInput) v201.SendLocalListRequest {
	req := v201.SendLocalListRequest{VersionNumber: l.Version, UpdateType: v201.UpdateEnumType(l.UpdateType)}
	for _, e := range l.Entries {
		item := v201.AuthorizationData{IdToken: v201.IdTokenType{IdToken: e.IDToken, Type: tokenType201(e.Type)}}
		if e.Status != "" {
			info := &v201.IdTokenInfoType{Status: v201.AuthorizationStatusEnumType(e.Status), CacheExpiryDateTime: timePtr(e.ExpiresAt)}
			if e.GroupID != "" {
				info.GroupIdToken = &v201.IdTokenType{IdToken: e.GroupID, Type: v201.IdTokenEnumTypeCentral}
			}
			item.IdTokenInfo = info
		}
		req.LocalAuthorizationList = append(req.LocalAuthorizationList, item)
	}
	return req
}

func tokenType201(t string) v201.IdTokenEnumType {
	switch t {
	case "Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization":
		return v201.IdTokenEnumType(t)
	}
	return v201.IdTokenEnumTypeISO14443
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func sendLocalList16(in json.RawMessage) (any, error) {
	var l LocalListInput
	if err := decode(in, &l); err != nil {
		return nil, err
	}
	if err := l.check(); err != nil {
		return nil, err
	}
	return LocalList16(l), nil
}

func sendLocalList201(in json.RawMessage) (any, error) {
	var l LocalListInput
	if err := decode(in, &l); err != nil {
		return nil, err
	}
	if err := l.check(); err != nil {
		return nil, err
	}
	return LocalList201(l), nil
}

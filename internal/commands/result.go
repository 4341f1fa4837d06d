package commands

import (
	"encoding/json"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// Result is a station's answer to a command in one shape for every command and version.
type Result struct {
	Command     string `json:"command"`
	StationID   string `json:"stationId"`
	OCPPVersion string `json:"ocppVersion"`
	Action      string `json:"action"`
	// Status is the answer's status field (Accepted, Rejected, Scheduled, Unlocked, ...), or
	// "Accepted" for an answer without one (the station answered with what it was asked for).
	Status string `json:"status"`
	// Accepted tells whether the station agreed to do what it was asked.
	Accepted bool `json:"accepted"`
	// Values are the configuration values of getConfiguration and setConfiguration.
	Values      []ConfigValue   `json:"values,omitempty"`
	UnknownKeys []string        `json:"unknownKeys,omitempty"`
	ListVersion *int            `json:"listVersion,omitempty"`
	Response    json.RawMessage `json:"response"`
}

// ConfigValue is one configuration key in a result.
type ConfigValue struct {
	Key      string `json:"key"`
	Value    string `json:"value,omitempty"`
	ReadOnly bool   `json:"readOnly,omitempty"`
	Status   string `json:"status"`
}

// acceptedStatus are the answers that mean "done or going to be done".
var acceptedStatus = map[string]bool{"Accepted": true, "Scheduled": true, "Unlocked": true, "RebootRequired": true}

// Normalize turns the station's CALLRESULT payload into a Result.
func Normalize(c *Command, stationID, version, action string, response json.RawMessage) Result {
	r := Result{Command: c.Name, StationID: stationID, OCPPVersion: version, Action: action, Status: "Accepted", Response: response}
	var fields struct {
		Status any `json:"status"`
	}
	if json.Unmarshal(response, &fields) == nil {
		if s, ok := fields.Status.(string); ok {
			r.Status = s
		}
	}
	switch action {
	case "GetConfiguration":
		var out v16.GetConfigurationResponse
		_ = json.Unmarshal(response, &out)
		for _, k := range out.ConfigurationKey {
			r.Values = append(r.Values, ConfigValue{Key: k.Key, Value: k.Value, ReadOnly: k.Readonly, Status: "Accepted"})
		}
		r.UnknownKeys = out.UnknownKey
	case "GetVariables":
		var out v201.GetVariablesResponse
		_ = json.Unmarshal(response, &out)
		for _, g := range out.GetVariableResult {
			key := domain.DeviceKey(DeviceVariableOf(g.Component, g.Variable))
			if g.AttributeStatus == v201.GetVariableStatusEnumTypeUnknownComponent || g.AttributeStatus == v201.GetVariableStatusEnumTypeUnknownVariable {
				r.UnknownKeys = append(r.UnknownKeys, key)
			}
			r.Values = append(r.Values, ConfigValue{Key: key, Value: g.AttributeValue, Status: string(g.AttributeStatus)})
		}
	case "SetVariables":
		var out v201.SetVariablesResponse
		_ = json.Unmarshal(response, &out)
		for _, s := range out.SetVariableResult {
			r.Values = append(r.Values, ConfigValue{Key: domain.DeviceKey(DeviceVariableOf(s.Component, s.Variable)), Status: string(s.AttributeStatus)})
		}
		// One variable set through setConfiguration: its status is the command's status.
		if c.Name == "setConfiguration" && len(r.Values) == 1 {
			r.Status = r.Values[0].Status
		}
	case "GetLocalListVersion":
		var out struct {
			ListVersion   *int `json:"listVersion"`
			VersionNumber *int `json:"versionNumber"`
		}
		_ = json.Unmarshal(response, &out)
		r.ListVersion = out.ListVersion
		if r.ListVersion == nil {
			r.ListVersion = out.VersionNumber
		}
	}
	r.Accepted = acceptedStatus[r.Status]
	return r
}

package domain

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ConfigItem is one configuration value of a station as it last reported it: an OCPP 1.6
// configuration key, or one OCPP 2.0.1 variable (its Actual attribute) of the device model.
type ConfigItem struct {
	// Key is the 1.6 key, or for 2.0.1 the component and variable written as DeviceKey does.
	Key      string
	Value    string
	ReadOnly bool
	// Detail is, for 2.0.1, the reported component, variable and characteristics as JSON; nil
	// for 1.6.
	Detail    []byte
	UpdatedAt time.Time
}

// DeviceVariable names one variable of the OCPP 2.0.1 device model.
type DeviceVariable struct {
	Component         string
	ComponentInstance string
	EVSE              int // 0: not on an EVSE
	Connector         int // 0: not on a connector
	Variable          string
	VariableInstance  string
}

// DeviceKey writes a device-model variable as one configuration key:
// Component[:instance][@evse[.connector]]/Variable[:instance], e.g. "OCPPCommCtrlr/HeartbeatInterval"
// or "EVSE@1/Power". Templates and the API use the same form for both versions.
func DeviceKey(v DeviceVariable) string {
	var b strings.Builder
	b.WriteString(v.Component)
	if v.ComponentInstance != "" {
		b.WriteString(":" + v.ComponentInstance)
	}
	if v.EVSE > 0 {
		b.WriteString("@" + strconv.Itoa(v.EVSE))
		if v.Connector > 0 {
			b.WriteString("." + strconv.Itoa(v.Connector))
		}
	}
	b.WriteString("/" + v.Variable)
	if v.VariableInstance != "" {
		b.WriteString(":" + v.VariableInstance)
	}
	return b.String()
}

// ParseDeviceKey reads a key written by DeviceKey.
func ParseDeviceKey(key string) (DeviceVariable, error) {
	comp, variable, ok := strings.Cut(key, "/")
	if !ok || comp == "" || variable == "" || strings.Contains(variable, "/") {
		return DeviceVariable{}, Errorf(ErrInvalid, "key %q is not Component[:instance][@evse[.connector]]/Variable[:instance]", key)
	}
	var v DeviceVariable
	if c, evse, ok := strings.Cut(comp, "@"); ok {
		comp = c
		e, conn, hasConn := strings.Cut(evse, ".")
		n, err := strconv.Atoi(e)
		if err != nil || n < 1 {
			return DeviceVariable{}, Errorf(ErrInvalid, "key %q: the EVSE after @ must be a positive number", key)
		}
		v.EVSE = n
		if hasConn {
			n, err := strconv.Atoi(conn)
			if err != nil || n < 1 {
				return DeviceVariable{}, Errorf(ErrInvalid, "key %q: the connector after the EVSE must be a positive number", key)
			}
			v.Connector = n
		}
	}
	v.Component, v.ComponentInstance, _ = strings.Cut(comp, ":")
	v.Variable, v.VariableInstance, _ = strings.Cut(variable, ":")
	if v.Component == "" || v.Variable == "" {
		return DeviceVariable{}, Errorf(ErrInvalid, "key %q names no component or no variable", key)
	}
	return v, nil
}

// ConfigTemplate is the configuration a station model should have: for every station whose
// boot reported this vendor and model, each key should hold its value.
type ConfigTemplate struct {
	ID        string
	Vendor    string
	Model     string
	Values    map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Validate checks a template's fields.
func (t ConfigTemplate) Validate() error {
	switch {
	case !validID(t.ID):
		return Errorf(ErrInvalid, "template id must be 1 to 48 characters of [A-Za-z0-9._-]")
	case t.Vendor == "" || t.Model == "" || !cleanText(t.Vendor) || !cleanText(t.Model) || len(t.Vendor) > 50 || len(t.Model) > 50:
		return Errorf(ErrInvalid, "template vendor and model are required (text of at most 50 characters)")
	case len(t.Values) == 0:
		return Errorf(ErrInvalid, "template values must hold at least one key")
	}
	for k, v := range t.Values {
		if k == "" || len(k) > 200 || len(v) > 2500 || !cleanText(k) || !cleanText(v) {
			return Errorf(ErrInvalid, "template key %q: keys are 1 to 200 characters, values at most 2500", k)
		}
	}
	return nil
}

func validID(id string) bool {
	if id == "" || len(id) > 48 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// ConfigStore keeps stations' reported configuration and the configuration templates.
type ConfigStore interface {
	// ReplaceStationConfig replaces all of a station's configuration (a full report).
	// ErrNotFound if the station does not exist.
	ReplaceStationConfig(ctx context.Context, stationID string, items []ConfigItem) error
	// UpsertStationConfig adds or changes some of a station's configuration items.
	UpsertStationConfig(ctx context.Context, stationID string, items []ConfigItem) error
	// StationConfig returns a station's configuration ordered by key (empty before any report).
	StationConfig(ctx context.Context, stationID string) ([]ConfigItem, error)
	// PutConfigTemplate creates or replaces a template; created tells which.
	PutConfigTemplate(ctx context.Context, t ConfigTemplate) (created bool, err error)
	// ConfigTemplate returns one template; ErrNotFound if absent.
	ConfigTemplate(ctx context.Context, id string) (ConfigTemplate, error)
	// ConfigTemplates lists all templates ordered by id.
	ConfigTemplates(ctx context.Context) ([]ConfigTemplate, error)
	// DeleteConfigTemplate removes a template; ErrNotFound if absent.
	DeleteConfigTemplate(ctx context.Context, id string) error
}

// LocalList is what the CSMS last sent a station as its local authorization list.
type LocalList struct {
	StationID  string
	Version    int
	UpdateType string // "Full" or "Differential": how the last update was sent
	Entries    []LocalListEntry
	SentAt     time.Time
}

// LocalListEntry is one token on a station's local authorization list.
type LocalListEntry struct {
	IDToken   string    `json:"idToken"`
	Type      string    `json:"type"`
	Status    string    `json:"status"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	GroupID   string    `json:"groupId,omitempty"`
}

// LocalListStore keeps, per station, the local authorization list the CSMS last sent.
type LocalListStore interface {
	// LocalList returns a station's list state; ErrNotFound if none was ever sent.
	LocalList(ctx context.Context, stationID string) (LocalList, error)
	// SaveLocalList records a list sent to a station (replacing the previous record).
	// ErrNotFound if the station does not exist.
	SaveLocalList(ctx context.Context, l LocalList) error
}

// LocalListSync is the outcome of bringing one station's local list in step with the tokens.
type LocalListSync struct {
	StationID string
	// UpdateType is how the list was sent (Full or Differential); "" when nothing was sent
	// because the station already had the current list.
	UpdateType string
	Version    int // the list version now recorded (sent, or unchanged)
	Changes    int // entries in the update sent
	// StationVersion is the version the station reported before the update (GetLocalListVersion).
	StationVersion int
	Status         string // the station's answer to SendLocalList; "UpToDate" when nothing was sent
}

// ConfigDifference is one key where a station differs from its template.
type ConfigDifference struct {
	Key     string
	Want    string
	Have    string
	Missing bool // the station never reported the key
}

// ConfigDrift is how one station of a template's model differs from the template.
type ConfigDrift struct {
	StationID   string
	Connected   bool
	Reported    bool // the station has reported its configuration at least once
	Differences []ConfigDifference
}

// ConfigSetResult is the station's answer to setting one key.
type ConfigSetResult struct {
	Key    string
	Value  string
	Status string
	Error  string
}

// ValidateConfigItems checks configuration items before they are stored.
func ValidateConfigItems(items []ConfigItem) error {
	for _, it := range items {
		if it.Key == "" || len(it.Key) > 200 || !cleanText(it.Key) {
			return Errorf(ErrInvalid, "configuration key %q must be 1 to 200 characters of UTF-8 text", it.Key)
		}
		if len(it.Value) > 5000 || !cleanText(it.Value) {
			return Errorf(ErrInvalid, "configuration value of %q must be at most 5000 characters of UTF-8 text", it.Key)
		}
	}
	return nil
}

// Validate checks a local list record before it is stored.
func (l LocalList) Validate() error {
	if l.StationID == "" {
		return Errorf(ErrInvalid, "the station id is empty")
	}
	if l.Version < 0 || l.Version > 1<<31-1 {
		return Errorf(ErrInvalid, "local list version %d is out of range", l.Version)
	}
	if l.UpdateType != "Full" && l.UpdateType != "Differential" {
		return Errorf(ErrInvalid, "local list update type %q is not Full or Differential", l.UpdateType)
	}
	for _, e := range l.Entries {
		if e.IDToken == "" || !cleanText(e.IDToken) || !cleanText(e.GroupID) || !cleanText(e.Type) || !cleanText(e.Status) {
			return Errorf(ErrInvalid, "local list entry %q is not valid text", e.IDToken)
		}
		if y := e.ExpiresAt.Year(); !e.ExpiresAt.IsZero() && (y < 1 || y > 9999) {
			return Errorf(ErrInvalid, "local list entry %q expires out of range", e.IDToken)
		}
	}
	return nil
}

// cleanText is text every store keeps as it is: valid UTF-8 without NUL.
func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// TemplateApply is what applying a template did to one station.
type TemplateApply struct {
	StationID string
	Results   []ConfigSetResult
	Err       error // the station could not be asked at all (offline, ...)
}

// Package commands is the table of typed remote operations the REST API offers on top of the raw
// OCPP call: each command takes a camelCase JSON input, checks it, and builds the OCPP request
// for the station's version (one command, translated per version, where OCPP 1.6 and 2.0.1 mean
// the same thing; the version's own payload where they do not), and turns the station's answer
// into one result shape. It sends nothing itself: the caller sends the built call through the
// audited csms Call path. It imports the domain, the OCPP schema catalogs and generated types.
package commands

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp/schema"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// builder turns a command's input into the OCPP request payload of one version.
type builder func(in json.RawMessage) (any, error)

// Command is one typed remote operation.
type Command struct {
	Name    string
	Summary string
	// Actions is the OCPP action sent per version ("1.6", "2.0.1"); a version that is missing
	// does not offer the command.
	Actions map[string]string
	// Native: the input is the station version's own OCPP request payload (version-specific
	// commands); otherwise the input is the command's own version-neutral shape.
	Native bool
	// Via names the API route that carries the command when it is not sent through
	// /commands/{command} (remote start and stop live with the sessions).
	Via   string
	build map[string]builder
}

// Table holds every command.
type Table struct {
	byName   map[string]*Command
	catalogs map[string]*schema.Catalog
}

// New returns the command table.
func New() *Table {
	t := &Table{byName: map[string]*Command{}, catalogs: map[string]*schema.Catalog{
		domain.OCPP16: v16.Catalog(), domain.OCPP201: v201.Catalog(),
	}}
	for _, c := range neutralCommands() {
		t.byName[c.Name] = c
	}
	for _, c := range t.nativeCommands() {
		t.byName[c.Name] = c
	}
	return t
}

// Lookup finds a command by name.
func (t *Table) Lookup(name string) (*Command, bool) {
	c, ok := t.byName[name]
	return c, ok
}

// List returns every command ordered by name.
func (t *Table) List() []*Command {
	out := make([]*Command, 0, len(t.byName))
	for _, c := range t.byName {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Versions lists the OCPP versions that offer c, oldest first.
func (c *Command) Versions() []string {
	var out []string
	for _, v := range []string{domain.OCPP16, domain.OCPP201} {
		if _, ok := c.Actions[v]; ok {
			out = append(out, v)
		}
	}
	return out
}

// Build checks the input and returns the OCPP action and request payload for a station of the
// given version. Every failure is domain.ErrInvalid with a message naming the field.
func (t *Table) Build(c *Command, version string, input json.RawMessage) (string, json.RawMessage, error) {
	action, ok := c.Actions[version]
	if !ok {
		return "", nil, domain.Errorf(domain.ErrInvalid, "command %s is not available for OCPP %s stations (it is for OCPP %s)",
			c.Name, version, strings.Join(c.Versions(), ", "))
	}
	b := c.build[version]
	if b == nil {
		return "", nil, domain.Errorf(domain.ErrInvalid, "command %s is sent through %s", c.Name, c.Via)
	}
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("{}")
	}
	payload, err := b(input)
	if err != nil {
		return "", nil, err
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return "", nil, err
	}
	// The built request must hold the schema; a failure here names the OCPP field.
	if act, ok := t.catalogs[version].Lookup(action); ok {
		if err := act.Request.Validate(raw); err != nil {
			return "", nil, domain.Errorf(domain.ErrInvalid, "%s for OCPP %s: %v", c.Name, version, err)
		}
	}
	return action, raw, nil
}

// decode reads a command's input into v, refusing unknown fields and naming a field of the
// wrong type.
func decode(in json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field == "":
			return domain.Errorf(domain.ErrInvalid, "the command input must be a JSON object")
		case errors.As(err, &typeErr):
			return domain.Errorf(domain.ErrInvalid, "field %q must be of type %s", typeErr.Field, typeErr.Type)
		case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
			return domain.Errorf(domain.ErrInvalid, "the command input is not valid JSON")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return domain.Errorf(domain.ErrInvalid, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return domain.Errorf(domain.ErrInvalid, "the command input must be a JSON object: %v", firstLine(err.Error()))
	}
	if dec.More() {
		return domain.Errorf(domain.ErrInvalid, "the command input must be a single JSON object")
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimPrefix(s, "json: ")
}

// oneOf checks that field holds one of the allowed values and names both when it does not.
func oneOf(field, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	if value == "" {
		return domain.Errorf(domain.ErrInvalid, "field %q is required (one of %s)", field, strings.Join(allowed, ", "))
	}
	return domain.Errorf(domain.ErrInvalid, "field %q must be one of %s, not %q", field, strings.Join(allowed, ", "), value)
}

func required(field string) error {
	return domain.Errorf(domain.ErrInvalid, "field %q is required", field)
}

func notFor(field, version, why string) error {
	return domain.Errorf(domain.ErrInvalid, "field %q is not available for OCPP %s stations: %s", field, version, why)
}

// NewRequestID returns a random positive id for the requestId of a 2.0.1 report request.
func NewRequestID() int {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return int(binary.BigEndian.Uint32(b[:])>>2) + 1
}

// nativeSpec is a version-specific command: its input is the version's OCPP request as is.
type nativeSpec struct {
	name, summary string
	actions       map[string]string
	// requestID: the request carries a requestId the CSMS picks; filled in when absent.
	requestID bool
}

func (t *Table) nativeCommands() []*Command {
	specs := []nativeSpec{
		{"extendedTriggerMessage", "ask an OCPP 1.6 station (security extension) to send a message now", map[string]string{domain.OCPP16: "ExtendedTriggerMessage"}, false},
		{"certificateSigned", "deliver the signed certificate chain a station asked for", both("CertificateSigned"), false},
		{"installCertificate", "install a root certificate on the station", both("InstallCertificate"), false},
		{"deleteCertificate", "delete an installed certificate", both("DeleteCertificate"), false},
		{"getInstalledCertificateIds", "list the station's installed certificates", both("GetInstalledCertificateIds"), false},
		{"getVariables", "read device-model variables (OCPP 2.0.1 GetVariables)", v201Only("GetVariables"), false},
		{"setVariables", "set device-model variables (OCPP 2.0.1 SetVariables)", v201Only("SetVariables"), false},
		{"getBaseReport", "ask for a device-model report (sent back as NotifyReport)", v201Only("GetBaseReport"), true},
		{"getReport", "ask for a device-model report by component/variable criteria", v201Only("GetReport"), true},
		{"setNetworkProfile", "set a network connection profile", v201Only("SetNetworkProfile"), false},
		{"getChargingProfiles", "ask for the installed charging profiles (sent back as ReportChargingProfiles)", v201Only("GetChargingProfiles"), true},
		{"setDisplayMessage", "show a message on the station's display", v201Only("SetDisplayMessage"), false},
		{"getDisplayMessages", "ask for the configured display messages (sent back as NotifyDisplayMessages)", v201Only("GetDisplayMessages"), true},
		{"clearDisplayMessage", "remove a display message", v201Only("ClearDisplayMessage"), false},
		{"customerInformation", "ask for or clear what the station holds on a customer", v201Only("CustomerInformation"), true},
		{"setVariableMonitoring", "set monitors on variables", v201Only("SetVariableMonitoring"), false},
		{"setMonitoringBase", "choose the base set of monitors", v201Only("SetMonitoringBase"), false},
		{"setMonitoringLevel", "set the severity level monitors report from", v201Only("SetMonitoringLevel"), false},
		{"clearVariableMonitoring", "remove monitors", v201Only("ClearVariableMonitoring"), false},
		{"getMonitoringReport", "ask for the installed monitors (sent back as NotifyMonitoringReport)", v201Only("GetMonitoringReport"), true},
	}
	out := make([]*Command, 0, len(specs))
	for _, sp := range specs {
		c := &Command{Name: sp.name, Summary: sp.summary, Actions: sp.actions, Native: true, build: map[string]builder{}}
		for version, action := range sp.actions {
			c.build[version] = t.native(version, action, sp.requestID)
		}
		out = append(out, c)
	}
	return out
}

func both(action string) map[string]string {
	return map[string]string{domain.OCPP16: action, domain.OCPP201: action}
}

func v201Only(action string) map[string]string { return map[string]string{domain.OCPP201: action} }

// native passes the version's own payload through after checking it against the schema (which
// names the offending field) and decoding it into the generated type.
func (t *Table) native(version, action string, requestID bool) builder {
	return func(in json.RawMessage) (any, error) {
		var fields map[string]json.RawMessage
		if err := decode(in, &fields); err != nil {
			return nil, err
		}
		if fields == nil {
			return nil, domain.Errorf(domain.ErrInvalid, "the command input must be a JSON object")
		}
		if _, ok := fields["requestId"]; requestID && !ok {
			fields["requestId"], _ = json.Marshal(NewRequestID())
		}
		raw, err := json.Marshal(fields)
		if err != nil {
			return nil, err
		}
		act, ok := t.catalogs[version].Lookup(action)
		if !ok {
			return nil, fmt.Errorf("commands: %s is not in the OCPP %s catalog", action, version)
		}
		if err := act.Request.Validate(raw); err != nil {
			return nil, domain.Errorf(domain.ErrInvalid, "%v", err)
		}
		req := act.NewRequest()
		if err := decode(raw, req); err != nil {
			return nil, err
		}
		return json.RawMessage(raw), nil
	}
}

package domain

import (
	"errors"
	"testing"
)

func TestDeviceKeyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		v   DeviceVariable
		key string
	}{
		{DeviceVariable{Component: "OCPPCommCtrlr", Variable: "HeartbeatInterval"}, "OCPPCommCtrlr/HeartbeatInterval"},
		{DeviceVariable{Component: "EVSE", EVSE: 1, Variable: "Power"}, "EVSE@1/Power"},
		{DeviceVariable{Component: "Connector", EVSE: 2, Connector: 1, Variable: "Available"}, "Connector@2.1/Available"},
		{DeviceVariable{Component: "OCPPCommCtrlr", ComponentInstance: "A", Variable: "MessageAttempts", VariableInstance: "TransactionEvent"},
			"OCPPCommCtrlr:A/MessageAttempts:TransactionEvent"},
	} {
		if got := DeviceKey(tc.v); got != tc.key {
			t.Errorf("DeviceKey(%+v) = %q, want %q", tc.v, got, tc.key)
		}
		back, err := ParseDeviceKey(tc.key)
		if err != nil || back != tc.v {
			t.Errorf("ParseDeviceKey(%q) = %+v, %v", tc.key, back, err)
		}
	}
	for _, bad := range []string{"", "NoSlash", "/Var", "Comp/", "A/B/C", "EVSE@x/Power", "EVSE@0/Power", "EVSE@1.0/Power", ":i/V"} {
		if _, err := ParseDeviceKey(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseDeviceKey(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

package csms

import (
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

func TestEnergyWh(t *testing.T) {
	tests := []struct {
		name string
		m    domain.MeterSample
		want float64
		ok   bool
	}{
		{"Wh", domain.MeterSample{Measurand: measurandEnergyImport, Unit: "Wh", Location: "Outlet", Value: 1234}, 1234, true},
		{"kWh", domain.MeterSample{Measurand: measurandEnergyImport, Unit: "kWh", Location: "Outlet", Value: 1.5}, 1500, true},
		{"per phase is not the total", domain.MeterSample{Measurand: measurandEnergyImport, Unit: "Wh", Phase: "L1", Value: 1}, 0, false},
		{"power is not energy", domain.MeterSample{Measurand: "Power.Active.Import", Unit: "W", Value: 7000}, 0, false},
		{"export register", domain.MeterSample{Measurand: "Energy.Active.Export.Register", Unit: "Wh", Value: 5}, 0, false},
		{"EV side", domain.MeterSample{Measurand: measurandEnergyImport, Unit: "Wh", Location: "EV", Value: 5}, 0, false},
		{"unknown unit", domain.MeterSample{Measurand: measurandEnergyImport, Unit: "varh", Value: 5}, 0, false},
	}
	for _, tt := range tests {
		got, ok := energyWh(tt.m)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: energyWh = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFoldSamplesContexts(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	s := domain.Session{Status: domain.SessionActive}
	foldSamples(&s, []domain.MeterSample{
		{Measurand: measurandEnergyImport, Unit: "kWh", Location: "Outlet", Context: contextTxBegin, Value: 10, At: t0},
		{Measurand: measurandEnergyImport, Unit: "Wh", Location: "Outlet", Context: "Sample.Clock", Value: 10400, At: t0.Add(15 * time.Minute)},
		{Measurand: "Power.Active.Import", Unit: "W", Location: "Outlet", Value: 7400, At: t0.Add(15 * time.Minute)},
		{Measurand: measurandEnergyImport, Unit: "Wh", Location: "Outlet", Context: contextTxEnd, Value: 12000, At: t0.Add(30 * time.Minute)},
	})
	if s.EnergyWh != 2000 || *s.MeterStartWh != 10000 || s.MeterStopWh == nil || *s.MeterStopWh != 12000 {
		t.Fatalf("energy %v start %v stop %v", s.EnergyWh, *s.MeterStartWh, s.MeterStopWh)
	}
	// Readings after a completed session's stop do not count.
	s.Status, s.StoppedAt = domain.SessionCompleted, t0.Add(30*time.Minute)
	foldSamples(&s, []domain.MeterSample{{Measurand: measurandEnergyImport, Unit: "Wh", Value: 15000, At: t0.Add(40 * time.Minute)}})
	if s.EnergyWh != 2000 {
		t.Fatalf("late reading after stop counted: %v", s.EnergyWh)
	}
}

package domain

import (
	"testing"
	"time"
)

func TestAddReading(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	type reading struct {
		wh  float64
		min int
	}
	tests := []struct {
		name     string
		readings []reading
		want     float64
		start    float64
	}{
		{"in order", []reading{{1000, 0}, {1500, 5}, {2500, 10}}, 1500, 1000},
		{"single reading", []reading{{1000, 0}}, 0, 1000},
		{"late reading between", []reading{{1000, 0}, {2500, 10}, {1500, 5}}, 1500, 1000},
		{"earlier start arrives late", []reading{{1500, 5}, {2500, 10}, {1000, 0}}, 1500, 1000},
		{"duplicate reading", []reading{{1000, 0}, {1500, 5}, {1500, 5}}, 500, 1000},
		{"register reset to zero", []reading{{9000, 0}, {9500, 5}, {200, 10}, {700, 15}}, 500 + 200 + 500, 9000},
		{"flat", []reading{{1000, 0}, {1000, 5}}, 0, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Session
			for _, r := range tt.readings {
				s.AddReading(r.wh, at(r.min))
			}
			if s.EnergyWh != tt.want {
				t.Errorf("EnergyWh = %v, want %v", s.EnergyWh, tt.want)
			}
			if *s.MeterStartWh != tt.start {
				t.Errorf("MeterStartWh = %v, want %v", *s.MeterStartWh, tt.start)
			}
		})
	}
}

func TestTokenStatusAt(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		tok  Token
		want TokenStatus
	}{
		{Token{Status: TokenAccepted}, TokenAccepted},
		{Token{Status: TokenAccepted, ExpiresAt: now.Add(time.Hour)}, TokenAccepted},
		{Token{Status: TokenAccepted, ExpiresAt: now}, TokenExpired},
		{Token{Status: TokenAccepted, ExpiresAt: now.Add(-time.Hour)}, TokenExpired},
		{Token{Status: TokenBlocked, ExpiresAt: now.Add(-time.Hour)}, TokenBlocked},
		{Token{Status: TokenInvalid}, TokenInvalid},
	}
	for _, tt := range tests {
		if got := tt.tok.StatusAt(now); got != tt.want {
			t.Errorf("%+v.StatusAt = %s, want %s", tt.tok, got, tt.want)
		}
	}
}

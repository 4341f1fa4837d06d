package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Fleet is a set of simulated stations run together.
type Fleet struct {
	cfg      Config
	stations []*Station
}

// New builds the fleet cfg describes. Station i gets id IDPrefix-NNNN, the version
// Versions[i mod len], and an EVSE count and power class drawn from Seed.
func New(cfg Config) (*Fleet, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	f := &Fleet{cfg: cfg}
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x666c656574))
	for i := range cfg.Stations {
		n := cfg.FirstNumber + i
		count := cfg.MinEVSEs + r.IntN(cfg.MaxEVSEs-cfg.MinEVSEs+1)
		st, err := NewStation(StationConfig{
			ID:            fmt.Sprintf("%s-%04d", cfg.IDPrefix, n),
			Version:       cfg.Versions[i%len(cfg.Versions)],
			URL:           cfg.URL,
			Password:      cfg.Password,
			EVSEs:         drawEVSEs(r, count),
			Tokens:        cfg.Tokens,
			Seed:          int64(mix(uint64(cfg.Seed), uint64(n))),
			TimeScale:     cfg.TimeScale,
			MeterInterval: cfg.MeterInterval,
			Behavior:      cfg.Behavior,
			ReconnectMin:  cfg.ReconnectMin,
			ReconnectMax:  cfg.ReconnectMax,
			CallTimeout:   cfg.CallTimeout,
			Now:           cfg.Now,
			Log:           cfg.Log,
			HTTPClient:    cfg.HTTPClient,
			OnReply:       cfg.OnReply,
		})
		if err != nil {
			return nil, err
		}
		f.stations = append(f.stations, st)
	}
	return f, nil
}

// drawEVSEs picks a station's hardware: every EVSE of a station is alike, 20 % of stations
// are 50 kW DC, the rest 7.4 kW single-phase, 11 kW or 22 kW three-phase AC.
func drawEVSEs(r *rand.Rand, n int) []EVSE {
	var e EVSE
	switch x := r.Float64(); {
	case x < 0.2:
		e = EVSE{MaxPowerW: 50000, DC: true}
	case x < 0.45:
		e = EVSE{MaxPowerW: 7400, Phases: 1}
	case x < 0.8:
		e = EVSE{MaxPowerW: 11000, Phases: 3}
	default:
		e = EVSE{MaxPowerW: 22000, Phases: 3}
	}
	out := make([]EVSE, n)
	for i := range out {
		out[i] = e
	}
	return out
}

// mix derives a station's seed from the fleet's (SplitMix64 finaliser), so neighbouring
// stations get unrelated random streams.
func mix(seed, n uint64) uint64 {
	z := seed + n*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Stations are the fleet's stations, in id order.
func (f *Fleet) Stations() []*Station { return f.stations }

// Run runs every station until ctx ends, starting them spread over RampUp. It returns nil when
// ctx ends.
func (f *Fleet) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(f.stations))
	n := len(f.stations)
	for i, st := range f.stations {
		var delay time.Duration
		if f.cfg.RampUp > 0 {
			delay = time.Duration(int64(f.cfg.RampUp) * int64(i) / int64(n))
		}
		wg.Go(func() {
			if delay > 0 {
				t := time.NewTimer(delay)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			errs[i] = st.Run(ctx)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Stats sums the stations' counters.
func (f *Fleet) Stats() Stats {
	var total Stats
	for _, st := range f.stations {
		total.add(st.Stats())
	}
	return total
}

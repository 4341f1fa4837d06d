package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencpo/opencpo/internal/ocpp"
)

// Behavior is how the drivers, EVs and hardware of a station behave. Rates are per simulated
// day; the zero value of a field means its default.
type Behavior struct {
	// ArrivalsPerDay is the mean number of EVs that arrive at one EVSE per simulated day
	// (arrivals are a Poisson process). 0 means 12; a negative value means none (idle
	// stations: sessions happen only through Station.Arrive or a remote start).
	ArrivalsPerDay float64
	// MeanStay is the mean time an EV stays plugged in (simulated; log-normal spread, at least
	// 5 minutes). 0 means 90 minutes.
	MeanStay time.Duration
	// FaultsPerDay is the mean number of faults per EVSE per simulated day. Faults hit idle
	// EVSEs and clear after 2–30 simulated minutes. 0 means none.
	FaultsPerDay float64
	// DropsPerDay is the mean number of network drops per station per simulated day. The
	// station stays offline for 10 s – 5 min (simulated, at least 100 ms real) and keeps
	// charging meanwhile. 0 means none.
	DropsPerDay float64
}

func (b Behavior) withDefaults() Behavior {
	if b.ArrivalsPerDay == 0 {
		b.ArrivalsPerDay = 12
	}
	if b.MeanStay <= 0 {
		b.MeanStay = 90 * time.Minute
	}
	return b
}

// Config describes a simulated fleet.
type Config struct {
	// URL is the CSMS's OCPP base URL, e.g. ws://127.0.0.1:8080/ocpp; each station connects to
	// URL/{stationId}.
	URL string
	// Stations is the number of stations (at least 1).
	Stations int
	// IDPrefix names the stations IDPrefix-0001, IDPrefix-0002, … (default "SIM").
	IDPrefix string
	// FirstNumber is the number of the first station (default 1), so several processes can
	// simulate disjoint parts of one fleet.
	FirstNumber int
	// Versions is the protocol mix, assigned round-robin: {1.6, 2.0.1} gives half of each.
	// Default: both.
	Versions []ocpp.Version
	// MinEVSEs and MaxEVSEs bound the EVSEs per station (1–4, one connector each); each
	// station draws its count from its seed. Default 1–4.
	MinEVSEs, MaxEVSEs int
	// Tokens are the RFID uids drivers tap (default DefaultTokens()). A 1.6 idTag holds at
	// most 20 characters.
	Tokens []string
	// Password, when set, makes every station send HTTP Basic auth (user = station id).
	Password string
	// Seed makes the fleet deterministic: the same seed gives the same stations, EVs and
	// driver decisions (network timing aside).
	Seed int64
	// TimeScale speeds simulated time up: 60 means one simulated minute per real second.
	// Sessions, meter intervals, heartbeats and offline periods are compressed; message
	// timestamps stay wall-clock time. Default 1.
	TimeScale float64
	// MeterInterval is the simulated time between meter values while charging (default 60 s).
	// The CSMS can change it (1.6 MeterValueSampleInterval, 2.0.1 TxUpdatedInterval).
	MeterInterval time.Duration
	Behavior
	// RampUp spreads the stations' first connection over this much real time (default one
	// millisecond per station, at most 30 s). Negative: all at once.
	RampUp time.Duration
	// ReconnectMin and ReconnectMax bound the reconnect back-off (real time, exponential
	// with jitter). Defaults 1 s and 30 s, both divided by TimeScale, at least 100 ms and 2 s.
	ReconnectMin, ReconnectMax time.Duration
	// CallTimeout is how long a station waits for the answer to a CALL (real time, default
	// 30 s) before it retransmits a transaction message or gives up on another.
	CallTimeout time.Duration
	// Now gives the wall-clock time written into messages (default time.Now). Scheduling
	// uses the monotonic clock.
	Now func() time.Time
	// Log receives the simulator's log (default: discarded).
	Log *slog.Logger
	// HTTPClient, when set, makes the WebSocket handshakes (default http.DefaultClient). A
	// benchmark gives one whose transport dials from several loopback source addresses, as one
	// address runs out of ephemeral ports near 28,000 connections.
	HTTPClient *http.Client
	// OnReply, when set, is told about every answer to a CALL the station sent. It runs on the
	// station's goroutine, so it must be quick and must not call back into the station.
	OnReply func(Reply)
}

// Reply describes the answer to one CALL a station sent: what a load generator measures.
type Reply struct {
	StationID string
	Action    string
	// Payload is the request payload exactly as sent (the CSMS deduplicates on these bytes).
	// It must not be modified.
	Payload []byte
	// Transactional marks transaction messages, which the CSMS stores before it answers.
	Transactional bool
	// Error is true for a CALLERROR.
	Error bool
	// Latency is the time from writing the CALL to reading its answer.
	Latency time.Duration
}

// DefaultTokens are the RFID uids used when Config.Tokens is empty.
func DefaultTokens() []string {
	return []string{"04A1B2C3D4", "04E5F6A7B8", "04C9D0E1F2", "0412345678", "049ABCDEF0"}
}

// StationConfig describes one simulated station. Fleet builds them from a Config; tests may
// build one directly.
type StationConfig struct {
	ID      string
	Version ocpp.Version
	// URL is the CSMS's OCPP base URL; the station id is appended as a path segment.
	URL      string
	Password string
	// EVSEs are the station's EVSEs, numbered from 1 (1–4 of them). Default: one 22 kW AC.
	EVSEs  []EVSE
	Tokens []string
	// Seed drives this station's random decisions.
	Seed          int64
	TimeScale     float64
	MeterInterval time.Duration
	Behavior      Behavior
	// Vendor data sent in BootNotification. Defaults: vendor "OpenCPO-Sim", model derived from
	// the EVSEs and version, serial derived from the id, firmware "opencpo-sim-1".
	Vendor, Model, SerialNumber, FirmwareVersion string
	ReconnectMin, ReconnectMax                   time.Duration
	CallTimeout                                  time.Duration
	Now                                          func() time.Time
	Log                                          *slog.Logger
	HTTPClient                                   *http.Client
	OnReply                                      func(Reply)

	// FirmwareFailure is the chance (0–1) that installing a firmware update fails.
	FirmwareFailure float64
}

// EVSE is the hardware of one EVSE: its maximum power, AC or DC, and for AC the phases.
type EVSE struct {
	MaxPowerW float64
	DC        bool
	Phases    int // AC: 1 or 3 (default 3); ignored for DC
}

const (
	maxEVSEs       = 4
	maxIDTag16     = 20 // OCPP 1.6 IdToken is CiString20
	maxIDToken201  = 36 // OCPP 2.0.1 IdTokenType.idToken is string[36]
	maxStationID   = 48
	maxTxBacklog   = 1000
	minRealTimer   = 50 * time.Millisecond
	defaultTimeout = 30 * time.Second
)

func (c *StationConfig) normalize() error {
	if c.ID == "" || len(c.ID) > maxStationID {
		return fmt.Errorf("sim: station id %q must have 1–%d characters", c.ID, maxStationID)
	}
	if c.Version != ocpp.V16 && c.Version != ocpp.V201 {
		return fmt.Errorf("sim: station %s: OCPP version %q is not 1.6 or 2.0.1", c.ID, c.Version)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("sim: CSMS URL %q is not a ws:// or wss:// URL", c.URL)
	}
	if len(c.EVSEs) == 0 {
		c.EVSEs = []EVSE{{MaxPowerW: 22000, Phases: 3}}
	}
	if len(c.EVSEs) > maxEVSEs {
		return fmt.Errorf("sim: station %s has %d EVSEs; at most %d", c.ID, len(c.EVSEs), maxEVSEs)
	}
	c.EVSEs = append([]EVSE(nil), c.EVSEs...)
	for i := range c.EVSEs {
		e := &c.EVSEs[i]
		if !(e.MaxPowerW > 0) || math.IsInf(e.MaxPowerW, 0) {
			return fmt.Errorf("sim: station %s EVSE %d: maximum power must be positive", c.ID, i+1)
		}
		if e.DC {
			e.Phases = 0
		} else if e.Phases != 1 {
			e.Phases = 3
		}
	}
	if len(c.Tokens) == 0 {
		c.Tokens = DefaultTokens()
	}
	if err := checkTokens(c.Tokens); err != nil {
		return err
	}
	if c.TimeScale == 0 {
		c.TimeScale = 1
	}
	if !(c.TimeScale > 0) || math.IsInf(c.TimeScale, 0) {
		return fmt.Errorf("sim: time scale must be positive")
	}
	if c.MeterInterval <= 0 {
		c.MeterInterval = 60 * time.Second
	}
	c.Behavior = c.Behavior.withDefaults()
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = clampDuration(time.Duration(float64(time.Second)/c.TimeScale), 100*time.Millisecond, time.Second)
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = clampDuration(time.Duration(float64(30*time.Second)/c.TimeScale), 2*time.Second, 30*time.Second)
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = defaultTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Vendor == "" {
		c.Vendor = "OpenCPO-Sim"
	}
	if c.Model == "" {
		c.Model = modelName(c.EVSEs, c.Version)
	}
	if c.SerialNumber == "" {
		c.SerialNumber = serialFor(c.ID)
	}
	if c.FirmwareVersion == "" {
		c.FirmwareVersion = "opencpo-sim-1"
	}
	if len(c.Vendor) > 20 || len(c.Model) > 20 || len(c.SerialNumber) > 25 || len(c.FirmwareVersion) > 50 {
		return fmt.Errorf("sim: station %s: vendor (20), model (20), serial (25) or firmware (50) too long", c.ID)
	}
	return nil
}

func checkTokens(tokens []string) error {
	for _, t := range tokens {
		if t == "" || utf8.RuneCountInString(t) > maxIDTag16 {
			return fmt.Errorf("sim: token %q must have 1–%d characters (an OCPP 1.6 idTag)", t, maxIDTag16)
		}
	}
	return nil
}

func clampDuration(d, lo, hi time.Duration) time.Duration {
	return max(lo, min(hi, d))
}

// modelName is the model a station reports: power class, EVSE count and protocol, e.g.
// "SimAC22x2-J16" or "SimDC50x4-J201".
func modelName(evses []EVSE, v ocpp.Version) string {
	kind, kw := "AC", 0.0
	for _, e := range evses {
		if e.DC {
			kind = "DC"
		}
		kw = math.Max(kw, e.MaxPowerW/1000)
	}
	proto := "J16"
	if v == ocpp.V201 {
		proto = "J201"
	}
	return fmt.Sprintf("Sim%s%gx%d-%s", kind, math.Round(kw*10)/10, len(evses), proto)
}

// serialFor derives a stable serial number from the station id (FNV-1a).
func serialFor(id string) string {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return fmt.Sprintf("SIM%08X", h)
}

func (c *Config) normalize() error {
	if c.Stations < 1 {
		return errors.New("sim: at least one station")
	}
	if c.IDPrefix == "" {
		c.IDPrefix = "SIM"
	}
	if c.FirstNumber <= 0 {
		c.FirstNumber = 1
	}
	if len(c.Versions) == 0 {
		c.Versions = []ocpp.Version{ocpp.V16, ocpp.V201}
	}
	for _, v := range c.Versions {
		if v != ocpp.V16 && v != ocpp.V201 {
			return fmt.Errorf("sim: OCPP version %q is not 1.6 or 2.0.1", v)
		}
	}
	if c.MinEVSEs == 0 && c.MaxEVSEs == 0 {
		c.MinEVSEs, c.MaxEVSEs = 1, maxEVSEs
	}
	if c.MinEVSEs == 0 {
		c.MinEVSEs = 1
	}
	if c.MaxEVSEs == 0 {
		c.MaxEVSEs = max(c.MinEVSEs, maxEVSEs)
	}
	if c.MinEVSEs < 1 || c.MaxEVSEs > maxEVSEs || c.MinEVSEs > c.MaxEVSEs {
		return fmt.Errorf("sim: EVSEs per station must be within 1–%d (got %d–%d)", maxEVSEs, c.MinEVSEs, c.MaxEVSEs)
	}
	if len(c.Tokens) == 0 {
		c.Tokens = DefaultTokens()
	}
	if err := checkTokens(c.Tokens); err != nil {
		return err
	}
	if c.TimeScale == 0 {
		c.TimeScale = 1
	}
	if !(c.TimeScale > 0) || math.IsInf(c.TimeScale, 0) {
		return errors.New("sim: time scale must be positive")
	}
	if c.RampUp == 0 {
		c.RampUp = min(time.Duration(c.Stations)*time.Millisecond, 30*time.Second)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.URL = strings.TrimRight(c.URL, "/")
	return nil
}

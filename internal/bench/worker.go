package bench

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/sim"
)

// WorkerConfig is what one load process simulates. The coordinator passes it as JSON.
type WorkerConfig struct {
	Index         int           `json:"index"`
	URL           string        `json:"url"`
	IDPrefix      string        `json:"idPrefix"`
	FirstNumber   int           `json:"firstNumber"`
	Stations      int           `json:"stations"`
	EVSEs         int           `json:"evses"`
	Seed          int64         `json:"seed"`
	TimeScale     float64       `json:"timeScale"`
	MeterInterval time.Duration `json:"meterInterval"`
	MeanStay      time.Duration `json:"meanStay"`
	RampUp        time.Duration `json:"rampUp"`
	ReconnectMin  time.Duration `json:"reconnectMin"`
	ReconnectMax  time.Duration `json:"reconnectMax"`
	CallTimeout   time.Duration `json:"callTimeout"`
	SourceIPs     []string      `json:"sourceIPs"`
	StressConns   int           `json:"stressConns"`
	// Nodes, when set, are the addresses (host:port) of a cluster's nodes: every connection
	// goes to one of them through a nodeBalancer, whatever URL names, with at most NodeShare
	// connections per node from this process (0: no limit).
	Nodes     []string `json:"nodes,omitempty"`
	NodeShare int      `json:"nodeShare,omitempty"`
}

// ackKey identifies an acknowledged transaction message the way the server's exactly-once
// ledger does: station, action and the SHA-256 of the payload bytes.
type ackKey struct{ station, action, digest string }

// phaseReport is a worker's answer to "phase": what it saw since the previous one.
type phaseReport struct {
	Seconds float64 `json:"seconds"`
	Calls   int64   `json:"calls"`
	Durable int64   `json:"durable"`
	Errors  int64   `json:"errors"`
	Hist    Hist    `json:"hist"`
	// ByAction are the latencies per OCPP action.
	ByAction map[string]*Hist `json:"byAction"`
}

// workerStats is a worker's answer to "stats".
type workerStats struct {
	Connected int   `json:"connected"`
	Online    int   `json:"online"`
	Connects  int64 `json:"connects"` // WebSocket connections opened
	Queued    int   `json:"queued"`
	Sent      int64 `json:"sent"`
	Acked     int64 `json:"acked"`
	Timeouts  int64 `json:"timeouts"`
	Errors    int64 `json:"errors"`
	Stress    int   `json:"stress"` // stress connections up
}

type worker struct {
	cfg   WorkerConfig
	fleet *sim.Fleet
	http  *http.Client

	mu         sync.Mutex
	phaseStart time.Time
	hist       Hist
	byAction   map[string]*Hist
	calls      int64
	durable    int64
	errors     int64
	acks       []ackKey

	arrivalRate atomic.Uint64 // arrival attempts per second, float64 bits
	stress      *stressPool
}

// sourceDialer dials from the given loopback source addresses in turn.
func sourceDialer(ips []string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var dialers []*net.Dialer
	for _, ip := range ips {
		dialers = append(dialers, &net.Dialer{Timeout: 15 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}})
	}
	if len(dialers) == 0 {
		dialers = append(dialers, &net.Dialer{Timeout: 15 * time.Second})
	}
	var next atomic.Uint64
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := dialers[(next.Add(1)-1)%uint64(len(dialers))]
		return d.DialContext(ctx, network, addr)
	}
}

// RunWorker is a load process: it runs its slice of the fleet and answers the coordinator's
// commands, one per line on in, with one JSON line each on out, until "quit" or the end of in.
func RunWorker(ctx context.Context, cfg WorkerConfig, in io.Reader, out io.Writer) error {
	w := &worker{cfg: cfg, phaseStart: time.Now()}
	dial := sourceDialer(cfg.SourceIPs)
	if len(cfg.Nodes) > 0 {
		dial = newNodeBalancer(cfg.Nodes, cfg.NodeShare, dial).DialContext
	}
	w.http = &http.Client{Transport: &http.Transport{DialContext: dial, MaxIdleConnsPerHost: -1}}
	fleet, err := sim.New(sim.Config{
		URL: cfg.URL, Stations: cfg.Stations, IDPrefix: cfg.IDPrefix, FirstNumber: cfg.FirstNumber,
		Versions: []ocpp.Version{ocpp.V16, ocpp.V201}, MinEVSEs: cfg.EVSEs, MaxEVSEs: cfg.EVSEs,
		Seed: cfg.Seed, TimeScale: cfg.TimeScale, MeterInterval: cfg.MeterInterval,
		Behavior:     sim.Behavior{ArrivalsPerDay: -1, MeanStay: cfg.MeanStay},
		RampUp:       cfg.RampUp,
		ReconnectMin: cfg.ReconnectMin, ReconnectMax: cfg.ReconnectMax, CallTimeout: cfg.CallTimeout,
		HTTPClient: w.http, OnReply: w.onReply,
	})
	if err != nil {
		return err
	}
	w.fleet = fleet
	w.stress = &stressPool{w: w}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { _ = fleet.Run(ctx) })
	wg.Go(func() { w.arrivals(ctx) })
	defer wg.Wait()
	defer w.stress.stop()

	enc := json.NewEncoder(out)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		var reply any
		switch cmd {
		case "stats":
			reply = w.stats()
		case "phase":
			reply = w.phase()
		case "charge": // charge FRACTION: plug EVs into that share of EVSEs (spread over a meter interval) and keep it so
			f, _ := strconv.ParseFloat(arg, 64)
			w.charge(ctx, f)
			reply = map[string]bool{"ok": true}
		case "drop":
			w.dropAll(ctx)
			reply = map[string]bool{"ok": true}
		case "stress": // stress RATE: calls per second over the stress connections (0 closes them)
			rate, _ := strconv.ParseFloat(arg, 64)
			if err := w.stress.setRate(ctx, rate); err != nil {
				reply = map[string]string{"error": err.Error()}
			} else {
				reply = map[string]bool{"ok": true}
			}
		case "acks": // acks PATH: write every acknowledged transaction message
			n, err := w.writeAcks(arg)
			if err != nil {
				reply = map[string]string{"error": err.Error()}
			} else {
				reply = map[string]int{"acks": n}
			}
		case "cpuprofile": // cpuprofile SECONDS PATH: this process's CPU profile, written when done
			secs, path, _ := strings.Cut(arg, " ")
			n, _ := strconv.Atoi(secs)
			if err := startCPUProfile(path, time.Duration(n)*time.Second); err != nil {
				reply = map[string]string{"error": err.Error()}
			} else {
				reply = map[string]bool{"ok": true}
			}
		case "quit":
			return nil
		default:
			reply = map[string]string{"error": "unknown command " + cmd}
		}
		if err := enc.Encode(reply); err != nil {
			return err
		}
	}
	return sc.Err()
}

// onReply runs on a station's goroutine for every answer it gets.
func (w *worker) onReply(r sim.Reply) {
	var key ackKey
	tx := r.Transactional && !r.Error
	if tx {
		sum := sha256.Sum256(r.Payload)
		key = ackKey{r.StationID, r.Action, hex.EncodeToString(sum[:])}
	}
	w.record(r.Action, r.Latency, tx, r.Error, key)
}

func (w *worker) record(action string, lat time.Duration, durable, isErr bool, key ackKey) {
	w.mu.Lock()
	w.hist.Record(lat)
	if w.byAction == nil {
		w.byAction = map[string]*Hist{}
	}
	h := w.byAction[action]
	if h == nil {
		h = &Hist{}
		w.byAction[action] = h
	}
	h.Record(lat)
	w.calls++
	if isErr {
		w.errors++
	}
	if durable {
		w.durable++
		w.acks = append(w.acks, key)
	}
	w.mu.Unlock()
}

func (w *worker) phase() phaseReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	r := phaseReport{Seconds: now.Sub(w.phaseStart).Seconds(), Calls: w.calls, Durable: w.durable, Errors: w.errors, Hist: w.hist, ByAction: w.byAction}
	w.phaseStart, w.hist, w.byAction, w.calls, w.durable, w.errors = now, Hist{}, nil, 0, 0, 0
	return r
}

func (w *worker) stats() workerStats {
	st := w.fleet.Stats()
	return workerStats{Connected: st.Connected, Online: st.Online, Connects: st.Connects, Queued: st.Queued, Sent: st.MessagesSent,
		Acked: st.MessagesAcked, Timeouts: st.Timeouts, Errors: st.Errors, Stress: w.stress.up()}
}

// charge plugs EVs into a fraction f of the EVSEs, spread over one meter interval so that their
// meter values do not all fall due together, and then keeps arrivals coming at the rate that
// holds the share steady (departures follow MeanStay).
func (w *worker) charge(ctx context.Context, f float64) {
	stations := w.fleet.Stations()
	spread := time.Duration(float64(w.cfg.MeterInterval) / w.cfg.TimeScale)
	r := rand.New(rand.NewPCG(uint64(w.cfg.Seed), uint64(w.cfg.Index)))
	// Heartbeats too: the connect storm lined them up within its few seconds, so that the
	// fleet's 250 heartbeats/s came as ~1,000/s for a fifth of every minute and none for the
	// rest; the mix is the one of a fleet that has run for a while.
	var wg sync.WaitGroup
	for _, st := range stations {
		frac := r.Float64()
		wg.Go(func() { _ = st.PhaseHeartbeat(ctx, frac) })
	}
	wg.Wait()
	for _, st := range stations {
		for e := 1; e <= w.cfg.EVSEs; e++ {
			if r.Float64() >= f {
				continue
			}
			delay := time.Duration(r.Int64N(int64(spread) + 1))
			time.AfterFunc(delay, func() { _ = st.Arrive(ctx, e, "") })
		}
	}
	// Occupancy f with stays of MeanStay needs f·EVSEs/MeanStay arrivals per second; an
	// attempt that lands on a busy EVSE fails, so aim 1/(1−f) higher.
	stay := w.cfg.MeanStay.Seconds() / w.cfg.TimeScale
	rate := 0.0
	if f > 0 && f < 1 && stay > 0 {
		rate = f * float64(len(stations)*w.cfg.EVSEs) / stay / (1 - f)
	}
	w.arrivalRate.Store(math.Float64bits(rate))
}

func (w *worker) arrivals(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	r := rand.New(rand.NewPCG(uint64(w.cfg.Seed)+1, uint64(w.cfg.Index)))
	stations := w.fleet.Stations()
	acc := 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		acc += math.Float64frombits(w.arrivalRate.Load()) / 10
		for ; acc >= 1; acc-- {
			st := stations[r.IntN(len(stations))]
			e := 1 + r.IntN(w.cfg.EVSEs)
			go func() { _ = st.Arrive(ctx, e, "") }()
		}
	}
}

// dropAll cuts every station's connection at once; they reconnect after their back-off.
func (w *worker) dropAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, st := range w.fleet.Stations() {
		wg.Go(func() { _ = st.DropConnection(ctx, 0) })
	}
	wg.Wait()
}

func (w *worker) writeAcks(path string) (int, error) {
	w.mu.Lock()
	acks := append([]ackKey(nil), w.acks...)
	w.mu.Unlock()
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(f)
	for _, a := range acks {
		fmt.Fprintf(bw, "%s\t%s\t%s\n", a.station, a.action, a.digest)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return len(acks), f.Close()
}

func uint64FromFloat(f float64) uint64   { return math.Float64bits(f) }
func float64FromUint64(b uint64) float64 { return math.Float64frombits(b) }

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is every figure of a run; its JSON form is the line `opencpo bench` prints.
type Result struct {
	Scenario  string  `json:"scenario"`
	Stations  int     `json:"stations"`
	EVSEs     int     `json:"evses"`
	LoadProcs int     `json:"loadProcs"`
	TimeScale float64 `json:"timeScale"`
	Machine   Machine `json:"machine"`

	ConnectionsHeld int     `json:"connectionsHeld"`
	ConnectStormS   float64 `json:"connectStormS"`

	// The server's memory and CPU.
	ServerFigures

	Phases []PhaseResult `json:"phases"`

	SteadyCallsPerS float64 `json:"steadyCallsPerS"`
	SteadyP99Ms     float64 `json:"steadyP99Ms"`
	StressSummary
	KillSkipped bool `json:"killSkipped,omitempty"`

	ReconnectS    float64 `json:"reconnectS"`
	KillRecoveryS float64 `json:"killRecoveryS"`
	Acked         int     `json:"acked"`
	Found         int     `json:"found"`

	Targets map[string]bool `json:"targets"`
}

// StressSummary is what the stress ramp found.
type StressSummary struct {
	Stress         []StressStep `json:"stress"`
	MaxCallsPerS   float64      `json:"maxCallsPerS"`
	MaxDurablePerS float64      `json:"maxDurableCallsPerS"`
	// The throughput knee: the stress step with the most durable calls/s, its p99, and why the
	// ramp stopped there.
	MaxDurableP99Ms  float64 `json:"maxDurableP99Ms"`
	MaxDurableStep   int     `json:"maxDurableStep"`
	SaturationReason string  `json:"saturationReason"`
	// The latency knee: the last stress step before p99 first passed 20 ms.
	KneeCallsPerS   float64 `json:"kneeCallsPerS"` // highest rate measured with p99 ≤ 20 ms
	KneeDurablePerS float64 `json:"kneeDurableCallsPerS"`
	KneeP99Ms       float64 `json:"kneeP99Ms"`
	KneeReason      string  `json:"kneeReason"`
}

// PhaseResult is the load side's view of one phase, summed over the load processes.
type PhaseResult struct {
	Name         string  `json:"name"`
	Seconds      float64 `json:"seconds"`
	Calls        int64   `json:"calls"`
	DurableCalls int64   `json:"durableCalls"`
	Errors       int64   `json:"errors"`
	CallsPerS    float64 `json:"callsPerS"`
	DurablePerS  float64 `json:"durableCallsPerS"`
	P50Ms        float64 `json:"p50Ms"`
	P99Ms        float64 `json:"p99Ms"`
	P999Ms       float64 `json:"p999Ms"`
	MaxMs        float64 `json:"maxMs"`
	// ByAction breaks the latencies down per OCPP action.
	ByAction map[string]ActionLatency `json:"byAction,omitempty"`
}

// ActionLatency are one action's figures within a phase.
type ActionLatency struct {
	Calls uint64  `json:"calls"`
	P50Ms float64 `json:"p50Ms"`
	P99Ms float64 `json:"p99Ms"`
	MaxMs float64 `json:"maxMs"`
}

// StressStep is one step of the stress ramp.
type StressStep struct {
	Step        int     `json:"step"`
	ExtraRate   float64 `json:"extraRate"` // stress calls/s asked for on top of the mix
	CallsPerS   float64 `json:"callsPerS"`
	DurablePerS float64 `json:"durableCallsPerS"`
	P50Ms       float64 `json:"p50Ms"`
	P99Ms       float64 `json:"p99Ms"`
	P999Ms      float64 `json:"p999Ms"`
	Errors      int64   `json:"errors"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// round rounds x to 1/per.
func round(x, per float64) float64 { return math.Round(x*per) / per }

func (p *PhaseResult) fill(h *Hist) {
	if p.Seconds > 0 {
		p.CallsPerS = math.Round(float64(p.Calls)/p.Seconds*10) / 10
		p.DurablePerS = math.Round(float64(p.DurableCalls)/p.Seconds*10) / 10
	}
	p.P50Ms, p.P99Ms, p.P999Ms = ms(h.Quantile(0.5)), ms(h.Quantile(0.99)), ms(h.Quantile(0.999))
	p.MaxMs = ms(time.Duration(h.Max) * time.Microsecond)
}

func newResult(o Options) *Result {
	return &Result{Scenario: "fleet-15k", Stations: o.Stations, EVSEs: 2 * o.Stations, LoadProcs: o.LoadProcs,
		TimeScale: o.TimeScale, Machine: thisMachine(), Phases: []PhaseResult{},
		ServerFigures: ServerFigures{Name: "server"}, StressSummary: StressSummary{Stress: []StressStep{}}}
}

// finish derives the headline figures and checks them against the targets (DESIGN.md §1).
func (r *Result) finish() {
	for _, p := range r.Phases {
		if p.Name == "steady" {
			r.SteadyCallsPerS, r.SteadyP99Ms = p.CallsPerS, p.P99Ms
		}
	}
	r.ServerFigures.round()
	r.ConnectStormS = round(r.ConnectStormS, 100)
	r.ReconnectS = round(r.ReconnectS, 100)
	r.KillRecoveryS = round(r.KillRecoveryS, 100)
	r.Targets = map[string]bool{
		"connections":      r.ConnectionsHeld >= r.Stations,
		"durableCallsPerS": r.MaxDurablePerS >= 5000,
		"p99Steady":        r.SteadyP99Ms > 0 && r.SteadyP99Ms <= 20,
		"rssPerConn":       r.RSSPerConnKiB <= 10,
		"reconnect":        r.ReconnectS > 0 && r.ReconnectS <= 15,
		"noLossAfterKill":  r.Acked > 0 && r.Acked == r.Found,
	}
}

// WriteJSON writes the result as one line.
func (r *Result) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func yes(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// WriteTable writes the human summary.
func (r *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "opencpo bench %s: %d stations × 2 EVSEs, %d load processes, time scale %g (%d CPUs, %.1f GiB, %s)\n\n",
		r.Scenario, r.Stations, r.LoadProcs, r.TimeScale, r.Machine.CPUs, r.Machine.MemGiB, r.Machine.Go)
	writePhases(&b, r.Phases)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\tvalue\ttarget\t\n")
	fmt.Fprintf(tw, "connections held\t%d (all connected in %.1f s)\t%d on one process\t%s\n", r.ConnectionsHeld, r.ConnectStormS, r.Stations, yes(r.Targets["connections"]))
	fmt.Fprintf(tw, "durable calls/s (max)\t%.0f (all calls %.0f/s)\t≥ 5,000\t%s\n", r.MaxDurablePerS, r.MaxCallsPerS, yes(r.Targets["durableCallsPerS"]))
	r.StressSummary.writeKnees(tw)
	fmt.Fprintf(tw, "p99 at the realistic mix\t%.2f ms at %.0f calls/s\t≤ 20 ms\t%s\n", r.SteadyP99Ms, r.SteadyCallsPerS, yes(r.Targets["p99Steady"]))
	fmt.Fprintf(tw, "server RSS per idle connection\t%.2f KiB (%d → %d KiB; Go heap %.2f, live ≈ %.2f, stacks %.2f KiB)\t≤ 10 KiB\t%s\n",
		r.RSSPerConnKiB, r.RSSBeforeKiB, r.RSSIdleKiB, r.HeapPerConnKiB, r.LiveHeapPerConnKiB, r.StackPerConnKiB, yes(r.Targets["rssPerConn"]))
	fmt.Fprintf(tw, "reconnect after mass disconnect\t%.1f s\t≤ 15 s\t%s\n", r.ReconnectS, yes(r.Targets["reconnect"]))
	if r.KillSkipped {
		fmt.Fprintf(tw, "acked vs found after kill -9\tnot measured (--skip-kill)\tequal\t\n")
	} else {
		fmt.Fprintf(tw, "acked vs found after kill -9\t%d / %d (all back in %.1f s)\tequal\t%s\n", r.Acked, r.Found, r.KillRecoveryS, yes(r.Targets["noLossAfterKill"]))
	}
	fmt.Fprintf(tw, "server CPU idle / steady\t%.1f %% / %.1f %% of a core\t\t\n", r.IdleCPUPct, r.SteadyCPUPct)
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

// writePhases writes the table of phases.
func writePhases(b *strings.Builder, phases []PhaseResult) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tseconds\tcalls\tcalls/s\tdurable/s\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\t")
	for _, p := range phases {
		fmt.Fprintf(tw, "%s\t%.1f\t%d\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.1f\t%d\t\n", p.Name, p.Seconds, p.Calls, p.CallsPerS, p.DurablePerS, p.P50Ms, p.P99Ms, p.P999Ms, p.MaxMs, p.Errors)
	}
	tw.Flush()
	b.WriteString("\n")
}

// writeKnees writes the stress ramp's two knees as rows of a figure table.
func (s *StressSummary) writeKnees(tw *tabwriter.Writer) {
	fmt.Fprintf(tw, "throughput knee\t%.0f durable calls/s at step %d (p99 %.1f ms); stopped: %s\t\t\n", s.MaxDurablePerS, s.MaxDurableStep, s.MaxDurableP99Ms, s.SaturationReason)
	fmt.Fprintf(tw, "latency knee (p99 ≤ 20 ms)\t%.0f calls/s (%.0f durable), p99 %.1f ms; %s\t\t\n", s.KneeCallsPerS, s.KneeDurablePerS, s.KneeP99Ms, s.KneeReason)
}

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// ClusterResult is every figure of a cluster-45k run; its JSON form is the line
// `opencpo bench cluster-45k` prints.
type ClusterResult struct {
	Scenario     string  `json:"scenario"`
	Stations     int     `json:"stations"`
	EVSEs        int     `json:"evses"`
	Nodes        int     `json:"nodes"`
	NodeCapacity int     `json:"nodeCapacity"` // most connections the balancer gives one node
	LoadProcs    int     `json:"loadProcs"`
	TimeScale    float64 `json:"timeScale"`
	Machine      Machine `json:"machine"`
	// Database is the PostgreSQL database the run created (and dropped at its end).
	Database string `json:"database"`

	ConnectionsHeld int     `json:"connectionsHeld"`
	ConnectStormS   float64 `json:"connectStormS"`
	// Servers are the nodes' memory (idle) and CPU (idle and steady), in node order.
	Servers []ServerFigures `json:"servers"`

	Phases []PhaseResult `json:"phases"`

	SteadyCallsPerS   float64 `json:"steadyCallsPerS"`
	SteadyDurablePerS float64 `json:"steadyDurableCallsPerS"`
	SteadyP50Ms       float64 `json:"steadyP50Ms"`
	SteadyP99Ms       float64 `json:"steadyP99Ms"`
	SteadyP999Ms      float64 `json:"steadyP999Ms"`

	// CrossNode are REST commands given to a node for stations another node holds, under the
	// realistic mix.
	CrossNode CommandFigures `json:"crossNode"`

	StressSummary

	KillSkipped bool   `json:"killSkipped,omitempty"`
	KilledNode  string `json:"killedNode,omitempty"`
	KilledHeld  int    `json:"killedHeld"` // stations the killed node held
	// KillExpected is how many stations the survivors could hold after the kill: all of them,
	// unless the killed node's share does not fit under the survivors' capacity.
	KillExpected   int     `json:"killExpected"`
	KillReconnectS float64 `json:"killReconnectS"` // from the kill until KillExpected are connected
	// HeldTwice is how many more connections the survivors held than the stations had open once
	// the stations settled: a station held by two nodes counts twice.
	HeldTwice int     `json:"heldTwice"`
	RestartS  float64 `json:"restartS"` // the killed node's start until it listens again
	AllBackS  float64 `json:"allBackS"` // from the kill until every station is connected
	// AfterRestart are commands through the restarted node, for stations the others hold.
	AfterRestart CommandFigures `json:"afterRestartCommands"`

	DuplicateSessions int `json:"duplicateSessions"` // transactions stored as more than one session
	Acked             int `json:"acked"`
	Found             int `json:"found"`

	Targets map[string]bool `json:"targets"`
}

func newClusterResult(o ClusterOptions) *ClusterResult {
	return &ClusterResult{Scenario: "cluster-45k", Stations: o.Stations, EVSEs: 2 * o.Stations, Nodes: o.Nodes,
		NodeCapacity: o.NodeCapacity, LoadProcs: o.LoadProcs, TimeScale: o.TimeScale, Machine: thisMachine(),
		Servers: []ServerFigures{}, Phases: []PhaseResult{}, StressSummary: StressSummary{Stress: []StressStep{}}}
}

// finish derives the headline figures and checks them against the targets.
func (r *ClusterResult) finish() {
	for _, p := range r.Phases {
		if p.Name == "steady" {
			r.SteadyCallsPerS, r.SteadyDurablePerS = p.CallsPerS, p.DurablePerS
			r.SteadyP50Ms, r.SteadyP99Ms, r.SteadyP999Ms = p.P50Ms, p.P99Ms, p.P999Ms
		}
	}
	for i := range r.Servers {
		r.Servers[i].round()
	}
	r.ConnectStormS = round(r.ConnectStormS, 100)
	r.KillReconnectS = round(r.KillReconnectS, 100)
	r.RestartS = round(r.RestartS, 100)
	r.AllBackS = round(r.AllBackS, 100)
	r.Targets = map[string]bool{
		"connections":        r.ConnectionsHeld >= r.Stations,
		"p99Steady":          r.SteadyP99Ms > 0 && r.SteadyP99Ms <= 20,
		"crossNodeAnswered":  r.CrossNode.Calls > 0 && r.CrossNode.Answered == r.CrossNode.Calls,
		"noLoss":             r.Acked > 0 && r.Acked == r.Found,
		"noDuplicateSession": r.DuplicateSessions == 0,
	}
	if !r.KillSkipped {
		r.Targets["allBackAfterKill"] = r.AllBackS > 0
		r.Targets["noStationHeldTwice"] = r.HeldTwice == 0
		r.Targets["afterRestartAnswered"] = r.AfterRestart.Calls > 0 && r.AfterRestart.Answered == r.AfterRestart.Calls
	}
}

// WriteJSON writes the result as one line.
func (r *ClusterResult) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteTable writes the human summary.
func (r *ClusterResult) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "opencpo bench %s: %d stations × 2 EVSEs on %d nodes (PostgreSQL + NATS), %d load processes, time scale %g (%d CPUs, %.1f GiB, %s)\n\n",
		r.Scenario, r.Stations, r.Nodes, r.LoadProcs, r.TimeScale, r.Machine.CPUs, r.Machine.MemGiB, r.Machine.Go)
	writePhases(&b, r.Phases)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "node\tstations\tRSS before KiB\tRSS idle KiB\tKiB/conn\theap KiB/conn\tstacks KiB/conn\tCPU idle %\tCPU steady %\t")
	for _, s := range r.Servers {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.1f\t%.1f\t\n", s.Name, s.Held, s.RSSBeforeKiB, s.RSSIdleKiB, s.RSSPerConnKiB, s.HeapPerConnKiB, s.StackPerConnKiB, s.IdleCPUPct, s.SteadyCPUPct)
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\tvalue\ttarget\t\n")
	fmt.Fprintf(tw, "connections held\t%d over %d nodes (all connected in %.1f s)\t%d\t%s\n", r.ConnectionsHeld, r.Nodes, r.ConnectStormS, r.Stations, yes(r.Targets["connections"]))
	fmt.Fprintf(tw, "realistic mix\t%.0f calls/s (%.0f durable), p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\tp99 ≤ 20 ms\t%s\n",
		r.SteadyCallsPerS, r.SteadyDurablePerS, r.SteadyP50Ms, r.SteadyP99Ms, r.SteadyP999Ms, yes(r.Targets["p99Steady"]))
	fmt.Fprintf(tw, "cross-node commands\t%d of %d answered, p50 %.2f ms, p99 %.2f ms, max %.1f ms\tall answered\t%s\n",
		r.CrossNode.Answered, r.CrossNode.Calls, r.CrossNode.P50Ms, r.CrossNode.P99Ms, r.CrossNode.MaxMs, yes(r.Targets["crossNodeAnswered"]))
	if len(r.Stress) > 0 {
		r.StressSummary.writeKnees(tw)
	}
	if r.KillSkipped {
		fmt.Fprintf(tw, "kill -9 of a node\tnot measured (--skip-kill)\t\t\n")
	} else {
		fmt.Fprintf(tw, "kill -9 of %s (%d stations)\t%d stations on the survivors after %.1f s\t\t\n", r.KilledNode, r.KilledHeld, r.KillExpected, r.KillReconnectS)
		fmt.Fprintf(tw, "all stations back\t%.1f s after the kill (restart took %.1f s)\tall\t%s\n", r.AllBackS, r.RestartS, yes(r.Targets["allBackAfterKill"]))
		fmt.Fprintf(tw, "stations held by two nodes\t%d\t0\t%s\n", r.HeldTwice, yes(r.Targets["noStationHeldTwice"]))
		fmt.Fprintf(tw, "commands through the restarted node\t%d of %d answered, p50 %.2f ms, p99 %.2f ms\tall answered\t%s\n",
			r.AfterRestart.Answered, r.AfterRestart.Calls, r.AfterRestart.P50Ms, r.AfterRestart.P99Ms, yes(r.Targets["afterRestartAnswered"]))
	}
	fmt.Fprintf(tw, "acked vs found in the store\t%d / %d\tequal\t%s\n", r.Acked, r.Found, yes(r.Targets["noLoss"]))
	fmt.Fprintf(tw, "sessions stored twice\t%d\t0\t%s\n", r.DuplicateSessions, yes(r.Targets["noDuplicateSession"]))
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ClusterOptions configure a run of the cluster-45k scenario: the fleet options plus the
// cluster's parts.
type ClusterOptions struct {
	Options
	Nodes int // serve processes
	// Postgres is a PostgreSQL server URL; the run creates a database of its own there and
	// drops it afterwards.
	Postgres string
	NATS     string // NATS server URL (JetStream enabled)
	// NodeCapacity is the most connections the balancer gives one node, below the 20,000 files
	// one process may open (stations, database and NATS connections, log files).
	NodeCapacity int
	Commands     int // cross-node REST commands of the commands phase
}

const (
	defaultNodeCapacity = 19000
	commandsInFlight    = 8 // cross-node commands at once
)

func (o *ClusterOptions) defaults() {
	if o.Stations <= 0 {
		o.Stations = 45000
	}
	if o.LoadProcs <= 0 {
		o.LoadProcs = 6
	}
	o.Options.defaults()
	if o.Nodes <= 0 {
		o.Nodes = 3
	}
	if o.Postgres == "" {
		o.Postgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	if o.NATS == "" {
		o.NATS = "nats://127.0.0.1:4222"
	}
	if o.NodeCapacity <= 0 {
		o.NodeCapacity = defaultNodeCapacity
	}
	if o.Commands <= 0 {
		o.Commands = 2000
	}
}

// clusterRun holds the processes and the database of one cluster-45k run.
type clusterRun struct {
	*fleetLoad
	o     ClusterOptions
	db    *runDB
	name  string // the cluster's name: prefix of its NATS subjects and buckets
	nodes []*serverProc
	res   *ClusterResult
}

// RunCluster runs the cluster-45k scenario: o.Nodes serve processes on one fresh PostgreSQL
// database and one NATS server, with the fleet spread evenly over them.
func RunCluster(ctx context.Context, o ClusterOptions) (*ClusterResult, error) {
	o.defaults()
	if per := (o.Stations + o.Nodes - 1) / o.Nodes; per > o.NodeCapacity {
		return nil, fmt.Errorf("%d stations on %d nodes is %d per node, more than the capacity of %d", o.Stations, o.Nodes, per, o.NodeCapacity)
	}
	c := &clusterRun{o: o, res: newClusterResult(o)}
	c.fleetLoad = &fleetLoad{o: &c.o.Options, dir: o.Dir, phases: &c.res.Phases}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "opencpo-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		c.dir = d
	}
	db, err := createRunDB(ctx, o.Postgres)
	if err != nil {
		return nil, err
	}
	c.db = db
	c.res.Database = db.name
	c.name = "bench" + strings.ToLower(rand.Text())[:10]
	defer c.cleanup()
	for i := range o.Nodes {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("node-%d", i+1)
		c.nodes = append(c.nodes, &serverProc{name: name, addr: addr, log: filepath.Join(c.dir, name+".log"),
			args: []string{"--addr", addr, "--db", db.url, "--api-token", apiToken, "--unknown-stations", "accept",
				"--heartbeat-interval", heartbeatEvery.String(), "--log-level", "warn",
				"--nats", o.NATS, "--node", name, "--cluster", c.name}})
		c.res.Servers = append(c.res.Servers, ServerFigures{Name: name})
	}
	if err := c.run(ctx); err != nil {
		return c.res, err
	}
	return c.res, nil
}

func (c *clusterRun) cleanup() {
	c.stop()
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Go(n.stop)
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.db.drop(ctx); err != nil {
		c.logf("%v", err)
	}
	if err := dropClusterBuckets(ctx, c.o.NATS, c.name); err != nil {
		c.logf("%v", err)
	}
}

// share is the most connections one load process may open to one node.
func (c *clusterRun) share() int { return c.o.NodeCapacity / c.o.LoadProcs }

func (c *clusterRun) addrs() []string {
	var a []string
	for _, n := range c.nodes {
		a = append(a, n.addr)
	}
	return a
}

func (c *clusterRun) run(ctx context.Context) error {
	o, r := c.o, c.res
	c.logf("%d nodes on %s (database %s), NATS %s, cluster %s", o.Nodes, strings.Join(c.addrs(), " "), c.db.name, o.NATS, c.name)
	if err := c.startNodes(ctx, c.nodes); err != nil {
		return err
	}
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	if err := createTokens(ctx, c.nodes[0].addr); err != nil {
		return err
	}
	for i, n := range c.nodes {
		if err := r.Servers[i].before(ctx, n); err != nil {
			return err
		}
	}

	// Connect storm, spread over the nodes.
	c.logf("connect storm: %d stations from %d load processes over %d nodes", o.Stations, o.LoadProcs, o.Nodes)
	d, err := c.connectStorm(ctx, "ws://"+c.nodes[0].addr+"/ocpp", c.addrs(), c.share())
	if err != nil {
		return err
	}
	r.ConnectStormS, r.ConnectionsHeld = d.Seconds(), o.Stations

	// Idle: memory and CPU per node.
	cpu, err := measureCPU(ctx, c.nodes, o.Idle)
	if err != nil {
		return err
	}
	held, err := c.db.held(ctx)
	if err != nil {
		return err
	}
	for i, n := range c.nodes {
		f := &r.Servers[i]
		f.IdleCPUPct = cpu[i]
		f.idle(ctx, n, held[n.name])
		c.logf("idle: %s holds %d stations, CPU %.1f %% of a core, RSS %d KiB (%.2f KiB per connection)", n.name, f.Held, f.IdleCPUPct, f.RSSIdleKiB, f.RSSPerConnKiB)
	}
	if _, err := c.phase("idle"); err != nil {
		return err
	}

	// Steady state: the realistic mix.
	if err := c.startMix(ctx); err != nil {
		return err
	}
	if cpu, err = measureCPU(ctx, c.nodes, o.Steady); err != nil {
		return err
	}
	for i := range c.nodes {
		r.Servers[i].SteadyCPUPct = cpu[i]
	}
	steady, err := c.phase("steady")
	if err != nil {
		return err
	}
	c.logf("steady: %.0f calls/s (%.0f durable), p50 %.2f ms, p99 %.2f ms", steady.CallsPerS, steady.DurablePerS, steady.P50Ms, steady.P99Ms)

	// Cross-node commands, under the mix.
	if err := c.commands(ctx); err != nil {
		return err
	}

	if o.StressMax > 0 {
		if err := c.stressRamp(ctx, &r.StressSummary); err != nil {
			return err
		}
	}
	if !o.SkipKill {
		if err := c.killNode(ctx, connectLimit(o.Stations)); err != nil {
			return err
		}
	}
	r.KillSkipped = o.SkipKill
	n, err := c.db.duplicateSessions(ctx)
	if err != nil {
		return err
	}
	r.DuplicateSessions = n
	files, err := c.writeAcks()
	if err != nil {
		return err
	}
	if r.Acked, r.Found, err = checkLedgerPostgres(ctx, c.db.url, files); err != nil {
		return err
	}
	c.logf("%d acknowledged transaction messages, %d found in the store; %d sessions stored twice", r.Acked, r.Found, r.DuplicateSessions)
	r.finish()
	return nil
}

// startNodes starts the nodes in parallel (the migration lock orders their first start).
func (c *clusterRun) startNodes(ctx context.Context, nodes []*serverProc) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { errs[i] = n.start(ctx, c.o.Exe, c.o.Env) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// commands gives REST commands to nodes for stations other nodes hold.
func (c *clusterRun) commands(ctx context.Context) error {
	if _, err := c.phase(""); err != nil {
		return err
	}
	holders, err := c.db.holders(ctx)
	if err != nil {
		return err
	}
	c.logf("cross-node commands: %d TriggerMessage calls, each through a node that does not hold the station", c.o.Commands)
	f, err := crossNodeCommands(ctx, c.nodes, holders, c.o.Commands, nil)
	if err != nil {
		return err
	}
	c.res.CrossNode = f
	c.logf("cross-node commands: %d of %d answered, p50 %.2f ms, p99 %.2f ms", f.Answered, f.Calls, f.P50Ms, f.P99Ms)
	_, err = c.phase("commands")
	return err
}

// killNode kills the last node with SIGKILL under the mix; its stations reconnect to the
// others (as many as their capacity takes). Then the node starts again.
func (c *clusterRun) killNode(ctx context.Context, limit time.Duration) error {
	r, o := c.res, c.o
	if err := sleep(ctx, o.Settle); err != nil {
		return err
	}
	if _, err := c.phase(""); err != nil {
		return err
	}
	victim := c.nodes[len(c.nodes)-1]
	held, err := c.db.held(ctx)
	if err != nil {
		return err
	}
	r.KilledNode, r.KilledHeld = victim.name, held[victim.name]
	// The survivors take what their share leaves room for in each load process.
	for i := range o.LoadProcs {
		r.KillExpected += min(c.stationsOf(i), (o.Nodes-1)*c.share())
	}
	c.logf("kill -9 of %s, which holds %d stations; the %d others can take %d of the %d stations", victim.name, r.KilledHeld, o.Nodes-1, r.KillExpected, o.Stations)
	before, err := c.totals()
	if err != nil {
		return err
	}
	// The killed node's stations that fit on the survivors connect again.
	moved := int64(r.KillExpected - (o.Stations - r.KilledHeld))
	victim.kill()
	start := time.Now()
	d, err := c.waitReconnected(ctx, start, limit, r.KillExpected, before.Connects+moved)
	if err != nil {
		return fmt.Errorf("after kill -9: %w", err)
	}
	r.KillReconnectS = d.Seconds()
	c.logf("%d stations connected to the survivors %.1fs after the kill", r.KillExpected, d.Seconds())
	if err := c.drain(ctx); err != nil {
		return err
	}
	if r.HeldTwice, err = c.heldTwice(ctx, c.nodes[:len(c.nodes)-1]); err != nil {
		return err
	}
	if _, err := c.phase("kill"); err != nil {
		return err
	}

	// Restart.
	c.logf("restart of %s", victim.name)
	t0 := time.Now()
	if err := victim.start(ctx, o.Exe, o.Env); err != nil {
		return fmt.Errorf("restart after kill: %w", err)
	}
	r.RestartS = time.Since(t0).Seconds()
	// When the survivors could not take every station, the rest wait for the restarted node.
	r.AllBackS = r.KillReconnectS
	if r.KillExpected < o.Stations {
		if d, err = c.waitConnected(ctx, start, limit, o.Stations); err != nil {
			return fmt.Errorf("after the restart: %w", err)
		}
		r.AllBackS = d.Seconds()
	}
	c.logf("%s listening again after %.1fs; all %d stations back %.1fs after the kill", victim.name, r.RestartS, o.Stations, r.AllBackS)
	if err := c.drain(ctx); err != nil {
		return err
	}
	holders, err := c.db.holders(ctx)
	if err != nil {
		return err
	}
	n := max(1, c.o.Commands/4)
	f, err := crossNodeCommands(ctx, c.nodes, holders, n, victim)
	if err != nil {
		return err
	}
	r.AfterRestart = f
	c.logf("after the restart: %d of %d commands through %s answered, p99 %.2f ms", f.Answered, f.Calls, victim.name, f.P99Ms)
	_, err = c.phase("restart")
	return err
}

// heldTwice compares the connections the live nodes hold (their /metrics gauges) with the
// connections the load processes have: a station held by two nodes at once counts twice on
// the nodes' side. Sockets close a moment after the stations move, so it waits up to 30 s for
// the two to agree and returns the surplus then.
func (c *clusterRun) heldTwice(ctx context.Context, live []*serverProc) (int, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		t, err := c.totals()
		if err != nil {
			return 0, err
		}
		onNodes := 0
		for _, n := range live {
			k, err := openConnections(ctx, n.addr)
			if err != nil {
				return 0, err
			}
			onNodes += k
		}
		surplus := onNodes - (t.Online + t.Stress)
		if surplus <= 0 || time.Now().After(deadline) {
			return max(surplus, 0), nil
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

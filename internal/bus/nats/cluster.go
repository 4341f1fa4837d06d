// Package nats joins an OpenCPO node to a cluster over a NATS server: it carries the event bus
// between nodes (domain.EventBus), routes CSMS-initiated calls to the node that holds a station's
// connection (request/reply), keeps a heartbeat per node so that the others can tell a live node
// from a dead one, and hands out leases (domain.Lease) so that one node at a time runs each
// background job. Heartbeats and leases live in NATS key-value buckets whose MaxAge is their time
// to live (the servers we run, 2.9, have no per-message TTL).
//
// It imports the domain, the OCPP framing (to carry a station's CALLERROR across), the
// in-process bus and github.com/nats-io/nats.go; nothing else of OpenCPO.
package nats

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/opencpo/opencpo/internal/bus/inmem"
)

// Options configure a node's link to the cluster.
type Options struct {
	// URL of the NATS server (nats://host:4222; several separated by commas).
	URL string
	// Node is this node's name, unique in the cluster.
	Node string
	// Cluster names the cluster: the prefix of its subjects and buckets, so that several
	// clusters (or test runs) can share one NATS server. Default "opencpo".
	Cluster string
	// NodeTTL is how long a node counts as alive after its last heartbeat (default 15s); it
	// beats every NodeTTL/3.
	NodeTTL time.Duration
	// LeaseTTL is how long a lease lasts without renewal (default 15s).
	LeaseTTL time.Duration
	Log      *slog.Logger
}

var clusterName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Cluster is one node's link to the cluster. Create it with Connect, run its heartbeat with
// Run, end it with Close.
type Cluster struct {
	opts   Options
	log    *slog.Logger
	nc     *natsgo.Conn
	nodes  jetstream.KeyValue
	leases jetstream.KeyValue
	local  *inmem.Bus
	events *natsgo.Subscription

	mu    sync.Mutex
	calls *natsgo.Subscription
	held  map[string]bool // leases this node took (maybe lapsed since), released by Close
	// beatRev is the revision of this node's last heartbeat; onRejoin runs when it expired.
	beatRev  uint64
	onRejoin func(ctx context.Context)
	// wg counts the goroutines answering calls from other nodes.
	wg sync.WaitGroup
}

// Connect joins the cluster: it connects to NATS, creates the buckets it needs if they are
// missing, subscribes to the cluster's events and records the first heartbeat, so that the
// node counts as alive before it accepts any station.
func Connect(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Node == "" {
		return nil, errors.New("cluster: a node name is required")
	}
	if opts.Cluster == "" {
		opts.Cluster = "opencpo"
	}
	if !clusterName.MatchString(opts.Cluster) {
		return nil, fmt.Errorf("cluster: the cluster name %q must be 1 to 32 of A-Z a-z 0-9 _ -", opts.Cluster)
	}
	if opts.NodeTTL <= 0 {
		opts.NodeTTL = 15 * time.Second
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 15 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	log := opts.Log
	nc, err := natsgo.Connect(opts.URL,
		natsgo.Name("opencpo "+opts.Node),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(time.Second),
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) {
			log.Warn("cluster: lost the NATS connection", "err", err)
		}),
		natsgo.ReconnectHandler(func(*natsgo.Conn) { log.Info("cluster: NATS connection restored") }),
	)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to NATS: %w", err)
	}
	c := &Cluster{opts: opts, log: log, nc: nc, local: inmem.New(0)}
	if err := c.setup(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) setup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	js, err := jetstream.New(c.nc)
	if err != nil {
		return fmt.Errorf("cluster: JetStream: %w", err)
	}
	bucket := func(name string, ttl time.Duration) (jetstream.KeyValue, error) {
		kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: c.opts.Cluster + "_" + name, History: 1, TTL: ttl, Storage: jetstream.MemoryStorage,
		})
		if err != nil {
			return nil, fmt.Errorf("cluster: key-value bucket %s (is JetStream enabled on the NATS server?): %w", name, err)
		}
		return kv, nil
	}
	if c.nodes, err = bucket("nodes", c.opts.NodeTTL); err != nil {
		return err
	}
	if c.leases, err = bucket("leases", c.opts.LeaseTTL); err != nil {
		return err
	}
	if c.events, err = c.nc.Subscribe(c.eventSubject(), c.receiveEvent); err != nil {
		return fmt.Errorf("cluster: subscribe to events: %w", err)
	}
	c.events.SetPendingLimits(64*1024, 64<<20)
	if err := c.beat(ctx); err != nil {
		return err
	}
	return c.nc.FlushWithContext(ctx)
}

// Node is this node's name.
func (c *Cluster) Node() string { return c.opts.Node }

// Run keeps this node's heartbeat until ctx ends.
func (c *Cluster) Run(ctx context.Context) error {
	t := time.NewTicker(c.opts.NodeTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := c.beat(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("cluster: heartbeat not recorded", "err", err)
			}
		}
	}
}

// beat records a heartbeat. Each beat replaces the previous one by revision: when that fails,
// the previous beat had expired (the node was cut off from NATS for longer than the TTL), the
// other nodes took this one for dead and may have marked its stations offline, so the rejoin
// callback runs to record them again.
func (c *Cluster) beat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.NodeTTL/3)
	defer cancel()
	key, value := token(c.opts.Node), []byte(time.Now().UTC().Format(time.RFC3339Nano))
	c.mu.Lock()
	last, rejoin := c.beatRev, c.onRejoin
	c.mu.Unlock()
	var rev uint64
	var err error
	lapsed := false
	if last != 0 {
		rev, err = c.nodes.Update(ctx, key, value, last)
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			lapsed, err = true, nil
		}
	}
	if last == 0 || lapsed {
		rev, err = c.nodes.Put(ctx, key, value)
	}
	if err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	c.mu.Lock()
	c.beatRev = rev
	c.mu.Unlock()
	if lapsed {
		c.log.Warn("cluster: this node's heartbeat had lapsed; recording its connections again")
		if rejoin != nil {
			// In the background: recording thousands of connections must not hold up the
			// next heartbeat. Close waits for it.
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				rctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				rejoin(rctx)
			}()
		}
	}
	return nil
}

// OnRejoin sets what runs when this node's heartbeat had lapsed and is current again.
func (c *Cluster) OnRejoin(f func(ctx context.Context)) {
	c.mu.Lock()
	c.onRejoin = f
	c.mu.Unlock()
}

// Alive returns the nodes whose heartbeat is current, by name.
func (c *Cluster) Alive(ctx context.Context) (map[string]bool, error) {
	keys, err := c.nodes.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: list nodes: %w", err)
	}
	alive := map[string]bool{}
	for k := range keys.Keys() {
		if name, err := untoken(k); err == nil {
			alive[name] = true
		}
	}
	return alive, nil
}

// NodeAlive reports whether the named node's heartbeat is current, reading its key alone. The
// reaper asks this rather than Alive: a key listing under load can end early without an error
// and leave live nodes out, and a node left out would have its stations marked offline.
func (c *Cluster) NodeAlive(ctx context.Context, node string) (bool, error) {
	_, err := c.nodes.Get(ctx, token(node))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("cluster: heartbeat of %s: %w", node, err)
	}
}

// AliveNodes is Alive as a sorted list (for logs and tests).
func (c *Cluster) AliveNodes(ctx context.Context) ([]string, error) {
	m, err := c.Alive(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// Close leaves the cluster: it stops answering calls (waiting for those in progress), releases
// its leases and removes the heartbeat so that the others see the node gone at once, and closes the connection after
// sending what is buffered.
func (c *Cluster) Close() error {
	c.mu.Lock()
	calls := c.calls
	c.calls = nil
	c.mu.Unlock()
	if calls != nil {
		_ = calls.Unsubscribe()
	}
	c.wg.Wait()
	_ = c.events.Unsubscribe()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.mu.Lock()
	held := c.held
	c.held = nil
	c.mu.Unlock()
	for name := range held {
		if err := c.Release(ctx, name); err != nil {
			c.log.Warn("cluster: lease not released", "lease", name, "err", err)
		}
	}
	if err := c.nodes.Delete(ctx, token(c.opts.Node)); err != nil {
		c.log.Warn("cluster: heartbeat not removed", "err", err)
	}
	err := c.nc.Drain()
	for !c.nc.IsClosed() && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	c.nc.Close()
	return err
}

func (c *Cluster) eventSubject() string { return c.opts.Cluster + ".events" }

func (c *Cluster) callSubject(node string) string {
	return c.opts.Cluster + ".node." + token(node) + ".call"
}

// token turns a name (a node's host name may hold dots, which separate subject tokens) into a
// subject token and key-value key: unpadded base64url, which uses none of NATS's special
// characters.
func token(name string) string { return base64.RawURLEncoding.EncodeToString([]byte(name)) }

func untoken(t string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	return string(b), err
}

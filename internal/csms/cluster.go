package csms

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
)

// Cluster makes the service one node of a cluster: stations connect to any node, the store
// records which node holds each connection (domain.NodeStore), and calls for a station on
// another node go there through the Router.
type Cluster struct {
	// Node is this node's name.
	Node string
	// Router sends a call to a station connected to another node (bus/nats.Cluster.CallNode).
	Router Router
	// Members tells which nodes are alive (bus/nats.Cluster.Alive).
	Members Members
	// ReapEvery is how often the holder of the reaper lease looks for dead nodes whose
	// stations still count as connected (default 5s).
	ReapEvery time.Duration
}

// Router reaches stations connected to other nodes. Its errors are those of a local call
// (Caller): *ocpp.CallError, domain.ErrOffline, domain.ErrTimeout.
type Router interface {
	CallNode(ctx context.Context, node, stationID, action string, payload json.RawMessage) (json.RawMessage, error)
}

// Members reports whether a node's heartbeat is current (bus/nats.Cluster.NodeAlive).
type Members interface {
	NodeAlive(ctx context.Context, node string) (bool, error)
}

// localConnections is what the service asks of its Caller in a cluster: whether a station is
// connected to this node (ocppws.Server has it).
type localConnections interface {
	Connected(stationID string) (ocpp.Version, bool)
}

// The leases of the service's background jobs.
const (
	LeaseSweep     = "csms.sweep"
	LeaseReaper    = "csms.reaper"
	LeaseCampaigns = "csms.campaigns" // the firmware campaign runner
)

func (s *Service) clustered() bool { return s.cfg.Cluster != nil }

// isLocal reports whether the station's connection is on this node.
func (s *Service) isLocal(stationID string) bool {
	lc, ok := s.getCaller().(localConnections)
	if !ok {
		return true // a Caller that cannot tell is asked directly
	}
	_, connected := lc.Connected(stationID)
	return connected
}

// send delivers a checked call to the station: through the local connection, or, in a cluster,
// through the node that holds the station.
func (s *Service) send(ctx context.Context, stationID, action string, payload json.RawMessage) (json.RawMessage, error) {
	caller := s.getCaller()
	if caller == nil {
		return nil, domain.Errorf(domain.ErrOffline, "station %s is not connected", stationID)
	}
	if !s.clustered() || s.isLocal(stationID) {
		return caller.Call(ctx, stationID, action, payload)
	}
	node, err := s.store.StationNode(ctx, stationID)
	if err != nil {
		return nil, err
	}
	if node == "" || node == s.cfg.Cluster.Node {
		// Not connected anywhere (or the store still names this node for a connection that
		// just ended): the local Caller gives the usual "not connected".
		return caller.Call(ctx, stationID, action, payload)
	}
	return s.cfg.Cluster.Router.CallNode(ctx, node, stationID, action, payload)
}

// CallLocal sends a call that another node routed here to a station connected to this node.
// The asking node has checked the request and writes the audit entry; this one only delivers.
func (s *Service) CallLocal(ctx context.Context, stationID, action string, payload json.RawMessage) (json.RawMessage, error) {
	caller := s.getCaller()
	if caller == nil {
		return nil, domain.Errorf(domain.ErrOffline, "station %s is not connected", stationID)
	}
	return caller.Call(ctx, stationID, action, payload)
}

// followCluster applies what other nodes announce to this node's connections and caches:
//   - a station that connected to another node has moved (a network change, a load balancer's
//     choice): this node's socket of it is stale, even if TCP has not noticed yet, and is
//     dropped. The store decides who holds the station, so a late event never drops a
//     connection newer than the other node's.
//   - a station changed or removed through another node's API: the cached registration and
//     password are dropped (and a removed station's connection closed), as on the node that
//     made the change.
func (s *Service) followCluster(ctx context.Context) {
	for e := range s.cfg.Events.Subscribe(ctx) {
		if e.Node == s.cfg.Cluster.Node || e.StationID == "" {
			continue
		}
		switch e.Kind {
		case domain.EventStationChanged, domain.EventStationRemoved:
			s.mu.Lock()
			delete(s.stations, e.StationID)
			delete(s.verified, e.StationID)
			s.mu.Unlock()
			if e.Kind == domain.EventStationRemoved && s.isLocal(e.StationID) {
				s.dropLocal(e.StationID)
			}
		case domain.EventStationConnected:
			if !s.isLocal(e.StationID) {
				continue
			}
			node, err := s.store.StationNode(ctx, e.StationID)
			if err != nil || node == s.cfg.Cluster.Node {
				continue
			}
			s.log.InfoContext(ctx, "csms: station moved to another node; dropping the stale connection", "station", e.StationID, "node", node)
			s.dropLocal(e.StationID)
		}
	}
}

func (s *Service) dropLocal(stationID string) {
	if c := s.getCaller(); c != nil {
		c.Disconnect(stationID)
	}
}

// reap marks the stations of dead nodes (no current heartbeat) as disconnected. It runs on
// the holder of the reaper lease only. A node that cannot see its own heartbeat doubts its view
// of the cluster and reaps nothing. Connections recorded without a node (node "", left by a
// single node before it became a cluster) belong to no live node and are reaped too.
//
// A node that was only cut off for longer than its heartbeat's time to live is alive: once its
// heartbeat is current again it claims its stations again (Rejoined). Under load the reaper's
// write can land after those claims; it releases only the stations last seen before the reaper
// found the node dead, which the claims are not.
func (s *Service) reap(ctx context.Context) {
	found := s.now().UTC()
	nodes, err := s.store.ConnectedNodes(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "csms: reaper: list nodes", "err", err)
		return
	}
	members := s.cfg.Cluster.Members
	if self, err := members.NodeAlive(ctx, s.cfg.Cluster.Node); err != nil || !self {
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "csms: reaper: cluster membership unknown; nothing reaped", "err", err)
		}
		return
	}
	for _, node := range nodes {
		if node != "" { // "" is no node: always reaped
			alive, err := members.NodeAlive(ctx, node)
			if err != nil {
				s.log.WarnContext(ctx, "csms: reaper: node's heartbeat unknown; not reaped", "node", node, "err", err)
				continue
			}
			if alive {
				continue
			}
		}
		ids, err := s.store.ReleaseNode(ctx, node, found)
		if err != nil {
			s.log.WarnContext(ctx, "csms: reaper: release a dead node's stations", "node", node, "err", err)
			continue
		}
		s.log.WarnContext(ctx, "csms: node has no heartbeat; its stations are marked disconnected", "node", node, "stations", len(ids))
		for _, id := range ids {
			s.forget(id)
			s.publish(ctx, domain.Event{Kind: domain.EventStationDisconnected, StationID: id})
		}
	}
}

// runClusterJobs does a node's cluster work until ctx ends: following the other nodes and, while it
// holds the reaper lease, reaping dead nodes.
func (s *Service) runClusterJobs(ctx context.Context) {
	done := make(chan struct{})
	if s.cfg.Events != nil {
		go func() {
			defer close(done)
			s.followCluster(ctx)
		}()
	} else {
		close(done)
	}
	defer func() { <-done }()
	every := s.cfg.Cluster.ReapEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s.holds(ctx, LeaseReaper) {
				s.reap(ctx)
			}
		}
	}
}

// holds reports whether this node holds the named lease; an unknown answer is "no".
func (s *Service) holds(ctx context.Context, name string) bool {
	ok, err := s.cfg.Lease.Hold(ctx, name)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			s.log.WarnContext(ctx, "csms: lease unknown; job skipped", "lease", name, "err", err)
		}
		return false
	}
	return ok
}

// Rejoined records this node's connections again after its heartbeat had lapsed (it was cut
// off from NATS for longer than the node TTL): meanwhile another node's reaper may have marked
// them offline, or be about to: a station still recorded here is claimed again too, so that its
// last-seen time passes the reaper's cutoff (reap). A station that moved to another node in
// between is left to it.
func (s *Service) Rejoined(ctx context.Context) {
	lc, ok := s.getCaller().(localConnections)
	if !ok || !s.clustered() {
		return
	}
	s.mu.Lock()
	ids := make([]string, 0, len(s.seen))
	for id := range s.seen {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		v, connected := lc.Connected(id)
		if !connected {
			continue
		}
		node, err := s.store.StationNode(ctx, id)
		if err != nil || (node != "" && node != s.cfg.Cluster.Node) {
			continue // moved to another node
		}
		if err := s.store.ClaimStation(ctx, id, s.cfg.Cluster.Node, string(v), s.now().UTC()); err != nil {
			s.log.WarnContext(ctx, "csms: connection not recorded again", "station", id, "err", err)
			continue
		}
		s.publish(ctx, domain.Event{Kind: domain.EventStationConnected, StationID: id})
	}
}

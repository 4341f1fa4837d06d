package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"

	busnats "github.com/opencpo/opencpo/internal/bus/nats"
	"github.com/opencpo/opencpo/internal/csms"
	"github.com/opencpo/opencpo/internal/domain"
)

// clusterNode is this process's membership of a cluster (--nats). Its methods accept a nil
// receiver, which is a single node, so that serve reads the same either way.
type clusterNode struct {
	*busnats.Cluster
	log     *slog.Logger
	nodeTTL time.Duration
}

// checkClusterFlags checks --nats, --node and --cluster.
func checkClusterFlags(c serveConfig) error {
	if c.NATS == "" {
		return nil
	}
	for _, u := range strings.Split(c.NATS, ",") {
		if !strings.HasPrefix(strings.TrimSpace(u), "nats://") && !strings.HasPrefix(strings.TrimSpace(u), "tls://") {
			return fmt.Errorf("nats must be a nats:// URL (or several, separated by commas)")
		}
	}
	if !isPostgresURL(c.DB) {
		return fmt.Errorf("cluster mode (--nats) needs a PostgreSQL database that every node shares: set --db to a postgres:// URL")
	}
	if c.Node == "" {
		return fmt.Errorf("cluster mode needs a node name: set --node or OPENCPO_NODE (the host name could not be read)")
	}
	if len(c.Node) > 64 || strings.IndexFunc(c.Node, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) >= 0 {
		return fmt.Errorf("node must be at most 64 printable characters without spaces")
	}
	if c.NodeTTL < 3*time.Second {
		return fmt.Errorf("node-ttl must be at least 3s")
	}
	return nil
}

// joinCluster connects to NATS when --nats is given; nil otherwise.
func joinCluster(ctx context.Context, cfg serveConfig, log *slog.Logger) (*clusterNode, error) {
	if cfg.NATS == "" {
		return nil, nil
	}
	c, err := busnats.Connect(ctx, busnats.Options{
		URL: cfg.NATS, Node: cfg.Node, Cluster: cfg.Cluster, NodeTTL: cfg.NodeTTL, Log: log,
	})
	if err != nil {
		return nil, err
	}
	log.Info("joined the cluster", "node", cfg.Node, "cluster", cfg.Cluster)
	return &clusterNode{Cluster: c, log: log, nodeTTL: cfg.NodeTTL}, nil
}

// resetConnections clears the connected flags left behind by this node's previous run: every
// flag on a single node, only this node's in a cluster (the others hold theirs).
func resetConnections(ctx context.Context, cfg serveConfig, store domain.Store) error {
	if cfg.NATS == "" {
		return store.MarkAllDisconnected(ctx)
	}
	_, err := store.ReleaseNode(ctx, cfg.Node, time.Time{})
	return err
}

func (c *clusterNode) csmsConfig() *csms.Cluster {
	if c == nil {
		return nil
	}
	// The reaper looks for dead nodes a few times per node TTL.
	return &csms.Cluster{Node: c.Node(), Router: c.Cluster, Members: c.Cluster, ReapEvery: c.nodeTTL / 3}
}

func (c *clusterNode) lease() domain.Lease {
	if c == nil {
		return domain.SingleNode{}
	}
	return c.Cluster
}

// serveCalls answers the calls other nodes route to this node's stations.
func (c *clusterNode) serveCalls(central *csms.Service) error {
	if c == nil {
		return nil
	}
	c.OnRejoin(central.Rejoined)
	return c.ServeCalls(central.CallLocal)
}

func (c *clusterNode) close() {
	if err := c.Close(); err != nil {
		c.log.Warn("leaving the cluster", "err", err)
	}
}

package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
)

// nodeBalancer is the load balancer in front of a cluster, as the load process's dialer: each
// new connection goes to the next node in turn that accepts it, so a fleet spreads evenly over
// the nodes and the stations of a node that died reconnect to the others. Like a load balancer's
// per-backend connection limit, it sends no node more than perNode connections (0: no limit);
// when every live node is full the dial fails and the station retries after its back-off, which
// is how a fleet larger than the survivors' capacity waits for a restarted node.
type nodeBalancer struct {
	nodes   []string
	perNode int64
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	open    []atomic.Int64
	next    atomic.Uint64
}

func newNodeBalancer(nodes []string, perNode int, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *nodeBalancer {
	return &nodeBalancer{nodes: nodes, perNode: int64(perNode), dial: dial, open: make([]atomic.Int64, len(nodes))}
}

// errNodesFull means every node that accepts connections holds its share already.
var errNodesFull = errors.New("every live node holds its share of connections")

// DialContext ignores addr: the balancer picks the node. The first choice is round robin; when
// it refuses or is full, the others are tried in random order, so that a dead node's share
// spreads evenly over the survivors rather than all landing on its neighbour.
func (b *nodeBalancer) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	n := len(b.nodes)
	first := int((b.next.Add(1) - 1) % uint64(n))
	order := append([]int{first}, rand.Perm(n)...)
	var errs []error
	full := false
	tried := make([]bool, n)
	for _, k := range order {
		if tried[k] {
			continue
		}
		tried[k] = true
		if b.perNode > 0 && b.open[k].Add(1) > b.perNode {
			b.open[k].Add(-1)
			full = true
			continue
		}
		c, err := b.dial(ctx, network, b.nodes[k])
		if err != nil {
			if b.perNode > 0 {
				b.open[k].Add(-1)
			}
			errs = append(errs, err)
			continue
		}
		if b.perNode == 0 {
			return c, nil
		}
		return &countedConn{Conn: c, release: func() { b.open[k].Add(-1) }}, nil
	}
	if full {
		errs = append(errs, errNodesFull)
	}
	return nil, fmt.Errorf("no node took the connection: %w", errors.Join(errs...))
}

// countedConn gives its node's slot back when it closes.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

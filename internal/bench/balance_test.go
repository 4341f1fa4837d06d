package bench

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
)

// TestNodeBalancer: connections go round robin over the nodes; a node that refuses is skipped;
// no node gets more than its share; a closed connection gives its slot back.
func TestNodeBalancer(t *testing.T) {
	var (
		nodes    []string
		lns      []net.Listener
		mu       sync.Mutex
		accepted []net.Conn
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range accepted {
			c.Close()
		}
	})
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		lns = append(lns, ln)
		nodes = append(nodes, ln.Addr().String())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				accepted = append(accepted, c)
				mu.Unlock()
			}
		}()
	}
	var d net.Dialer
	b := newNodeBalancer(nodes, 2, d.DialContext)
	ctx := context.Background()
	var conns []net.Conn
	for range 3 {
		c, err := b.DialContext(ctx, "tcp", "ignored:1")
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i := range nodes {
		if n := b.open[i].Load(); n != 1 {
			t.Errorf("node %d holds %d connections after 3 dials, want 1 (round robin)", i, n)
		}
	}

	// The third node dies: its share goes to the others, up to 2 each.
	lns[2].Close()
	for range 2 {
		c, err := b.DialContext(ctx, "tcp", "ignored:1")
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if b.open[0].Load() != 2 || b.open[1].Load() != 2 {
		t.Errorf("live nodes hold %d and %d, want 2 and 2", b.open[0].Load(), b.open[1].Load())
	}
	// Node 3's old connection still counts until it closes; the live nodes are full.
	if _, err := b.DialContext(ctx, "tcp", "ignored:1"); !errors.Is(err, errNodesFull) {
		t.Fatalf("dial with every live node full: %v, want errNodesFull", err)
	}
	// A closed connection (twice: once counts) frees its node's slot.
	_ = conns[0].Close()
	_ = conns[0].Close()
	if n := b.open[0].Load(); n != 1 {
		t.Fatalf("node 0 holds %d after a close, want 1", n)
	}
	c, err := b.DialContext(ctx, "tcp", "ignored:1")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	for _, c := range conns[1:] {
		c.Close()
	}
}

package nats

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Hold takes the named lease if no node holds it, renews it if this node does, and reports
// whether this node holds it. A lease is a key in the leases bucket whose value is the holder's
// name; the bucket's MaxAge ends a lease that is not renewed within LeaseTTL. Create and the
// revision-checked Update make the take-over atomic: two nodes racing for a free lease cannot
// both win.
func (c *Cluster) Hold(ctx context.Context, name string) (bool, error) {
	key := token(name)
	me := []byte(c.opts.Node)
	e, err := c.leases.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		_, err := c.leases.Create(ctx, key, me)
		if errors.Is(err, jetstream.ErrKeyExists) {
			return false, nil // another node was faster
		}
		if err != nil {
			return false, fmt.Errorf("cluster: take lease %s: %w", name, err)
		}
		c.noteLease(name)
		return true, nil
	case err != nil:
		return false, fmt.Errorf("cluster: read lease %s: %w", name, err)
	case string(e.Value()) != c.opts.Node:
		return false, nil
	}
	if _, err := c.leases.Update(ctx, key, me, e.Revision()); err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return false, nil // it lapsed and another node took it meanwhile
		}
		return false, fmt.Errorf("cluster: renew lease %s: %w", name, err)
	}
	c.noteLease(name)
	return true, nil
}

// noteLease remembers a lease this node took, for Close to release.
func (c *Cluster) noteLease(name string) {
	c.mu.Lock()
	if c.held == nil {
		c.held = map[string]bool{}
	}
	c.held[name] = true
	c.mu.Unlock()
}

// Release gives up the named lease if this node holds it, so that another node takes the job
// over at once instead of after LeaseTTL (a node that shuts down cleanly).
func (c *Cluster) Release(ctx context.Context, name string) error {
	key := token(name)
	e, err := c.leases.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: read lease %s: %w", name, err)
	}
	if string(e.Value()) != c.opts.Node {
		return nil
	}
	if err := c.leases.Delete(ctx, key, jetstream.LastRevision(e.Revision())); err != nil {
		return fmt.Errorf("cluster: release lease %s: %w", name, err)
	}
	return nil
}

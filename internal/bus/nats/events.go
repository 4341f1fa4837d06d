package nats

import (
	"context"
	"encoding/json"

	natsgo "github.com/nats-io/nats.go"

	"github.com/opencpo/opencpo/internal/domain"
)

// Publish stamps the event with this node's name, hands it to this node's subscribers at once
// and sends it to the other nodes. It never blocks on the network: nats.go buffers the message
// (and keeps it across a reconnect, up to its buffer).
func (c *Cluster) Publish(ctx context.Context, e domain.Event) {
	e.Node = c.opts.Node
	c.local.Publish(ctx, e)
	data, err := json.Marshal(e)
	if err != nil {
		c.log.Error("cluster: encode event", "kind", e.Kind, "err", err)
		return
	}
	if err := c.nc.Publish(c.eventSubject(), data); err != nil {
		c.log.Warn("cluster: event not sent to the other nodes", "kind", e.Kind, "station", e.StationID, "err", err)
	}
}

// Subscribe returns the events of every node (this one's included, each once), until ctx ends.
func (c *Cluster) Subscribe(ctx context.Context) <-chan domain.Event {
	return c.local.Subscribe(ctx)
}

// receiveEvent passes another node's event to this node's subscribers. This node's own events
// come back from NATS too; they were delivered when published, so they are skipped here.
func (c *Cluster) receiveEvent(m *natsgo.Msg) {
	var e domain.Event
	if err := json.Unmarshal(m.Data, &e); err != nil {
		c.log.Warn("cluster: undecodable event ignored", "err", err)
		return
	}
	if e.Node == c.opts.Node {
		return
	}
	c.local.Publish(context.Background(), e)
}

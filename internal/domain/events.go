package domain

import (
	"context"
	"time"
)

// EventKind names what happened in an Event.
type EventKind string

// The events the central system publishes. Consumers (live views, other cluster nodes) must
// ignore kinds they do not know: new ones are added over time.
const (
	EventStationConnected    EventKind = "station.connected"
	EventStationDisconnected EventKind = "station.disconnected"
	EventStationBooted       EventKind = "station.booted"
	EventStationChanged      EventKind = "station.changed" // changed by an operator (registration, password, name, …)
	EventStationRemoved      EventKind = "station.removed"
	EventConnectorStatus     EventKind = "connector.status"
	EventSessionStarted      EventKind = "session.started"
	EventSessionUpdated      EventKind = "session.updated"
	EventSessionEnded        EventKind = "session.ended"
)

// Event is a notable change, published after it is stored. It carries identifiers and the few
// values a live view shows at once; readers fetch anything else from the store.
type Event struct {
	Kind        EventKind `json:"kind"`
	At          time.Time `json:"at"`
	StationID   string    `json:"stationId,omitempty"`
	EVSEID      int       `json:"evseId,omitempty"`
	ConnectorID int       `json:"connectorId,omitempty"`
	SessionID   int64     `json:"sessionId,omitempty"`
	// Status is the connector status (connector.status), the session status (session.*) or the
	// registration status (station.booted).
	Status string `json:"status,omitempty"`
	// EnergyWh is the session's energy so far (session.*).
	EnergyWh *float64 `json:"energyWh,omitempty"`
	// Node is the cluster node the event comes from ("" on a single node).
	Node string `json:"node,omitempty"`
}

// EventBus carries events from the part of the system where they happen to every part that
// follows them: in one process (bus/inmem) or across the nodes of a cluster.
type EventBus interface {
	// Publish hands an event to every subscriber. It never blocks on a slow subscriber: a
	// subscriber that does not keep up loses events (and should re-read the store).
	Publish(ctx context.Context, e Event)
	// Subscribe returns a channel of the events published from now on. It is closed when ctx
	// ends.
	Subscribe(ctx context.Context) <-chan Event
}

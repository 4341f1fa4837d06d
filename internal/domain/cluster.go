package domain

import (
	"context"
	"time"
)

// NodeStore records which node of a cluster holds each station's connection, so that a command
// given on any node finds the station's node, a station that moves to another node leaves no
// stale "connected" behind, and the stations of a node that died can be marked offline. A single
// node does not use it (it owns every connection: SetConnected and MarkAllDisconnected suffice).
type NodeStore interface {
	// ClaimStation records that node now holds the station's connection: connected, its OCPP
	// version (if not empty) and last-seen (never moved backwards), whichever node held it
	// before. ErrNotFound if the station is absent.
	ClaimStation(ctx context.Context, id, node, ocppVersion string, at time.Time) error
	// ReleaseStation records the end of node's connection to the station. It changes nothing
	// and returns false when the station is held by another node (it moved there) or by none.
	ReleaseStation(ctx context.Context, id, node string) (bool, error)
	// StationNode returns the node holding the station's connection, "" when it is not
	// connected (or connected to a single node). ErrNotFound if the station is absent.
	StationNode(ctx context.Context, id string) (string, error)
	// ReleaseNode marks the stations node holds as disconnected (the node restarted or died)
	// and returns their ids. With a non-zero seenBefore it leaves out the stations last seen
	// (or claimed) at or after that time: a reaper passes the time it found the node dead, so
	// that a node that was only cut off for a while and has claimed its stations again since
	// keeps them, however late the reaper's write comes.
	ReleaseNode(ctx context.Context, node string, seenBefore time.Time) ([]string, error)
	// ConnectedNodes lists the nodes that hold at least one connection, ordered by name. ""
	// stands for connections recorded without a node (SetConnected, a single node): left over
	// when a single node becomes a cluster, they belong to no live node.
	ConnectedNodes(ctx context.Context) ([]string, error)
}

// Lease decides which node of a cluster runs a background job (the stale-session sweep, the
// ledger prune, the reaper of dead nodes' connections, firmware campaigns): at most one node
// holds a named lease at any time. A job calls Hold before each run and runs only when it is
// held; the holder keeps the lease by calling Hold again within the lease's time to live, and
// another node takes it over once the holder stops doing so (it died or stopped).
type Lease interface {
	// Hold takes or renews the named lease for this node and reports whether this node holds
	// it. An error means the answer is unknown: the job must not run.
	Hold(ctx context.Context, name string) (bool, error)
}

// SingleNode is the Lease of a node without a cluster: it always holds every lease.
type SingleNode struct{}

// Hold reports true: no other node can run the job.
func (SingleNode) Hold(context.Context, string) (bool, error) { return true, nil }

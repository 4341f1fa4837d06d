package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
)

// CallHandler sends a call to a station connected to this node (csms.Service.CallLocal).
type CallHandler func(ctx context.Context, stationID, action string, payload json.RawMessage) (json.RawMessage, error)

// callRequest is a call one node asks another to send to a station.
type callRequest struct {
	StationID string          `json:"stationId"`
	Action    string          `json:"action"`
	Payload   json.RawMessage `json:"payload"`
	// TimeoutMs is how long the answering node may wait for the station: a little less than
	// the asking node waits, so that a station's silence comes back as a timeout rather than
	// as a lost reply.
	TimeoutMs int64 `json:"timeoutMs"`
}

type callReply struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *wireError      `json:"error,omitempty"`
}

// wireError carries the kinds of failure a call can have from one node to another.
type wireError struct {
	Kind        string          `json:"kind"` // offline, timeout, call_error, protocol, internal
	Message     string          `json:"message,omitempty"`
	Code        string          `json:"code,omitempty"` // the OCPP error code of a call_error
	Description string          `json:"description,omitempty"`
	Details     json.RawMessage `json:"details,omitempty"`
}

// minRemoteTimeout bounds how short a call's time at the answering node can become.
const minRemoteTimeout = 100 * time.Millisecond

// ServeCalls answers the calls other nodes route to stations connected here, with h, until
// Close. Each call runs in its own goroutine: a slow station never holds up another's call.
func (c *Cluster) ServeCalls(h CallHandler) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls != nil {
		return errors.New("cluster: ServeCalls called twice")
	}
	sub, err := c.nc.Subscribe(c.callSubject(c.opts.Node), func(m *natsgo.Msg) {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.answer(m, h)
		}()
	})
	if err != nil {
		return fmt.Errorf("cluster: subscribe to calls: %w", err)
	}
	sub.SetPendingLimits(-1, 64<<20)
	c.calls = sub
	return c.nc.Flush()
}

func (c *Cluster) answer(m *natsgo.Msg, h CallHandler) {
	var req callRequest
	var rep callReply
	if err := json.Unmarshal(m.Data, &req); err != nil || req.StationID == "" || req.TimeoutMs <= 0 {
		rep.Error = &wireError{Kind: "internal", Message: "malformed cluster call"}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(req.TimeoutMs)*time.Millisecond)
		res, err := h(ctx, req.StationID, req.Action, req.Payload)
		cancel()
		if err != nil {
			rep.Error = toWire(err)
		} else {
			rep.Result = res
		}
	}
	data, _ := json.Marshal(rep)
	if err := m.Respond(data); err != nil {
		c.log.Warn("cluster: call answer not sent", "station", req.StationID, "action", req.Action, "err", err)
	}
}

// CallNode asks node to send a call to a station connected there and returns the station's
// answer, with the same errors as a local call: *ocpp.CallError for a CALLERROR, domain.ErrOffline
// when the station is not connected there or the node does not answer (it died: NATS knows no
// responder), domain.ErrTimeout when no answer came within ctx's deadline.
func (c *Cluster) CallNode(ctx context.Context, node, stationID, action string, payload json.RawMessage) (json.RawMessage, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		deadline, _ = ctx.Deadline()
	}
	remaining := time.Until(deadline)
	// The answering node gets 90% of the time (at most 1s less): enough left over for its
	// timeout answer to travel back.
	margin := min(remaining/10, time.Second)
	remote := max(remaining-margin, minRemoteTimeout)
	data, err := json.Marshal(callRequest{StationID: stationID, Action: action, Payload: payload, TimeoutMs: remote.Milliseconds()})
	if err != nil {
		return nil, fmt.Errorf("cluster: encode call: %w", err)
	}
	msg, err := c.nc.RequestWithContext(ctx, c.callSubject(node), data)
	switch {
	case errors.Is(err, natsgo.ErrNoResponders):
		return nil, domain.Errorf(domain.ErrOffline, "station %s is not connected (its node %s does not answer)", stationID, node)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, natsgo.ErrTimeout):
		return nil, domain.Errorf(domain.ErrTimeout, "no answer to %s from station %s (on node %s) in time", action, stationID, node)
	case err != nil:
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cluster: call %s on node %s: %w", action, node, err)
	}
	var rep callReply
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return nil, fmt.Errorf("cluster: undecodable answer from node %s: %w", node, err)
	}
	if rep.Error != nil {
		return nil, fromWire(rep.Error, node)
	}
	return rep.Result, nil
}

// toWire keeps what the asking node needs to render the error as a local one would be:
// the kind, the OCPP error of a CALLERROR, and the client-safe message of a domain error.
func toWire(err error) *wireError {
	var ce *ocpp.CallError
	if errors.As(err, &ce) {
		return &wireError{Kind: "call_error", Code: string(ce.Code), Description: ce.Description, Details: ce.Details}
	}
	w := &wireError{Kind: "internal"}
	switch {
	case errors.Is(err, domain.ErrOffline):
		w.Kind = "offline"
	case errors.Is(err, domain.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		w.Kind = "timeout"
	case errors.Is(err, domain.ErrStationProtocol):
		w.Kind = "protocol"
	}
	var de *domain.Error
	if errors.As(err, &de) {
		w.Message = de.Message
	}
	return w
}

func fromWire(w *wireError, node string) error {
	msg := w.Message
	kind := map[string]error{"offline": domain.ErrOffline, "timeout": domain.ErrTimeout, "protocol": domain.ErrStationProtocol}[w.Kind]
	switch {
	case w.Kind == "call_error":
		return &ocpp.CallError{Code: ocpp.ErrorCode(w.Code), Description: w.Description, Details: w.Details}
	case kind == nil:
		return fmt.Errorf("cluster: node %s failed the call (%s)", node, w.Message)
	case msg == "":
		msg = kind.Error()
	}
	return domain.Errorf(kind, "%s", msg)
}

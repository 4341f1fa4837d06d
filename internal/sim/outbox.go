package sim

import (
	"encoding/json"
	"errors"
)

// errNoTransactionID means a 1.6 message belongs to a transaction whose StartTransaction was
// never answered, so the id the CSMS assigned is unknown and the message cannot be sent.
var errNoTransactionID = errors.New("sim: the CSMS never assigned this transaction an id")

// outMsg is a CALL the station wants to send.
type outMsg struct {
	action string
	// tx marks transaction messages (1.6 StartTransaction, StopTransaction, MeterValues of a
	// transaction; 2.0.1 TransactionEvent): they are queued while offline, kept in order across
	// reconnects and retransmitted with the same payload until the CSMS answers.
	tx bool
	// meter marks periodic readings, the first thing to go when the queue overflows.
	meter bool
	// pendingOK may be sent before the boot is Accepted (a reply to what the CSMS asked for
	// while the station is Pending: NotifyReport, triggered messages).
	pendingOK bool
	// build makes the payload when the message is first sent; 1.6 messages of a transaction
	// started offline learn their transactionId only then. The result is frozen in payload, so
	// every retransmission is byte-identical (the CSMS deduplicates on it).
	build   func() (any, error)
	payload json.RawMessage
	// onReply gets the CALLRESULT payload (already checked against the response schema).
	onReply func(json.RawMessage)
	// onFail is told when the message will never be answered: a CALLERROR (err set), or the
	// message was dropped (err nil) because the connection went away or retries ran out.
	onFail   func(err error)
	attempts int
}

// outbox is the station's FIFO of CALLs. One CALL is in flight at a time (OCPP-J); the rest
// wait here in order.
type outbox struct {
	items []*outMsg
	max   int // backlog bound; 0 = unbounded
}

func (o *outbox) len() int { return len(o.items) }

// push appends m. When the backlog is over its bound, the oldest periodic reading not yet
// sent is thrown away and returned (a long outage must not grow the queue without end).
func (o *outbox) push(m *outMsg) (dropped *outMsg) {
	o.items = append(o.items, m)
	if o.max > 0 && len(o.items) > o.max {
		for i, it := range o.items {
			if it.meter && it.payload == nil {
				o.items = append(o.items[:i], o.items[i+1:]...)
				o.items[len(o.items):cap(o.items)][0] = nil
				return it
			}
		}
	}
	return nil
}

// pushFront puts ms before everything queued, keeping their order.
func (o *outbox) pushFront(ms ...*outMsg) {
	if len(ms) == 0 {
		return
	}
	items := make([]*outMsg, 0, len(ms)+len(o.items))
	items = append(items, ms...)
	o.items = append(items, o.items...)
}

// next removes and returns the first message that may be sent now: any message once the boot
// is accepted, otherwise only pendingOK ones.
func (o *outbox) next(accepted bool) *outMsg {
	for i, m := range o.items {
		if accepted || m.pendingOK {
			copy(o.items[i:], o.items[i+1:])
			o.items[len(o.items)-1] = nil
			o.items = o.items[:len(o.items)-1]
			return m
		}
	}
	return nil
}

// dropVolatile removes every message that does not survive a lost connection and returns them
// so their owners can be told.
func (o *outbox) dropVolatile() []*outMsg {
	var gone []*outMsg
	kept := o.items[:0]
	for _, m := range o.items {
		if m.tx {
			kept = append(kept, m)
		} else {
			gone = append(gone, m)
		}
	}
	for i := len(kept); i < len(o.items); i++ {
		o.items[i] = nil
	}
	o.items = kept
	return gone
}

// has reports whether a message for action is queued.
func (o *outbox) has(action string) bool {
	for _, m := range o.items {
		if m.action == action {
			return true
		}
	}
	return false
}

// freeze builds m's payload once; later calls return the same bytes.
func (m *outMsg) freeze() (json.RawMessage, error) {
	if m.payload != nil {
		return m.payload, nil
	}
	v, err := m.build()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	m.payload = b
	return b, nil
}

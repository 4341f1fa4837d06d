// Package inmem is the event bus of a single node: events go from publishers to the subscribers
// of the same process. It implements domain.EventBus and imports only the domain and the
// standard library. A cluster uses the NATS bus with the same interface instead.
package inmem

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/opencpo/opencpo/internal/domain"
)

// DefaultBuffer is how many events a subscriber may fall behind before it loses some.
const DefaultBuffer = 1024

// Bus fans events out to subscribers.
type Bus struct {
	buffer  int
	mu      sync.RWMutex
	subs    map[*subscription]struct{}
	dropped atomic.Uint64
}

type subscription struct {
	ch chan domain.Event
}

// New returns a bus whose subscribers each buffer up to buffer events (DefaultBuffer if ≤ 0).
func New(buffer int) *Bus {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	return &Bus{buffer: buffer, subs: map[*subscription]struct{}{}}
}

// Publish delivers e to every subscriber that has room for it; the others lose it, so that one
// slow reader (a browser tab on a bad network) never holds up the OCPP path.
func (b *Bus) Publish(_ context.Context, e domain.Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.subs {
		select {
		case s.ch <- e:
		default:
			b.dropped.Add(1)
		}
	}
}

// Subscribe returns the events published from now on, until ctx ends.
func (b *Bus) Subscribe(ctx context.Context) <-chan domain.Event {
	s := &subscription{ch: make(chan domain.Event, b.buffer)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	context.AfterFunc(ctx, func() {
		// Holding the write lock guarantees no Publish is sending on the channel while it closes.
		b.mu.Lock()
		delete(b.subs, s)
		close(s.ch)
		b.mu.Unlock()
	})
	return s.ch
}

// Dropped is how many deliveries were lost to subscribers that did not keep up.
func (b *Bus) Dropped() uint64 { return b.dropped.Load() }

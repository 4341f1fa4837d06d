package inmem

import (
	"context"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

func TestFanOutToEverySubscriber(t *testing.T) {
	b := New(4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, c := b.Subscribe(ctx), b.Subscribe(ctx)
	b.Publish(ctx, domain.Event{Kind: domain.EventConnectorStatus, StationID: "CP-1", Status: "Occupied"})
	for _, ch := range []<-chan domain.Event{a, c} {
		select {
		case e := <-ch:
			if e.StationID != "CP-1" || e.Status != "Occupied" {
				t.Fatalf("got %+v", e)
			}
		case <-time.After(time.Second):
			t.Fatal("subscriber got nothing")
		}
	}
}

func TestSlowSubscriberLosesEventsInsteadOfBlocking(t *testing.T) {
	b := New(2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := b.Subscribe(ctx)
	for i := range 5 {
		b.Publish(ctx, domain.Event{Kind: domain.EventSessionUpdated, SessionID: int64(i)})
	}
	if got := b.Dropped(); got != 3 {
		t.Fatalf("dropped %d, want 3", got)
	}
	if e := <-ch; e.SessionID != 0 {
		t.Fatalf("first event kept should be the oldest, got %d", e.SessionID)
	}
}

func TestSubscriptionEndsWithItsContext(t *testing.T) {
	b := New(2)
	ctx, cancel := context.WithCancel(context.Background())
	ch := b.Subscribe(ctx)
	cancel()
	select {
	case _, open := <-ch:
		if open {
			t.Fatal("got an event after cancel")
		}
	case <-time.After(time.Second):
		t.Fatal("channel not closed after the context ended")
	}
	b.Publish(context.Background(), domain.Event{Kind: domain.EventStationConnected}) // must not panic
}

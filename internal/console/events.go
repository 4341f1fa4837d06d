package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/netlimit"
)

const keepAlive = 25 * time.Second

// EventMessagesNew is the console's own event (not the bus's): a frame of the station whose
// message log the tab shows was recorded.
const EventMessagesNew domain.EventKind = "messages.new"

// streamEvents is the one server-sent-events connection of a console tab: every event of the
// bus as a `data:` line of JSON. The page's script updates the parts of the page it concerns.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Events == nil {
		return domain.Errorf(domain.ErrNotFound, "this server publishes no live events")
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() { // ends with the request, or when the server shuts down
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	events := s.cfg.Events.Subscribe(ctx)
	// The message log page asks for its station's frames too (?messages=<station id>); frames
	// may hold idTokens, so only for the roles that may read the log. Frames are recorded by the
	// node the station is connected to, as the page itself shows.
	var frames <-chan struct{}
	watched := r.URL.Query().Get("messages")
	if watched != "" && s.cfg.Frames != nil && whoOf(ctx).user.Role.CanOperate() {
		frames = s.cfg.Frames.Watch(ctx, watched) // before the answer starts: no frame is missed
	}
	netlimit.Release(r.Context()) // a long stream: not a connection in set-up
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 3000\n: connected\n\n"); err != nil {
		return nil
	}
	_ = rc.Flush()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	// The session may end (sign-out, expiry, account disabled) while the stream is open: check
	// it now and then and close the stream then.
	check := time.NewTicker(time.Minute)
	defer check.Stop()
	cookie, _ := r.Cookie(cookieName)
	for {
		select {
		case e, open := <-events:
			if !open {
				return nil
			}
			data, err := json.Marshal(e)
			if err != nil {
				return nil
			}
			if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
				return nil
			}
		case <-frames:
			data, err := json.Marshal(domain.Event{Kind: EventMessagesNew, StationID: watched, At: s.now().UTC()})
			if err != nil {
				return nil
			}
			if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
				return nil
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
		case <-check.C:
			if cookie == nil {
				return nil
			}
			if !s.sessions.alive(ctx, cookie.Value) {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

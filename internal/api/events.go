package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/netlimit"
)

// eventKeepAlive is how often an idle event stream sends a comment line, so that proxies and
// load balancers do not close it as dead.
const eventKeepAlive = 25 * time.Second

// streamEvents is GET /api/v1/events: the live events of the network as server-sent events
// (text/event-stream), optionally of one station (?stationId=). Each event is one `event:` line
// with its kind and one `data:` line with its JSON.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Events == nil {
		return domain.Errorf(domain.ErrNotFound, "this server publishes no events")
	}
	station := r.URL.Query().Get("stationId")
	ctx, cancel := mergeDone(r.Context(), s.closing)
	defer cancel()
	events := s.cfg.Events.Subscribe(ctx)

	netlimit.Release(r.Context()) // a long stream: not a connection in set-up
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise hold the stream back
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": connected\n\n"); err != nil {
		return nil
	}
	_ = rc.Flush()

	tick := time.NewTicker(eventKeepAlive)
	defer tick.Stop()
	for {
		select {
		case e, open := <-events:
			if !open {
				return nil
			}
			if station != "" && e.StationID != station {
				continue
			}
			data, err := json.Marshal(e)
			if err != nil {
				return nil
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Kind, data); err != nil {
				return nil // the client went away; nothing to render
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

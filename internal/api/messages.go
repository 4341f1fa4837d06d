package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/framelog"
)

// FrameLog is the per-station log of recent OCPP frames (package framelog).
type FrameLog interface {
	Messages(stationID string, q framelog.Query) []framelog.Message
}

type messageJSON struct {
	At          time.Time       `json:"at"`
	Direction   string          `json:"direction"` // in: station → central system; out: the other way
	MessageType string          `json:"messageType,omitempty"`
	UniqueID    string          `json:"uniqueId,omitempty"`
	Action      string          `json:"action,omitempty"`
	ErrorCode   string          `json:"errorCode,omitempty"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	Frame       string          `json:"frame"`
	Truncated   bool            `json:"truncated"`
	Size        int             `json:"size"`
}

const defaultMessageLimit = 50

// listMessages shows a station's recent frames, newest first. The frames may hold idTokens, so
// the route needs the operator role (see requiredRole).
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) error {
	qs := r.URL.Query()
	q := framelog.Query{Action: qs.Get("action"), Text: qs.Get("q"), Direction: qs.Get("direction"), Limit: defaultMessageLimit}
	if l := qs.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return domain.Errorf(domain.ErrInvalid, "limit must be a whole number from 1 to 500")
		}
		q.Limit = n
	}
	if q.Direction != "" && q.Direction != "in" && q.Direction != "out" {
		return domain.Errorf(domain.ErrInvalid, "direction must be in or out")
	}
	id := r.PathValue("id")
	if _, err := s.store.Station(r.Context(), id); err != nil {
		return err
	}
	if s.cfg.Frames == nil {
		return domain.Errorf(domain.ErrNotFound, "the message log is turned off on this server (serve --message-log-mib 0)")
	}
	out := listResponse[messageJSON]{Items: []messageJSON{}}
	for _, m := range s.cfg.Frames.Messages(id, q) {
		dir := "in"
		if m.Sent {
			dir = "out"
		}
		out.Items = append(out.Items, messageJSON{At: m.At.UTC(), Direction: dir, MessageType: m.MessageType,
			UniqueID: m.UniqueID, Action: m.Action, ErrorCode: m.ErrorCode, Payload: m.Payload,
			Frame: string(m.Raw), Truncated: m.Truncated, Size: m.Size})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

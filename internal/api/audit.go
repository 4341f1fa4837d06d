package api

import (
	"encoding/json"
	"net/http"
	"time"
)

type auditJSON struct {
	At        time.Time       `json:"at"`
	Actor     string          `json:"actor"`
	StationID string          `json:"stationId"`
	Action    string          `json:"action"`
	Request   json.RawMessage `json:"request"`
	Response  json.RawMessage `json:"response,omitempty"`
	Error     json.RawMessage `json:"error,omitempty"`
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.Audit(r.Context(), r.URL.Query().Get("stationId"), page)
	if err != nil {
		return err
	}
	out := listResponse[auditJSON]{Items: make([]auditJSON, 0, len(items)), NextCursor: next}
	for _, e := range items {
		req := rawOrNull(e.Request)
		if req == nil {
			req = json.RawMessage("{}")
		}
		out.Items = append(out.Items, auditJSON{At: e.At.UTC(), Actor: e.Actor, StationID: e.StationID, Action: e.Action,
			Request: req, Response: rawOrNull(e.Response), Error: rawOrNull(e.Error)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

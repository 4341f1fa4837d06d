package console

import (
	"net/http"
	"strings"

	"github.com/opencpo/opencpo/internal/framelog"
)

type messagesData struct {
	StationID               string
	Action, Text, Direction string
	Off                     bool
	Items                   []messageRow
	Limit                   int
}

type messageRow struct {
	framelog.Message
	Frame string
}

const messageLimit = 200

// stationMessages shows a station's recent OCPP frames, newest first, searchable by action,
// text and direction. Frames may hold idTokens, so the route needs the operator role.
func (s *Server) stationMessages(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.store.Station(r.Context(), id); err != nil {
		return err
	}
	v := r.URL.Query()
	d := messagesData{StationID: id, Action: strings.TrimSpace(v.Get("action")), Text: v.Get("q"), Direction: v.Get("direction"), Limit: messageLimit}
	if d.Direction != "in" && d.Direction != "out" {
		d.Direction = ""
	}
	if s.cfg.Frames == nil {
		d.Off = true
	} else {
		for _, m := range s.cfg.Frames.Messages(id, framelog.Query{Action: d.Action, Text: d.Text, Direction: d.Direction, Limit: messageLimit}) {
			d.Items = append(d.Items, messageRow{Message: m, Frame: string(m.Raw)})
		}
	}
	return s.render(w, r, http.StatusOK, "messages", "Messages of "+id, "stations", d)
}

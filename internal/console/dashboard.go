package console

import (
	"context"
	"net/http"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// maxListed bounds how many records a page reads to compute its figures and lists.
const maxListed = 20_000

// allStations reads every station (with EVSEs), up to maxListed.
func (s *Server) allStations(ctx context.Context) ([]domain.Station, error) {
	var out []domain.Station
	cursor := ""
	for len(out) < maxListed {
		items, next, err := s.store.Stations(ctx, domain.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

// stationState is the one-word state of a station that lists and filters use.
func stationState(st domain.Station) string {
	switch {
	case st.RegistrationStatus == domain.RegistrationPending:
		return "pending"
	case st.RegistrationStatus == domain.RegistrationRejected:
		return "rejected"
	case !st.Connected:
		return "offline"
	case hasConnector(st, domain.ConnectorFaulted):
		return "faulted"
	case hasConnector(st, domain.ConnectorUnavailable):
		return "unavailable"
	}
	return "online"
}

func hasConnector(st domain.Station, status domain.ConnectorStatus) bool {
	for _, e := range st.EVSEs {
		for _, c := range e.Connectors {
			if c.Status == status {
				return true
			}
		}
	}
	return false
}

type attention struct {
	StationID string
	SessionID int64
	Reason    string
}

type dashboardData struct {
	Total, Online, Offline, Faulted, Unavailable, Pending int
	Active                                                int
	SessionsToday                                         int
	EnergyTodayWh                                         float64
	Attention                                             []attention
	AttentionMore                                         int
}

const maxAttention = 50

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	stations, err := s.allStations(ctx)
	if err != nil {
		return err
	}
	var d dashboardData
	add := func(a attention) {
		if len(d.Attention) < maxAttention {
			d.Attention = append(d.Attention, a)
		} else {
			d.AttentionMore++
		}
	}
	for _, st := range stations {
		d.Total++
		if st.Connected {
			d.Online++
		} else {
			d.Offline++
		}
		if hasConnector(st, domain.ConnectorFaulted) {
			d.Faulted++
		}
		if hasConnector(st, domain.ConnectorUnavailable) {
			d.Unavailable++
		}
		switch {
		case st.RegistrationStatus == domain.RegistrationPending:
			d.Pending++
			add(attention{StationID: st.ID, Reason: "waiting for approval"})
		case st.RegistrationStatus == domain.RegistrationRejected:
		case !st.Connected:
			add(attention{StationID: st.ID, Reason: "offline since " + funcs["time"].(func(time.Time) string)(st.LastSeenAt)})
		case hasConnector(st, domain.ConnectorFaulted):
			add(attention{StationID: st.ID, Reason: "a connector is faulted"})
		}
	}
	// Sessions come newest first: read back a week, for today's figures and flagged sessions.
	today := s.now().UTC().Truncate(24 * time.Hour)
	weekAgo := today.Add(-7 * 24 * time.Hour)
	cursor := ""
	for read := 0; read < maxListed; {
		items, next, err := s.store.Sessions(ctx, domain.SessionFilter{}, domain.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, se := range items {
			if !se.StartedAt.Before(today) {
				d.SessionsToday++
				d.EnergyTodayWh += se.EnergyWh
			}
			if se.Flag != "" && !se.StartedAt.Before(weekAgo) {
				add(attention{StationID: se.StationID, SessionID: se.ID, Reason: "session flagged for review: " + se.Flag})
			}
		}
		read += len(items)
		if next == "" || allOlder(items, weekAgo) {
			break
		}
		cursor = next
	}
	act, err := s.countSessions(ctx, domain.SessionFilter{Status: domain.SessionActive})
	if err != nil {
		return err
	}
	d.Active = act
	return s.render(w, r, http.StatusOK, "dashboard", "Dashboard", "dashboard", d)
}

func allOlder(items []domain.Session, cutoff time.Time) bool {
	for _, se := range items {
		if !se.StartedAt.Before(cutoff) {
			return false
		}
	}
	return true
}

func (s *Server) countSessions(ctx context.Context, f domain.SessionFilter) (int, error) {
	n, cursor := 0, ""
	for n < maxListed {
		items, next, err := s.store.Sessions(ctx, f, domain.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			return 0, err
		}
		n += len(items)
		if next == "" {
			break
		}
		cursor = next
	}
	return n, nil
}

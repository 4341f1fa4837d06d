package api

import (
	"context"
	"net/http"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// Station groups: stations that share one local authorization list, made of the tokens whose
// groupId is one of the group's token groups (or every token with allTokens).

type stationGroupJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	TokenGroups []string  `json:"tokenGroups"`
	AllTokens   bool      `json:"allTokens"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	// StationIDs are the group's stations; only on a single group.
	StationIDs *[]string `json:"stationIds,omitempty"`
}

func stationGroupView(g domain.StationGroup) stationGroupJSON {
	tgs := g.TokenGroups
	if tgs == nil {
		tgs = []string{}
	}
	return stationGroupJSON{ID: g.ID, Name: g.Name, TokenGroups: tgs, AllTokens: g.AllTokens,
		CreatedAt: g.CreatedAt.UTC(), UpdatedAt: g.UpdatedAt.UTC()}
}

type putStationGroupRequest struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	TokenGroups []string `json:"tokenGroups"`
	AllTokens   bool     `json:"allTokens"`
}

func (s *Server) putStationGroup(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var req putStationGroupRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.ID != "" && req.ID != id {
		return domain.Errorf(domain.ErrInvalid, "id: %q in the body differs from %q in the path", req.ID, id)
	}
	now := s.now().UTC()
	g := domain.StationGroup{ID: id, Name: req.Name, TokenGroups: req.TokenGroups, AllTokens: req.AllTokens,
		CreatedAt: now, UpdatedAt: now}
	if err := g.Validate(); err != nil {
		return err
	}
	created, err := s.store.PutStationGroup(r.Context(), g)
	if err != nil {
		return err
	}
	req.ID = id
	s.auditChange(r.Context(), "", "PutStationGroup", req)
	v, err := s.stationGroupWithMembers(r.Context(), id)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, v)
	return nil
}

func (s *Server) stationGroupWithMembers(ctx context.Context, id string) (stationGroupJSON, error) {
	g, err := s.store.StationGroup(ctx, id)
	if err != nil {
		return stationGroupJSON{}, err
	}
	ids, err := s.store.StationGroupMembers(ctx, id)
	if err != nil {
		return stationGroupJSON{}, err
	}
	v := stationGroupView(g)
	v.StationIDs = &ids
	return v, nil
}

func (s *Server) getStationGroup(w http.ResponseWriter, r *http.Request) error {
	v, err := s.stationGroupWithMembers(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) listStationGroups(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.StationGroups(r.Context(), page)
	if err != nil {
		return err
	}
	out := listResponse[stationGroupJSON]{Items: make([]stationGroupJSON, 0, len(items)), NextCursor: next}
	for _, g := range items {
		out.Items = append(out.Items, stationGroupView(g))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteStationGroup(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.store.DeleteStationGroup(r.Context(), id); err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "DeleteStationGroup", map[string]string{"id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// addStationGroups fills in the groupId of station views (one store read for all of them).
func (s *Server) addStationGroups(ctx context.Context, views []stationJSON) error {
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.ID
	}
	groups, err := s.store.StationGroupsOf(ctx, ids)
	if err != nil {
		return err
	}
	for i := range views {
		if g, ok := groups[views[i].ID]; ok {
			views[i].GroupID = &g
		}
	}
	return nil
}

package csms

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strconv"

	"github.com/opencpo/opencpo/internal/commands"
	"github.com/opencpo/opencpo/internal/domain"
)

// maxDifferential is the largest number of changes sent as a Differential update; a bigger
// change sends the whole list (Full), which costs the station one rewrite instead of many edits.
const maxDifferential = 50

// SyncLocalList brings a station's local authorization list in step with the token store. It
// asks the station for its list version first: when that is the version we last sent and the
// change is small, only the change goes (Differential, removals without idTagInfo), otherwise
// the whole list (Full). The version sent is one above both the station's and ours, and is
// recorded with the list once the station accepts it. full forces a Full update.
func (s *Service) SyncLocalList(ctx context.Context, actor, stationID string, full bool) (domain.LocalListSync, error) {
	st, err := s.store.Station(ctx, stationID)
	if err != nil {
		return domain.LocalListSync{}, err
	}
	admits, err := s.localListFilter(ctx, stationID)
	if err != nil {
		return domain.LocalListSync{}, err
	}
	desired, err := s.localListEntries(ctx, admits)
	if err != nil {
		return domain.LocalListSync{}, err
	}
	prev, err := s.store.LocalList(ctx, stationID)
	known := err == nil
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return domain.LocalListSync{}, err
	}
	res, err := s.Call(ctx, actor, stationID, "GetLocalListVersion", json.RawMessage(`{}`))
	if err != nil {
		return domain.LocalListSync{}, err
	}
	var ver struct {
		ListVersion   *int `json:"listVersion"`
		VersionNumber *int `json:"versionNumber"`
	}
	_ = json.Unmarshal(res, &ver) // the schema check in Call proved the shape
	stationVersion := 0
	switch {
	case ver.ListVersion != nil:
		stationVersion = *ver.ListVersion
	case ver.VersionNumber != nil:
		stationVersion = *ver.VersionNumber
	}
	out := domain.LocalListSync{StationID: stationID, StationVersion: stationVersion, Version: prev.Version}
	if stationVersion < 0 { // OCPP 1.6: -1 means the station has no local list
		return out, domain.Errorf(domain.ErrConflict, "station %s does not support a local authorization list", stationID)
	}
	changes := diffLocalList(prev.Entries, desired)
	inStep := known && prev.Version > 0 && stationVersion == prev.Version
	if inStep && len(changes) == 0 && !full {
		out.Status = "UpToDate"
		return out, nil
	}
	update := commands.LocalListInput{UpdateType: "Full", Version: max(prev.Version, stationVersion) + 1, Entries: desired}
	if inStep && !full && len(changes) <= maxDifferential {
		update.UpdateType, update.Entries = "Differential", changes
	}
	perMessage := s.localListPerMessage(ctx, stationID, st.OCPPVersion)
	status, last, err := s.sendLocalListChunked(ctx, actor, stationID, st.OCPPVersion, update, perMessage)
	if err == nil && status == "VersionMismatch" && update.UpdateType == "Differential" {
		// The station's list moved under us: start again from a whole list.
		update.UpdateType, update.Entries = "Full", desired
		status, last, err = s.sendLocalListChunked(ctx, actor, stationID, st.OCPPVersion, update, perMessage)
	}
	if err != nil {
		return out, err
	}
	out.UpdateType, out.Changes, out.Status = update.UpdateType, len(update.Entries), status
	if status != "Accepted" {
		// Nothing is recorded: a list left half-sent has a version we did not record, so the
		// next sync sends it whole.
		return out, nil
	}
	if err := s.store.SaveLocalList(ctx, domain.LocalList{StationID: stationID, Version: last,
		UpdateType: update.UpdateType, Entries: desired, SentAt: s.now().UTC()}); err != nil {
		return out, err
	}
	out.Version = last
	return out, nil
}

// localListPerMessage is how many entries the station takes in one SendLocalList, from its
// reported configuration (1.6 SendLocalListMaxLength, 2.0.1 LocalAuthListCtrlr.ItemsPerMessage);
// 0 when it did not say.
func (s *Service) localListPerMessage(ctx context.Context, stationID, version string) int {
	key := "SendLocalListMaxLength"
	if version == domain.OCPP201 {
		key = "LocalAuthListCtrlr/ItemsPerMessage"
	}
	items, err := s.store.StationConfig(ctx, stationID)
	if err != nil {
		return 0
	}
	for _, it := range items {
		if it.Key == key {
			if n, err := strconv.Atoi(it.Value); err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}

// sendLocalListChunked sends an update in messages of at most perMessage entries (0: one
// message): the first as given, the rest as Differential updates with the following versions
// (the way OCPP lets a CSMS install a list longer than one message). It stops at the first
// answer other than Accepted and returns that answer and the version of the last message sent.
func (s *Service) sendLocalListChunked(ctx context.Context, actor, stationID, version string, update commands.LocalListInput, perMessage int) (string, int, error) {
	entries := update.Entries
	if perMessage <= 0 || len(entries) <= perMessage {
		status, err := s.sendLocalList(ctx, actor, stationID, version, update)
		return status, update.Version, err
	}
	msg := update
	for start := 0; start < len(entries); start += perMessage {
		msg.Entries = entries[start:min(start+perMessage, len(entries))]
		status, err := s.sendLocalList(ctx, actor, stationID, version, msg)
		if err != nil || status != "Accepted" {
			return status, msg.Version, err
		}
		msg.UpdateType, msg.Version = "Differential", msg.Version+1
	}
	return "Accepted", msg.Version - 1, nil
}

func (s *Service) sendLocalList(ctx context.Context, actor, stationID, version string, update commands.LocalListInput) (string, error) {
	var payload any
	switch version {
	case domain.OCPP16:
		payload = commands.LocalList16(update)
	case domain.OCPP201:
		payload = commands.LocalList201(update)
	default:
		return "", domain.Errorf(domain.ErrOffline, "station %s has never connected", stationID)
	}
	res, err := s.Call(ctx, actor, stationID, "SendLocalList", mustJSON(payload))
	if err != nil {
		return "", err
	}
	var ans struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(res, &ans)
	return ans.Status, nil
}

// localListFilter tells which tokens belong in a station's list: those its station group admits
// by their groupId, or every token for a station in no group.
func (s *Service) localListFilter(ctx context.Context, stationID string) (func(domain.Token) bool, error) {
	groups, err := s.store.StationGroupsOf(ctx, []string{stationID})
	if err != nil {
		return nil, err
	}
	groupID, ok := groups[stationID]
	if !ok {
		return func(domain.Token) bool { return true }, nil
	}
	g, err := s.store.StationGroup(ctx, groupID)
	if err != nil {
		return nil, err
	}
	return func(t domain.Token) bool { return g.Admits(t.GroupID) }, nil
}

// localListEntries is the list a station should hold: the tokens admits lets in, with the
// status they authorize with now, ordered by uid.
func (s *Service) localListEntries(ctx context.Context, admits func(domain.Token) bool) ([]domain.LocalListEntry, error) {
	now := s.now()
	var out []domain.LocalListEntry
	page := domain.Page{Limit: 500}
	for {
		toks, next, err := s.store.Tokens(ctx, page)
		if err != nil {
			return nil, err
		}
		for _, t := range toks {
			if !admits(t) {
				continue
			}
			out = append(out, domain.LocalListEntry{IDToken: t.UID, Type: t.Type, Status: string(t.StatusAt(now)),
				ExpiresAt: t.ExpiresAt.UTC(), GroupID: t.GroupID})
		}
		if next == "" {
			return out, nil
		}
		page.Cursor = next
	}
}

// diffLocalList is the differential update from sent to desired: changed or new entries as
// they are now, removed ones without a status.
func diffLocalList(sent, desired []domain.LocalListEntry) []domain.LocalListEntry {
	old := make(map[string]domain.LocalListEntry, len(sent))
	for _, e := range sent {
		old[e.IDToken] = e
	}
	var out []domain.LocalListEntry
	for _, e := range desired {
		o, ok := old[e.IDToken]
		delete(old, e.IDToken)
		if !ok || o.Status != e.Status || o.Type != e.Type || o.GroupID != e.GroupID || !o.ExpiresAt.Equal(e.ExpiresAt) {
			out = append(out, e)
		}
	}
	removed := make([]string, 0, len(old))
	for uid := range old {
		removed = append(removed, uid)
	}
	sort.Strings(removed)
	for _, uid := range removed {
		out = append(out, domain.LocalListEntry{IDToken: uid, Type: old[uid].Type})
	}
	return out
}

package sim

import (
	"context"
	"maps"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// maxLocalList is how many tokens a simulated station's local list holds (1.6
// LocalAuthListMaxLength / 2.0.1 LocalAuthListCtrlr.Entries); a bigger list is refused (Failed).
const maxLocalList = 10000

// localList is the station's local authorization list, as non-volatile as a real one: it
// survives reboots and reconnections. Version 0 means no list was ever installed.
type localList struct {
	version int
	status  map[string]string // idToken → authorization status
}

// update applies a SendLocalList: Full replaces the list; Differential adds or changes entries
// that carry their info and removes those that do not, and needs a version above the current
// one (1.6 §6.44, 2.0.1 D01.FR.19). It returns the SendLocalList status.
func (l *localList) update(full bool, version int, entries map[string]string, removals []string) string {
	if version < 1 {
		return "Failed"
	}
	if !full && version <= l.version {
		return "VersionMismatch"
	}
	next := map[string]string{}
	if !full {
		maps.Copy(next, l.status)
	}
	maps.Copy(next, entries)
	for _, uid := range removals {
		delete(next, uid)
	}
	if len(next) > maxLocalList {
		return "Failed"
	}
	l.version, l.status = version, next
	return "Accepted"
}

// LocalList returns the version and entries (token → status) of the station's local list.
func (s *Station) LocalList(ctx context.Context) (int, map[string]string, error) {
	var (
		version int
		entries map[string]string
	)
	err := s.do(ctx, func() {
		version, entries = s.local.version, maps.Clone(s.local.status)
	})
	return version, entries, err
}

func sendLocalList16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.SendLocalListRequest)
	entries, removals := map[string]string{}, []string(nil)
	for _, e := range r.LocalAuthorizationList {
		if e.IdTagInfo == nil {
			removals = append(removals, e.IdTag)
		} else {
			entries[e.IdTag] = string(e.IdTagInfo.Status)
		}
	}
	status := s.local.update(r.UpdateType == v16.SendLocalListRequestUpdateTypeFull, r.ListVersion, entries, removals)
	return v16.SendLocalListResponse{Status: v16.SendLocalListResponseStatus(status)}, nil, nil
}

func getLocalListVersion16(s *Station, _ any) (any, func(), *ocpp.CallError) {
	return v16.GetLocalListVersionResponse{ListVersion: s.local.version}, nil, nil
}

func sendLocalList201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.SendLocalListRequest)
	entries, removals := map[string]string{}, []string(nil)
	for _, e := range r.LocalAuthorizationList {
		if e.IdTokenInfo == nil {
			removals = append(removals, e.IdToken.IdToken)
		} else {
			entries[e.IdToken.IdToken] = string(e.IdTokenInfo.Status)
		}
	}
	status := s.local.update(r.UpdateType == v201.UpdateEnumTypeFull, r.VersionNumber, entries, removals)
	return v201.SendLocalListResponse{Status: v201.SendLocalListStatusEnumType(status)}, nil, nil
}

func getLocalListVersion201(s *Station, _ any) (any, func(), *ocpp.CallError) {
	return v201.GetLocalListVersionResponse{VersionNumber: s.local.version}, nil, nil
}

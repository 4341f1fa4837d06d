package domain

import (
	"context"
	"time"
)

// StationGroup is a set of stations that share one local authorization list: the tokens whose
// group is one of TokenGroups, or every token when AllTokens is set. A station belongs to at most
// one station group; a station without one holds every token.
type StationGroup struct {
	ID          string
	Name        string
	TokenGroups []string // token groupIds allowed in the group's lists, sorted, no duplicates
	AllTokens   bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Admits reports whether a token of the given group belongs in the group's local list.
func (g StationGroup) Admits(tokenGroup string) bool {
	if g.AllTokens {
		return true
	}
	for _, tg := range g.TokenGroups {
		if tg == tokenGroup {
			return true
		}
	}
	return false
}

// Validate checks a station group before it is stored.
func (g StationGroup) Validate() error {
	if !validID(g.ID) {
		return Errorf(ErrInvalid, "the station group id must be 1 to 48 characters of A-Z, a-z, 0-9, '.', '_', '-'")
	}
	if len(g.Name) > 255 {
		return Errorf(ErrInvalid, "name is longer than 255 characters")
	}
	if len(g.TokenGroups) > 1000 {
		return Errorf(ErrInvalid, "tokenGroups has more than 1000 entries")
	}
	for _, tg := range g.TokenGroups {
		// Token group ids are OCPP IdToken values: at most 36 characters.
		if tg == "" || len(tg) > 36 {
			return Errorf(ErrInvalid, "token group %q must be 1 to 36 characters", tg)
		}
	}
	return nil
}

// StationGroupStore keeps station groups and which station belongs to which.
type StationGroupStore interface {
	// PutStationGroup creates or replaces a group; created tells which. CreatedAt is kept on
	// replace.
	PutStationGroup(ctx context.Context, g StationGroup) (created bool, err error)
	// StationGroup returns one group; ErrNotFound if absent.
	StationGroup(ctx context.Context, id string) (StationGroup, error)
	// StationGroups lists a page of groups ordered by id.
	StationGroups(ctx context.Context, p Page) ([]StationGroup, string, error)
	// DeleteStationGroup removes a group; ErrConflict while stations belong to it, ErrNotFound
	// if absent.
	DeleteStationGroup(ctx context.Context, id string) error
	// SetStationGroup puts a station in a group, or takes it out ("" group); ErrNotFound for an
	// unknown station, ErrInvalid for an unknown group.
	SetStationGroup(ctx context.Context, stationID, groupID string) error
	// StationGroupsOf returns the group of each given station that has one.
	StationGroupsOf(ctx context.Context, stationIDs []string) (map[string]string, error)
	// StationGroupMembers lists the station ids of a group, ordered; ErrNotFound if absent.
	StationGroupMembers(ctx context.Context, groupID string) ([]string, error)
}

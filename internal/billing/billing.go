// Package billing puts prices on sessions: it chooses the tariff that applies when a session
// starts and pins a copy of it on the session, prices a session (live while active, final once
// completed) from its meter samples with package pricing, and writes each completed session's
// immutable CDR. It also words a tariff for drivers ("price before start").
//
// It imports the domain (stores, sessions) and package pricing; it does no OCPP and no HTTP.
package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/pricing"
)

// IdlePowerW is the power (W) at or below which a connected EV counts as not charging (parking)
// in a period where the energy register did not move.
const IdlePowerW = 50

// Biller prices sessions against the store.
type Biller struct {
	store domain.Store
	now   func() time.Time
	log   *slog.Logger
}

// New returns a Biller. now and log may be nil (time.Now, discard).
func New(store domain.Store, now func() time.Time, log *slog.Logger) *Biller {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Biller{store: store, now: now, log: log}
}

// Choice is the tariff that applies to a session at one EVSE, for one token, at one time.
type Choice struct {
	TariffID string // "" when no tariff applies
	Tariff   pricing.Tariff
	Body     []byte
	TimeZone string
	Location *time.Location
	// Source says where the choice came from: "evse", "station", "all" (assignments, with
	// "+group" when group-specific) or "station-tariff" (the station's tariffId).
	Source string
}

// candidate is one assignment (or the station's tariffId) that may apply.
type candidate struct {
	tariffID string
	rank     int // higher wins
	id       int64
	source   string
}

// Choose picks the tariff for a session starting at `at` on the station's EVSE for idToken:
// an EVSE assignment before a station assignment (or the station's tariffId) before an
// all-stations assignment; within each, one for the token's group before a generic one; among
// equals the newest assignment. Assignments outside their validity and tariffs outside their
// start_date_time / end_date_time are passed over.
func (b *Biller) Choose(ctx context.Context, stationID string, evseID int, idToken string, at time.Time) (Choice, error) {
	group := ""
	if idToken != "" {
		tok, err := b.store.Token(ctx, idToken)
		switch {
		case err == nil:
			group = tok.GroupID
		case !errors.Is(err, domain.ErrNotFound):
			return Choice{}, err
		}
	}
	sp, err := b.store.StationPricing(ctx, stationID)
	if err != nil {
		return Choice{}, err
	}
	loc, err := LoadZone(sp.TimeZone)
	if err != nil {
		// Stored zones were checked when set; one the runtime lost (tzdata) prices in UTC.
		b.log.WarnContext(ctx, "billing: station time zone unknown, using UTC", "station", stationID, "zone", sp.TimeZone)
		loc = time.UTC
	}
	var cands []candidate
	if sp.TariffID != "" {
		cands = append(cands, candidate{tariffID: sp.TariffID, rank: 30, source: "station-tariff"})
	}
	page := domain.Page{Limit: 500}
	for {
		items, next, err := b.store.TariffAssignments(ctx, stationID, page)
		if err != nil {
			return Choice{}, err
		}
		for _, a := range items {
			if !a.ValidAt(at) || (a.GroupID != "" && a.GroupID != group) {
				continue
			}
			if a.StationID != "" && a.StationID != stationID || a.EVSEID != 0 && a.EVSEID != evseID {
				continue
			}
			c := candidate{tariffID: a.TariffID, id: a.ID}
			switch {
			case a.EVSEID != 0:
				c.rank, c.source = 50, "evse"
			case a.StationID != "":
				c.rank, c.source = 31, "station"
			default:
				c.rank, c.source = 10, "all"
			}
			if a.GroupID != "" {
				c.rank += 5
				c.source += "+group"
			}
			cands = append(cands, c)
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	slices.SortStableFunc(cands, func(x, y candidate) int {
		if x.rank != y.rank {
			return y.rank - x.rank
		}
		switch {
		case x.id > y.id:
			return -1
		case x.id < y.id:
			return 1
		}
		return 0
	})
	for _, c := range cands {
		stored, err := b.store.Tariff(ctx, c.tariffID)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return Choice{}, err
		}
		t, err := DecodeTariff(stored.Body)
		if err != nil {
			b.log.ErrorContext(ctx, "billing: stored tariff does not decode", "tariff", c.tariffID, "err", err)
			continue
		}
		if !t.ActiveAt(at) {
			continue
		}
		return Choice{TariffID: c.tariffID, Tariff: t, Body: stored.Body, TimeZone: sp.TimeZone, Location: loc, Source: c.source}, nil
	}
	return Choice{TimeZone: sp.TimeZone, Location: loc}, nil
}

// LoadZone loads an IANA time zone; "" is UTC.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, domain.Errorf(domain.ErrInvalid, "timeZone %q is not an IANA time zone", name)
	}
	return loc, nil
}

// DecodeTariff reads and checks a tariff body (an OCPI Tariff object).
func DecodeTariff(body []byte) (pricing.Tariff, error) {
	var t pricing.Tariff
	if err := json.Unmarshal(body, &t); err != nil {
		return t, domain.Errorf(domain.ErrInvalid, "invalid tariff: %v", err)
	}
	return t, t.Validate()
}

// Pin chooses the tariff for a session as of its start and pins it, unless one is pinned
// already; it returns the pinned tariff.
func (b *Biller) Pin(ctx context.Context, sess domain.Session) (domain.SessionTariff, error) {
	c, err := b.Choose(ctx, sess.StationID, sess.EVSEID, sess.IDToken, sess.StartedAt)
	if err != nil {
		return domain.SessionTariff{}, err
	}
	return b.PinChoice(ctx, sess, c)
}

// PinChoice pins c (Choose's answer for the session's start) unless the session has a pinned
// tariff already, and returns the pinned one.
func (b *Biller) PinChoice(ctx context.Context, sess domain.Session, c Choice) (domain.SessionTariff, error) {
	return b.store.PinSessionTariff(ctx, domain.SessionTariff{SessionID: sess.ID, TariffID: c.TariffID, Body: c.Body,
		TimeZone: c.TimeZone, PinnedAt: b.now().UTC()})
}

// Priced is a session's pinned tariff and its cost so far.
type Priced struct {
	TariffID string
	Tariff   pricing.Tariff
	TimeZone string
	Cost     pricing.Cost
}

// Price prices a session with its pinned tariff (pinning one first for a session that has none,
// e.g. when the server stopped between the start and the pin). It returns nil when no tariff
// applies. An active session is priced up to its latest meter reading, a completed one up to
// its stop.
func (b *Biller) Price(ctx context.Context, sess domain.Session) (*Priced, error) {
	st, err := b.store.SessionTariff(ctx, sess.ID)
	if errors.Is(err, domain.ErrNotFound) {
		st, err = b.Pin(ctx, sess)
	}
	if err != nil {
		return nil, err
	}
	if st.TariffID == "" {
		return nil, nil
	}
	t, err := DecodeTariff(st.Body)
	if err != nil {
		return nil, fmt.Errorf("billing: pinned tariff of session %d: %w", sess.ID, err)
	}
	loc, err := LoadZone(st.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	samples, err := b.samples(ctx, sess.ID)
	if err != nil {
		return nil, err
	}
	states, err := b.store.ChargingStates(ctx, sess.ID)
	if err != nil {
		return nil, err
	}
	tl := Timeline(sess, samples).WithStates(states)
	tl.Location = loc
	cost, err := pricing.Price(t, tl)
	if err != nil {
		return nil, fmt.Errorf("billing: price session %d: %w", sess.ID, err)
	}
	return &Priced{TariffID: st.TariffID, Tariff: t, TimeZone: st.TimeZone, Cost: cost}, nil
}

func (b *Biller) samples(ctx context.Context, sessionID int64) ([]domain.MeterSample, error) {
	var out []domain.MeterSample
	page := domain.Page{Limit: 500}
	for {
		items, next, err := b.store.MeterSamples(ctx, sessionID, page)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		page.Cursor = next
	}
}

// Timeline is the session's pricing timeline: from its start to its stop (active: to its latest
// reading), cut at every sample. Charging vs parking is decided from energy and power here;
// WithStates then overrides it wherever the EVSE reported its charging state. The transaction's start and stop register readings are added
// as samples, as OCPP 1.6 sends them outside meter values.
func Timeline(sess domain.Session, samples []domain.MeterSample) pricing.Timeline {
	start := sess.StartedAt
	end := sess.StoppedAt
	all := slices.Clone(samples)
	if sess.MeterStartWh != nil && !sess.MeterStartAt.IsZero() {
		all = append([]domain.MeterSample{{At: sess.MeterStartAt, Measurand: pricing.MeasurandEnergy, Unit: "Wh",
			Value: *sess.MeterStartWh}}, all...)
	}
	if sess.Status == domain.SessionCompleted {
		if sess.MeterStopWh != nil {
			all = append(all, domain.MeterSample{At: end, Measurand: pricing.MeasurandEnergy, Unit: "Wh", Value: *sess.MeterStopWh})
		}
	} else {
		end = start
		if sess.MeterLastAt.After(end) {
			end = sess.MeterLastAt
		}
		for _, s := range samples {
			if s.At.After(end) {
				end = s.At
			}
		}
	}
	if end.Before(start) {
		end = start
	}
	return pricing.FromSamples(start, end, all, IdlePowerW)
}

package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/opencpo/opencpo/internal/billing"
	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/pricing"
)

// putTariff stores an OCPI 2.2.1 Tariff object under the path's id: 201 new, 200 replaced.
func (s *Server) putTariff(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := pricing.CheckTariffID(id); err != nil {
		return err
	}
	var t pricing.Tariff
	if err := decodeBody(w, r, &t); err != nil {
		return err
	}
	rec, err := pricing.Record(id, t, s.now())
	if err != nil {
		return err
	}
	created, err := s.store.PutTariff(r.Context(), rec)
	if err != nil {
		return err
	}
	body := rec.Body
	s.auditChange(r.Context(), "", "PutTariff", json.RawMessage(body))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeRawJSON(w, status, body)
	return nil
}

func writeRawJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(bytes.TrimSpace(body), '\n'))
}

func (s *Server) getTariff(w http.ResponseWriter, r *http.Request) error {
	t, err := s.store.Tariff(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeRawJSON(w, http.StatusOK, t.Body)
	return nil
}

func (s *Server) listTariffs(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.Tariffs(r.Context(), page)
	if err != nil {
		return err
	}
	out := listResponse[json.RawMessage]{Items: make([]json.RawMessage, 0, len(items)), NextCursor: next}
	for _, t := range items {
		out.Items = append(out.Items, t.Body)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteTariff(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.store.DeleteTariff(r.Context(), id); err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "DeleteTariff", map[string]string{"id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type assignmentJSON struct {
	ID        string     `json:"id"`
	TariffID  string     `json:"tariffId"`
	StationID string     `json:"stationId,omitempty"`
	EVSEID    int        `json:"evseId,omitempty"`
	GroupID   string     `json:"groupId,omitempty"`
	ValidFrom *time.Time `json:"validFrom"`
	ValidTo   *time.Time `json:"validTo"`
	Scope     string     `json:"scope"` // all, station, evse
	CreatedAt time.Time  `json:"createdAt"`
}

func assignmentView(a domain.TariffAssignment) assignmentJSON {
	v := assignmentJSON{ID: strconv.FormatInt(a.ID, 10), TariffID: a.TariffID, StationID: a.StationID, EVSEID: a.EVSEID,
		GroupID: a.GroupID, ValidFrom: optTime(a.ValidFrom), ValidTo: optTime(a.ValidTo), Scope: "all", CreatedAt: a.CreatedAt.UTC()}
	switch {
	case a.EVSEID > 0:
		v.Scope = "evse"
	case a.StationID != "":
		v.Scope = "station"
	}
	return v
}

type createAssignmentRequest struct {
	TariffID  string     `json:"tariffId"`
	StationID string     `json:"stationId"`
	EVSEID    int        `json:"evseId"`
	GroupID   string     `json:"groupId"`
	ValidFrom *time.Time `json:"validFrom"`
	ValidTo   *time.Time `json:"validTo"`
}

// createAssignment applies a tariff to all stations, a station or an EVSE, optionally for one
// token group and a validity period.
func (s *Server) createAssignment(w http.ResponseWriter, r *http.Request) error {
	var req createAssignmentRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.GroupID != "" && !tokenUIDPattern.MatchString(req.GroupID) {
		return domain.Errorf(domain.ErrInvalid, "groupId must be 1 to 36 printable characters without spaces")
	}
	a := domain.TariffAssignment{TariffID: req.TariffID, StationID: req.StationID, EVSEID: req.EVSEID, GroupID: req.GroupID}
	if req.ValidFrom != nil {
		a.ValidFrom = *req.ValidFrom
	}
	if req.ValidTo != nil {
		a.ValidTo = *req.ValidTo
	}
	if err := a.Validate(); err != nil {
		return err
	}
	if err := s.refersToTariff(r, a.TariffID); err != nil {
		return err
	}
	if a.StationID != "" {
		if _, err := s.store.Station(r.Context(), a.StationID); errors.Is(err, domain.ErrNotFound) {
			return domain.Errorf(domain.ErrInvalid, "stationId: no station %q", a.StationID)
		} else if err != nil {
			return err
		}
	}
	a, err := s.store.AddTariffAssignment(r.Context(), a)
	if err != nil {
		return err
	}
	v := assignmentView(a)
	s.auditChange(r.Context(), a.StationID, "AddTariffAssignment", v)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// refersToTariff checks a tariff id given in a request body: an unknown one is the caller's
// mistake (400), not a missing resource.
func (s *Server) refersToTariff(r *http.Request, id string) error {
	_, err := s.store.Tariff(r.Context(), id)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Errorf(domain.ErrInvalid, "tariffId: no tariff %q", id)
	}
	return err
}

func (s *Server) listAssignments(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.TariffAssignments(r.Context(), r.URL.Query().Get("stationId"), page)
	if err != nil {
		return err
	}
	out := listResponse[assignmentJSON]{Items: make([]assignmentJSON, 0, len(items)), NextCursor: next}
	for _, a := range items {
		out.Items = append(out.Items, assignmentView(a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteAssignment(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return domain.Errorf(domain.ErrNotFound, "no tariff assignment %q", r.PathValue("id"))
	}
	if err := s.store.DeleteTariffAssignment(r.Context(), id); err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "DeleteTariffAssignment", map[string]int64{"id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stationPricingPatch is the pricing part of PATCH /stations/{id}: tariffId (null or "" clears
// it) and timeZone (an IANA name; null or "" is UTC).
type stationPricingPatch struct {
	TariffID json.RawMessage `json:"tariffId"`
	TimeZone json.RawMessage `json:"timeZone"`
}

// nullableString reads a PATCH field that may be absent (nil), null or a string (both null and
// "" clear the value).
func nullableString(field string, raw json.RawMessage) (*string, error) {
	if raw == nil {
		return nil, nil
	}
	v := ""
	if string(raw) != "null" {
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, domain.Errorf(domain.ErrInvalid, "%s must be a string or null", field)
		}
	}
	return &v, nil
}

// applyStationPricing sets what the patch says about a station's pricing; it reports whether
// the patch said anything.
func (s *Server) applyStationPricing(r *http.Request, id string, p stationPricingPatch) (bool, error) {
	tariff, err := nullableString("tariffId", p.TariffID)
	if err != nil {
		return false, err
	}
	zone, err := nullableString("timeZone", p.TimeZone)
	if err != nil {
		return false, err
	}
	if tariff == nil && zone == nil {
		return false, nil
	}
	cur, err := s.store.StationPricing(r.Context(), id)
	if err != nil {
		return false, err
	}
	if tariff != nil {
		if *tariff != "" {
			if err := s.refersToTariff(r, *tariff); err != nil {
				return false, err
			}
		}
		cur.TariffID = *tariff
	}
	if zone != nil {
		if _, err := billing.LoadZone(*zone); err != nil {
			return false, err
		}
		cur.TimeZone = *zone
	}
	return true, s.store.SetStationPricing(r.Context(), cur)
}

// stationPricingJSON is added to a single station's view.
type stationPricingJSON struct {
	TariffID *string `json:"tariffId"`
	TimeZone string  `json:"timeZone"`
}

type stationWithPricing struct {
	stationJSON
	stationPricingJSON
}

func (s *Server) stationWithPricing(r *http.Request, st stationJSON) (stationWithPricing, error) {
	p, err := s.store.StationPricing(r.Context(), st.ID)
	if err != nil {
		return stationWithPricing{}, err
	}
	v := stationWithPricing{stationJSON: st, stationPricingJSON: stationPricingJSON{TimeZone: "UTC"}}
	if p.TariffID != "" {
		v.TariffID = &p.TariffID
	}
	if p.TimeZone != "" {
		v.TimeZone = p.TimeZone
	}
	return v, nil
}

type priceJSON struct {
	StationID  string                   `json:"stationId"`
	EVSEID     int                      `json:"evseId"`
	TariffID   *string                  `json:"tariffId"`
	TimeZone   string                   `json:"timeZone"`
	Language   string                   `json:"language"`
	Currency   string                   `json:"currency,omitempty"`
	Components []billing.PriceComponent `json:"components"`
	MinPrice   *pricing.Money           `json:"minPrice,omitempty"`
	MaxPrice   *pricing.Money           `json:"maxPrice,omitempty"`
	AltURL     string                   `json:"altUrl,omitempty"`
	Text       string                   `json:"text"`
}

// evsePrice answers "what will charging here cost?" before a session starts: the tariff a
// session starting now would get (for ?idToken= when given), structured and as a sentence in
// ?lang= (en, de, fr, nl; Accept-Language otherwise).
func (s *Server) evsePrice(w http.ResponseWriter, r *http.Request) error {
	stationID := r.PathValue("id")
	evseID, err := strconv.Atoi(r.PathValue("evseId"))
	if err != nil || evseID < 1 {
		return domain.Errorf(domain.ErrNotFound, "no EVSE %q", r.PathValue("evseId"))
	}
	if _, err := s.store.Station(r.Context(), stationID); err != nil {
		return err
	}
	lang := billing.Language(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"))
	c, err := s.billing.Choose(r.Context(), stationID, evseID, r.URL.Query().Get("idToken"), s.now())
	if err != nil {
		return err
	}
	out := priceJSON{StationID: stationID, EVSEID: evseID, TimeZone: c.Location.String(), Language: lang, Components: []billing.PriceComponent{}}
	if c.TariffID == "" {
		out.Text = billing.NoTariffText(lang)
	} else {
		d := billing.Describe(c.Tariff, lang)
		out.TariffID, out.Currency, out.Components, out.MinPrice, out.MaxPrice, out.Text, out.AltURL =
			&c.TariffID, d.Currency, d.Components, d.MinPrice, d.MaxPrice, d.Text, c.Tariff.TariffAltURL
	}
	w.Header().Set("Content-Language", lang)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// sessionCost is a session's cost as the API shows it: the CDR's for a completed session that
// has one, otherwise priced now. nil when no tariff applies; a session that cannot be priced
// is logged and shown without a cost rather than failing the request.
func (s *Server) sessionCost(r *http.Request, sess domain.Session) *pricing.Money {
	cost, _, err := s.billing.SessionCost(r.Context(), sess)
	if err != nil {
		s.log.ErrorContext(r.Context(), "api: price session", "session", sess.ID, "err", err)
		return nil
	}
	return cost
}

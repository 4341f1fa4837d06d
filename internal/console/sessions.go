package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/pricing"
)

func urlPath(s string) string { return url.PathEscape(s) }

// sessionQuery is the sessions list's filter, from the query string.
type sessionQuery struct {
	Station, Status, Token, From, To string
	from, to                         time.Time
	Errors                           map[string]string
}

func parseSessionQuery(r *http.Request) sessionQuery {
	v := r.URL.Query()
	q := sessionQuery{Station: strings.TrimSpace(v.Get("station")), Status: v.Get("status"), Token: strings.TrimSpace(v.Get("token")),
		From: v.Get("from"), To: v.Get("to"), Errors: map[string]string{}}
	if q.Status != "" && q.Status != "active" && q.Status != "completed" {
		q.Errors["status"] = "choose active or completed"
	}
	var err error
	if q.From != "" {
		if q.from, err = time.Parse("2006-01-02", q.From); err != nil {
			q.Errors["from"] = "enter a date as YYYY-MM-DD"
		}
	}
	if q.To != "" {
		if q.to, err = time.Parse("2006-01-02", q.To); err != nil {
			q.Errors["to"] = "enter a date as YYYY-MM-DD"
		} else {
			q.to = q.to.Add(24 * time.Hour) // the whole day
		}
	}
	return q
}

func (q sessionQuery) Encode() string {
	v := url.Values{}
	for k, x := range map[string]string{"station": q.Station, "status": q.Status, "token": q.Token, "from": q.From, "to": q.To} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v.Encode()
}

// matching calls fn for every session that passes q, newest first, until fn returns false.
func (s *Server) matching(ctx context.Context, q sessionQuery, fn func(domain.Session) bool) error {
	if len(q.Errors) > 0 {
		return nil
	}
	f := domain.SessionFilter{StationID: q.Station, Status: domain.SessionStatus(q.Status), IDToken: q.Token}
	cursor := ""
	for read := 0; read < 1_000_000; {
		items, next, err := s.store.Sessions(ctx, f, domain.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, se := range items {
			if !q.to.IsZero() && !se.StartedAt.Before(q.to) {
				continue
			}
			if !q.from.IsZero() && se.StartedAt.Before(q.from) {
				// Newest first by id, which follows start time closely: older ones follow.
				continue
			}
			if !fn(se) {
				return nil
			}
		}
		read += len(items)
		if next == "" {
			return nil
		}
		cursor = next
	}
	return nil
}

type sessionsData struct {
	Query sessionQuery
	Items []sessionRow
	More  bool
}

// sessionRow is a session with its cost (nil when no tariff applies).
type sessionRow struct {
	domain.Session
	Cost   *pricing.Money
	HasCDR bool
}

// costOf is a session's cost as the REST API shows it (billing.SessionCost); a session that
// cannot be priced is logged and shown without a cost rather than failing the page.
func (s *Server) costOf(ctx context.Context, se domain.Session) sessionRow {
	cost, hasCDR, err := s.billing.SessionCost(ctx, se)
	if err != nil {
		s.log.ErrorContext(ctx, "console: price session", "session", se.ID, "err", err)
	}
	return sessionRow{Session: se, Cost: cost, HasCDR: hasCDR}
}

const maxSessionRows = 200

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	q := parseSessionQuery(r)
	d := sessionsData{Query: q}
	err := s.matching(r.Context(), q, func(se domain.Session) bool {
		if len(d.Items) == maxSessionRows {
			d.More = true
			return false
		}
		d.Items = append(d.Items, s.costOf(r.Context(), se))
		return true
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if len(q.Errors) > 0 {
		status = http.StatusBadRequest
	}
	return s.render(w, r, status, "sessions", "Sessions", "sessions", d)
}

// exportSessions writes every session of the filter as CSV, with the cost the session page shows
// (billing.SessionCost: the CDR's totals once there is one, else priced now; empty columns when
// no tariff applies). costFinal is true when the figure is the CDR's.
func (s *Server) exportSessions(w http.ResponseWriter, r *http.Request) error {
	q := parseSessionQuery(r)
	if len(q.Errors) > 0 {
		for k, v := range q.Errors {
			return domain.Errorf(domain.ErrInvalid, "%s: %s", k, v)
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="sessions-%s.csv"`, s.now().UTC().Format("20060102-150405")))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "stationId", "evseId", "connectorId", "transactionId", "idToken", "status", "startedAt", "stoppedAt", "energyWh", "meterStartWh", "meterStopWh", "stopReason", "flag",
		"costInclVat", "costExclVat", "currency", "costFinal"})
	err := s.matching(r.Context(), q, func(se domain.Session) bool {
		row := s.costOf(r.Context(), se)
		incl, excl, currency := "", "", ""
		if c := row.Cost; c != nil {
			incl, excl, currency = c.InclVat, c.ExclVat, c.Currency
		}
		_ = cw.Write([]string{strconv.FormatInt(se.ID, 10), csvSafe(se.StationID), strconv.Itoa(se.EVSEID), strconv.Itoa(se.ConnectorID),
			csvSafe(se.TransactionID), csvSafe(se.IDToken), string(se.Status), rfc3339(se.StartedAt), rfc3339(se.StoppedAt),
			strconv.FormatFloat(se.EnergyWh, 'f', -1, 64), floatp(se.MeterStartWh), floatp(se.MeterStopWh), csvSafe(se.StopReason), csvSafe(se.Flag),
			incl, excl, currency, strconv.FormatBool(row.HasCDR && row.Cost != nil)})
		return cw.Error() == nil
	})
	cw.Flush()
	if err != nil {
		s.log.ErrorContext(r.Context(), "console: CSV export cut short", "err", err)
	}
	return nil
}

// csvSafe keeps a spreadsheet from reading a station-supplied value as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func floatp(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

type sessionPageData struct {
	Session sessionRow
	// Chart is [[unix seconds…], [power W…], [energy Wh…]]; the template writes it as JSON
	// (html/template escapes it for the script element).
	Chart   [3][]*float64
	Samples int
}

func (s *Server) sessionPage(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errNoPage
	}
	se, err := s.store.Session(r.Context(), id)
	if err != nil {
		return err
	}
	var samples []domain.MeterSample
	cursor := ""
	for len(samples) < 50_000 {
		items, next, err := s.store.MeterSamples(r.Context(), id, domain.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		samples = append(samples, items...)
		if next == "" {
			break
		}
		cursor = next
	}
	return s.render(w, r, http.StatusOK, "session", fmt.Sprintf("Session %d", id), "sessions",
		sessionPageData{Session: s.costOf(r.Context(), se), Chart: chartSeries(samples), Samples: len(samples)})
}

// chartSeries turns meter samples into aligned series: power in W (a phase-less reading, else
// the sum of the phases) and the energy delivered since the first register reading, in Wh.
func chartSeries(samples []domain.MeterSample) [3][]*float64 {
	type point struct {
		power, energy       *float64
		phaseSum            float64
		phased, hasUnphased bool
	}
	byTime := map[int64]*point{}
	var first *float64
	for _, m := range samples {
		t := m.At.Unix()
		p := byTime[t]
		if p == nil {
			p = &point{}
			byTime[t] = p
		}
		v := m.Value
		switch m.Measurand {
		case "Power.Active.Import":
			if strings.EqualFold(m.Unit, "kW") {
				v *= 1000
			}
			if m.Phase == "" {
				p.power, p.hasUnphased = &v, true
			} else {
				p.phaseSum += v
				p.phased = true
			}
		case "", "Energy.Active.Import.Register":
			if m.Phase != "" {
				continue
			}
			if strings.EqualFold(m.Unit, "kWh") {
				v *= 1000
			}
			if first == nil {
				f := v
				first = &f
			}
			e := v - *first
			p.energy = &e
		}
	}
	times := make([]int64, 0, len(byTime))
	for t := range byTime {
		times = append(times, t)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	var out [3][]*float64
	for _, t := range times {
		p := byTime[t]
		tf := float64(t)
		out[0] = append(out[0], &tf)
		if !p.hasUnphased && p.phased {
			v := p.phaseSum
			p.power = &v
		}
		out[1] = append(out[1], p.power)
		out[2] = append(out[2], p.energy)
	}
	return out
}

// stopSession asks the station to stop a session; next says which page to return to.
func (s *Server) stopSession(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errNoPage
	}
	res, err := s.withTimeout(ctx, func(ctx context.Context) (any, error) {
		return s.ops.StopSession(ctx, whoOf(ctx).user.Email, id)
	})
	if err != nil {
		if st, _ := explain(err); st == http.StatusInternalServerError {
			return err
		}
		s.setFlash(r, "Remote stop failed: "+messageOf(err), true)
	} else {
		s.setFlash(r, fmt.Sprintf("Remote stop of session %d: %v", id, res), false)
	}
	return redirect(w, r, safeNext(r.PostFormValue("next")))
}

type cdrData struct {
	CDR  domain.CDR
	Body string
}

// sessionCDR shows a completed session's CDR (the OCPI CDR the REST API serves at
// /api/v1/cdrs/{id}), indented for reading.
func (s *Server) sessionCDR(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errNoPage
	}
	c, err := s.store.CDR(r.Context(), id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if json.Indent(&buf, c.Body, "", "  ") != nil {
		buf.Reset()
		buf.Write(c.Body)
	}
	return s.render(w, r, http.StatusOK, "cdr", "CDR of session "+strconv.FormatInt(id, 10), "sessions", cdrData{CDR: c, Body: buf.String()})
}

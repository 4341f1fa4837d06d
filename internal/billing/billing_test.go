package billing_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/billing"
	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/pricing"
	"github.com/opencpo/opencpo/internal/store/sqlite"
)

var t0 = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC) // a Monday

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "b.db"), sqlite.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func energyTariff(price string) string {
	return `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":` + price + `,"vat":20,"step_size":1}]}]}`
}

func put(t *testing.T, s domain.Store, id, body string) {
	t.Helper()
	if _, err := s.PutTariff(t.Context(), domain.Tariff{ID: id, Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
}

func assign(t *testing.T, s domain.Store, a domain.TariffAssignment) {
	t.Helper()
	if _, err := s.AddTariffAssignment(t.Context(), a); err != nil {
		t.Fatal(err)
	}
}

func TestChooseOrder(t *testing.T) {
	s := openStore(t)
	ctx := t.Context()
	if err := s.CreateStation(ctx, domain.Station{ID: "CP-1", RegistrationStatus: domain.RegistrationAccepted}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, domain.Token{UID: "FLEET-CARD", Status: domain.TokenAccepted, GroupID: "fleet"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ALL", "ALL-FLEET", "STATION", "ASSIGNED", "EVSE2", "EVSE2-FLEET", "LATER"} {
		put(t, s, id, energyTariff("0.30"))
	}
	put(t, s, "EXPIRED", `{"currency":"EUR","end_date_time":"2026-01-01T00:00:00Z","elements":[{"price_components":[{"type":"FLAT","price":1,"step_size":0}]}]}`)
	b := billing.New(s, func() time.Time { return t0 }, nil)
	choose := func(evse int, token string) string {
		t.Helper()
		c, err := b.Choose(ctx, "CP-1", evse, token, t0)
		if err != nil {
			t.Fatal(err)
		}
		return c.TariffID
	}
	if got := choose(1, ""); got != "" {
		t.Errorf("no tariff anywhere: chose %q", got)
	}
	assign(t, s, domain.TariffAssignment{TariffID: "ALL"})
	assign(t, s, domain.TariffAssignment{TariffID: "ALL-FLEET", GroupID: "fleet"})
	if got, fleet := choose(1, "STRANGER"), choose(1, "FLEET-CARD"); got != "ALL" || fleet != "ALL-FLEET" {
		t.Errorf("all-stations: %q / fleet %q", got, fleet)
	}
	if err := s.SetStationPricing(ctx, domain.StationPricing{StationID: "CP-1", TariffID: "STATION", TimeZone: "Europe/Berlin"}); err != nil {
		t.Fatal(err)
	}
	if got, fleet := choose(1, ""), choose(1, "FLEET-CARD"); got != "STATION" || fleet != "STATION" {
		t.Errorf("station tariffId beats all-stations: %q / %q", got, fleet)
	}
	assign(t, s, domain.TariffAssignment{TariffID: "ASSIGNED", StationID: "CP-1"})
	assign(t, s, domain.TariffAssignment{TariffID: "EXPIRED", StationID: "CP-1", EVSEID: 1})
	assign(t, s, domain.TariffAssignment{TariffID: "EVSE2", StationID: "CP-1", EVSEID: 2})
	assign(t, s, domain.TariffAssignment{TariffID: "EVSE2-FLEET", StationID: "CP-1", EVSEID: 2, GroupID: "fleet"})
	assign(t, s, domain.TariffAssignment{TariffID: "LATER", StationID: "CP-1", EVSEID: 2, ValidFrom: t0.Add(time.Hour)})
	cases := []struct {
		evse  int
		token string
		want  string
	}{
		{1, "", "ASSIGNED"}, // the EVSE 1 tariff has ended: the station's turn
		{2, "", "EVSE2"},
		{2, "FLEET-CARD", "EVSE2-FLEET"},
		{3, "FLEET-CARD", "ASSIGNED"},
	}
	for _, c := range cases {
		if got := choose(c.evse, c.token); got != c.want {
			t.Errorf("EVSE %d token %q: chose %q, want %q", c.evse, c.token, got, c.want)
		}
	}
	c, _ := b.Choose(ctx, "CP-1", 2, "", t0.Add(2*time.Hour))
	if c.TariffID != "LATER" || c.Location.String() != "Europe/Berlin" {
		t.Errorf("within validity: %q in %v", c.TariffID, c.Location)
	}
}

// newSession stores a session through Apply, as the central system does.
func newSession(t *testing.T, s domain.Store, sess domain.Session, samples ...domain.MeterSample) domain.Session {
	t.Helper()
	var out domain.Session
	_, _, err := s.Apply(t.Context(), domain.StationMessage{StationID: sess.StationID, Action: "Test", Digest: rand.Text()},
		func(tx domain.SessionTx) ([]byte, error) {
			var err error
			if out, err = tx.NewSession(sess); err != nil {
				return nil, err
			}
			for i := range samples {
				samples[i].SessionID = out.ID
			}
			return []byte(`{}`), tx.AddSamples(samples)
		})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func energy(at time.Time, wh float64) domain.MeterSample {
	return domain.MeterSample{StationID: "CP-1", EVSEID: 1, At: at, Measurand: pricing.MeasurandEnergy, Location: "Outlet",
		Context: "Sample.Periodic", Unit: "Wh", Value: wh}
}

func TestPricePinnedAndCDRImmutable(t *testing.T) {
	s := openStore(t)
	ctx := t.Context()
	if err := s.CreateStation(ctx, domain.Station{ID: "CP-1", RegistrationStatus: domain.RegistrationAccepted}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "T", energyTariff("0.25"))
	if err := s.SetStationPricing(ctx, domain.StationPricing{StationID: "CP-1", TariffID: "T"}); err != nil {
		t.Fatal(err)
	}
	b := billing.New(s, func() time.Time { return t0 }, nil)
	start := 1000.0
	sess := newSession(t, s, domain.Session{StationID: "CP-1", EVSEID: 1, ConnectorID: 1, Status: domain.SessionActive,
		StartedAt: t0, LastEventAt: t0, MeterStartWh: &start, MeterStartAt: t0, MeterLastWh: &start, MeterLastAt: t0},
		energy(t0.Add(30*time.Minute), 6000))
	if _, err := b.Pin(ctx, sess); err != nil {
		t.Fatal(err)
	}
	// Editing the tariff after the start does not reprice the session.
	put(t, s, "T", energyTariff("9.99"))
	p, err := b.Price(ctx, sess)
	if err != nil || p == nil {
		t.Fatalf("Price: %v, %v", p, err)
	}
	if m := p.Cost.Money(); m.ExclVat != "1.25" || m.InclVat != "1.50" {
		t.Errorf("live cost after 5 kWh = %+v, want 1.25 / 1.50", m)
	}
	// Completed with a 1.6-style stop reading: 8 kWh in all.
	stop := 9000.0
	sess.Status, sess.StoppedAt, sess.MeterStopWh, sess.EnergyWh = domain.SessionCompleted, t0.Add(time.Hour), &stop, 8000
	c, err := b.Complete(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != billing.CDRID(sess.ID) || c.TotalExclVat != "2.00" || c.TotalInclVat != "2.40" || c.Currency != "EUR" {
		t.Errorf("CDR = %+v", c)
	}
	var rec billing.CDRRecord
	if err := json.Unmarshal(c.Body, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.TotalEnergy != "8" || rec.TotalEnergyCost.InclVat != "2.40" || rec.TotalTime != "1" || len(rec.ChargingPeriods) == 0 ||
		rec.TariffID != "T" || !strings.Contains(string(rec.Tariff), `"price":0.25`) {
		t.Errorf("CDR record %+v", rec)
	}
	// A second completion (a late duplicate stop) returns the first CDR unchanged.
	sess.StoppedAt = t0.Add(2 * time.Hour)
	again, err := b.Complete(ctx, sess)
	if err != nil || again.TotalInclVat != "2.40" || !again.StoppedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("second Complete = %+v, %v", again, err)
	}
}

func TestSessionWithoutTariffHasNoCost(t *testing.T) {
	s := openStore(t)
	if err := s.CreateStation(t.Context(), domain.Station{ID: "CP-1", RegistrationStatus: domain.RegistrationAccepted}); err != nil {
		t.Fatal(err)
	}
	b := billing.New(s, nil, nil)
	sess := newSession(t, s, domain.Session{StationID: "CP-1", EVSEID: 1, Status: domain.SessionActive, StartedAt: t0, LastEventAt: t0})
	if p, err := b.Price(t.Context(), sess); err != nil || p != nil {
		t.Fatalf("Price = %v, %v; want no cost", p, err)
	}
	// The "no tariff" choice is pinned too: a tariff set later does not price this session.
	put(t, s, "T", energyTariff("0.25"))
	if err := s.SetStationPricing(t.Context(), domain.StationPricing{StationID: "CP-1", TariffID: "T"}); err != nil {
		t.Fatal(err)
	}
	if p, err := b.Price(t.Context(), sess); err != nil || p != nil {
		t.Fatalf("after a tariff was set: Price = %v, %v; want still none", p, err)
	}
}

func TestDescribe(t *testing.T) {
	var tf pricing.Tariff
	body := `{"currency":"EUR","min_price":{"excl_vat":1.00,"incl_vat":1.21},"elements":[
		{"price_components":[{"type":"FLAT","price":0.50,"vat":21,"step_size":1},{"type":"ENERGY","price":0.30,"vat":21,"step_size":1}]},
		{"price_components":[{"type":"PARKING_TIME","price":6.00,"vat":21,"step_size":60}],"restrictions":{"min_duration":5400}}]}`
	if err := json.Unmarshal([]byte(body), &tf); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"en": "€0.605 per session, €0.363 per kWh, €7.26 per hour parking (after 90 min), minimum €1.21 (incl. VAT).",
		"de": "0,605 € pro Ladevorgang, 0,363 € pro kWh, 7,26 € pro Stunde Parken (nach 90 Min.), mindestens 1,21 € (inkl. MwSt.).",
		"fr": "0,605 € par session, 0,363 € par kWh, 7,26 € par heure de stationnement (après 90 min), minimum 1,21 € (TTC).",
		"nl": "0,605 € per sessie, 0,363 € per kWh, 7,26 € per uur parkeren (na 90 min), minimaal 1,21 € (incl. btw).",
	}
	for lang, text := range want {
		d := billing.Describe(tf, lang)
		if d.Text != text {
			t.Errorf("%s: %q\nwant %q", lang, d.Text, text)
		}
		if len(d.Components) != 3 || d.Components[1].PriceInclVat != "0.363" || d.MinPrice.InclVat != "1.21" {
			t.Errorf("%s: structure %+v", lang, d)
		}
	}
	tf.TariffAltText = []pricing.DisplayText{{Language: "nl", Text: "Laden voor 0,36 per kWh."}}
	if d := billing.Describe(tf, "nl"); d.Text != "Laden voor 0,36 per kWh." {
		t.Errorf("alt text not used: %q", d.Text)
	}
	if d := billing.Describe(tf, "de"); !strings.HasPrefix(d.Text, "0,605 €") {
		t.Errorf("alt text of another language used: %q", d.Text)
	}
	for in, want := range map[string]string{"": "en", "fr-BE": "fr", "es, nl;q=0.8, de;q=0.5": "nl", "xx": "en"} {
		if got := billing.Language(in); got != want {
			t.Errorf("Language(%q) = %q, want %q", in, got, want)
		}
	}
	if got := billing.Language("", "de-DE,en;q=0.5"); got != "de" {
		t.Errorf("Accept-Language fallback = %q", got)
	}
}

package pricing

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// randTimeline makes a session of 1–12 periods (some charging, some idle, some gaps) starting
// somewhere in 2025 in Amsterdam, DST days included.
func randTimeline(r *rand.Rand, loc *time.Location) Timeline {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, loc).Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
	if r.IntN(4) == 0 { // aim at the DST changes
		days := []time.Time{time.Date(2025, 3, 30, 0, 0, 0, 0, loc), time.Date(2025, 10, 26, 0, 0, 0, 0, loc)}
		start = days[r.IntN(2)].Add(time.Duration(r.Int64N(int64(4 * time.Hour))))
	}
	tl := Timeline{Start: start, Location: loc}
	at := start
	for n := 1 + r.IntN(12); n > 0; n-- {
		if r.IntN(5) == 0 {
			at = at.Add(time.Duration(r.Int64N(int64(30 * time.Minute)))) // a gap: parking
		}
		d := time.Duration(1+r.Int64N(int64(3*time.Hour)/int64(time.Second))) * time.Second
		p := Period{From: at, To: at.Add(d), Charging: r.IntN(3) > 0}
		if p.Charging {
			p.EnergyWh = decimal.New(r.Int64N(5_000_000), -2) // up to 50 kWh, 0.01 Wh resolution
			p.MaxPowerW = float64(r.IntN(150_000))
			p.MaxCurrentA = float64(r.IntN(200))
		}
		tl.Periods = append(tl.Periods, p)
		at = p.To
	}
	tl.End = at.Add(time.Duration(r.Int64N(int64(time.Hour))))
	return tl
}

func randNum(r *rand.Rand, max int64, exp int32) *Number {
	n := Number{decimal.New(r.Int64N(max), exp)}
	return &n
}

// randTariff makes a valid tariff. plain leaves out everything that makes a session's price
// depend on where it is cut (step sizes, FLAT, min/max price, duration and energy restrictions).
func randTariff(r *rand.Rand, plain bool) Tariff {
	t := Tariff{Currency: "EUR"}
	dims := []Dimension{DimensionEnergy, DimensionTime, DimensionParkingTime, DimensionFlat}
	if plain {
		dims = dims[:3]
	}
	for n := 1 + r.IntN(5); n > 0; n-- {
		var e TariffElement
		for _, d := range dims {
			if r.IntN(2) == 0 {
				continue
			}
			c := PriceComponent{Type: d, Price: *randNum(r, 1000, -2)}
			if r.IntN(3) > 0 {
				c.Vat = randNum(r, 30, 0)
			}
			if !plain {
				c.StepSize = []int{0, 1, 60, 100, 300, 900}[r.IntN(6)]
			}
			e.PriceComponents = append(e.PriceComponents, c)
		}
		if len(e.PriceComponents) == 0 {
			e.PriceComponents = []PriceComponent{{Type: dims[r.IntN(len(dims))], Price: *randNum(r, 100, -2)}}
		}
		if n > 1 && r.IntN(3) > 0 { // the last element stays a fallback
			e.Restrictions = randRestrictions(r, plain)
		}
		t.Elements = append(t.Elements, e)
	}
	if !plain && r.IntN(3) == 0 {
		t.MinPrice = &Amount{ExclVat: *randNum(r, 500, -2)}
	}
	if !plain && r.IntN(3) == 0 {
		t.MaxPrice = &Amount{ExclVat: Number{decimal.New(500+r.Int64N(5000), -2)}}
	}
	return t
}

func randRestrictions(r *rand.Rand, plain bool) *TariffRestrictions {
	var x TariffRestrictions
	hm := func() string { return fmt.Sprintf("%02d:%02d", r.IntN(24), r.IntN(60)) }
	switch r.IntN(4) {
	case 0:
		x.StartTime, x.EndTime = hm(), hm()
		if x.StartTime == x.EndTime {
			x.EndTime = ""
		}
	case 1:
		x.StartTime = hm()
	case 2:
		x.EndTime = hm()
	}
	if r.IntN(3) == 0 {
		for _, d := range []string{"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"} {
			if r.IntN(2) == 0 {
				x.DayOfWeek = append(x.DayOfWeek, d)
			}
		}
	}
	if r.IntN(4) == 0 {
		x.StartDate = fmt.Sprintf("2025-%02d-01", 1+r.IntN(6))
		x.EndDate = fmt.Sprintf("2025-%02d-15", 7+r.IntN(6))
	}
	if r.IntN(4) == 0 {
		x.MaxPower = randNum(r, 150, 0)
	}
	if r.IntN(4) == 0 {
		x.MinCurrent = randNum(r, 64, 0)
	}
	if !plain {
		if r.IntN(3) == 0 {
			v := r.IntN(4 * 3600)
			x.MinDuration = &v
		}
		if r.IntN(3) == 0 {
			v := r.IntN(8 * 3600)
			if x.MinDuration != nil && v < *x.MinDuration {
				v = *x.MinDuration
			}
			x.MaxDuration = &v
		}
		if r.IntN(3) == 0 {
			x.MinKWh = randNum(r, 40, 0)
		}
		if r.IntN(3) == 0 {
			x.MaxKWh = Number{decimal.New(40+r.Int64N(100), 0)}.ptr()
		}
	}
	return &x
}

func (n Number) ptr() *Number { return &n }

func TestPropertyCostNeverNegativeAndTimeAddsUp(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		tf, tl := randTariff(r, false), randTimeline(r, ams)
		if err := tf.Validate(); err != nil {
			t.Fatalf("case %d: generator made an invalid tariff: %v", i, err)
		}
		c, err := Price(tf, tl)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if c.ExclVat.IsNegative() || c.InclVat.IsNegative() || c.InclVat.LessThan(c.ExclVat) && tf.MaxPrice == nil {
			t.Fatalf("case %d: cost %s / %s", i, c.ExclVat, c.InclVat)
		}
		if got, want := c.ChargingTime+c.ParkingTime, tl.End.Sub(tl.Start); got != want {
			t.Fatalf("case %d: charging %s + parking %s = %s, session %s", i, c.ChargingTime, c.ParkingTime, got, want)
		}
		var wh decimal.Decimal
		for _, p := range tl.Periods {
			wh = wh.Add(p.EnergyWh)
		}
		if !c.EnergyWh.Equal(wh) {
			t.Fatalf("case %d: energy %s, want %s", i, c.EnergyWh, wh)
		}
		for _, l := range c.Breakdown {
			if l.ExclVat.IsNegative() || l.Volume.LessThan(l.Used) {
				t.Fatalf("case %d: line %+v", i, l)
			}
		}
	}
}

func TestPropertySplitKeepsTotal(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	r := rand.New(rand.NewPCG(3, 4))
	cent := decimal.New(1, -2)
	for i := range 2000 {
		tf, tl := randTariff(r, true), randTimeline(r, ams)
		at := tl.Start.Add(1 + time.Duration(r.Int64N(int64(tl.End.Sub(tl.Start))-1)))
		a, b, err := tl.Split(at)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		whole, err1 := Price(tf, tl)
		pa, err2 := Price(tf, a)
		pb, err3 := Price(tf, b)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("case %d: %v %v %v", i, err1, err2, err3)
		}
		if d := pa.ExclVat.Add(pb.ExclVat).Sub(whole.ExclVat).Abs(); d.GreaterThan(cent) {
			t.Fatalf("case %d: split at %s: %s + %s vs %s", i, at, pa.ExclVat, pb.ExclVat, whole.ExclVat)
		}
		if d := pa.InclVat.Add(pb.InclVat).Sub(whole.InclVat).Abs(); d.GreaterThan(cent) {
			t.Fatalf("case %d: split at %s: incl %s + %s vs %s", i, at, pa.InclVat, pb.InclVat, whole.InclVat)
		}
		// Unrounded, the parts add up to within the division precision.
		exact := func(c Cost) decimal.Decimal {
			s := decimal.Zero
			for _, l := range c.Breakdown {
				s = s.Add(l.ExclVat)
			}
			return s
		}
		if d := exact(pa).Add(exact(pb)).Sub(exact(whole)).Abs(); d.GreaterThan(decimal.New(1, -12)) {
			t.Fatalf("case %d: unrounded parts differ by %s", i, d)
		}
	}
}

func TestPropertyMoreEnergyNeverCostsLess(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		// Energy-only tariff: any restrictions, step sizes, FLAT and min price allowed; a max
		// price caps but never lowers.
		tf := randTariff(r, false)
		var els []TariffElement
		for _, e := range tf.Elements {
			var cs []PriceComponent
			for _, c := range e.PriceComponents {
				if c.Type == DimensionEnergy || c.Type == DimensionFlat {
					// OCPI's last-period rule bills a step's rounding at the price of the last
					// element: more energy landing in a cheaper last element can then cost
					// less. That is the spec, so steps stay out of this property.
					c.StepSize = 0
					cs = append(cs, c)
				}
			}
			if len(cs) > 0 {
				e.PriceComponents = cs
				// Energy prices must not fall with more energy for this to hold; kWh and duration
				// restrictions could make more energy cheaper per kWh, so keep only time-of-day.
				if e.Restrictions != nil {
					e.Restrictions = &TariffRestrictions{StartTime: e.Restrictions.StartTime, EndTime: e.Restrictions.EndTime, DayOfWeek: e.Restrictions.DayOfWeek}
				}
				els = append(els, e)
			}
		}
		if len(els) == 0 {
			continue
		}
		tf.Elements = els
		tl := randTimeline(r, ams)
		base, err := Price(tf, tl)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		more := tl
		more.Periods = append([]Period(nil), tl.Periods...)
		k := r.IntN(len(more.Periods))
		more.Periods[k].EnergyWh = more.Periods[k].EnergyWh.Add(decimal.New(1+r.Int64N(2_000_000), -2))
		more.Periods[k].Charging = true
		got, err := Price(tf, more)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		// A max_price without incl_vat scales the incl-VAT total by the session's own VAT mix,
		// which more energy at a lower VAT rate can lower: only excl-VAT is monotone then.
		inclScaled := got.MaxPriceApplied && tf.MaxPrice.InclVat == nil
		if got.ExclVat.LessThan(base.ExclVat) || !inclScaled && got.InclVat.LessThan(base.InclVat) {
			t.Fatalf("case %d: more energy cost %s / %s, less cost %s / %s", i, got.ExclVat, got.InclVat, base.ExclVat, base.InclVat)
		}
	}
}

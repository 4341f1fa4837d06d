package pricing

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// Cost is a priced session.
type Cost struct {
	Currency string
	// ExclVat and InclVat are the totals after min_price / max_price, rounded half-up to the
	// currency's minor unit.
	ExclVat, InclVat decimal.Decimal
	// Breakdown has one line per dimension and run of consecutive time priced by the same
	// element, FLAT first, then ENERGY, TIME, PARKING_TIME, each in time order. Its amounts are
	// exact (not rounded) and add up to the totals before min/max price and rounding.
	Breakdown []Line
	// MinPriceApplied / MaxPriceApplied tell that a bound of the tariff changed a total.
	MinPriceApplied, MaxPriceApplied bool
	ChargingTime, ParkingTime        time.Duration
	EnergyWh                         decimal.Decimal
}

// Line is one priced run of a dimension.
type Line struct {
	Dimension    Dimension
	ElementIndex int // index into Tariff.Elements
	From, To     time.Time
	// Used is the measured volume and Volume the billed one (Used plus the step_size rounding,
	// which only the dimension's last line carries): kWh for ENERGY, hours for TIME and
	// PARKING_TIME, 1 for FLAT.
	Used, Volume decimal.Decimal
	UnitPrice    decimal.Decimal  // excl. VAT per kWh / hour / session
	VatPercent   *decimal.Decimal // nil: the component has no VAT
	ExclVat      decimal.Decimal
	Vat          decimal.Decimal
	InclVat      decimal.Decimal
}

// Money is the cost as the REST API shows it: decimal strings with the currency's minor unit,
// e.g. {"currency": "EUR", "exclVat": "5.00", "inclVat": "5.95"}.
type Money struct {
	Currency string `json:"currency"`
	ExclVat  string `json:"exclVat"`
	InclVat  string `json:"inclVat"`
}

// Money formats the totals for the API.
func (c Cost) Money() Money {
	n, _ := MinorUnits(c.Currency)
	return Money{Currency: c.Currency, ExclVat: c.ExclVat.StringFixed(n), InclVat: c.InclVat.StringFixed(n)}
}

// precision is the number of decimals kept in the divisions that time pricing needs (per hour);
// every other operation is exact.
const precision = 28

var (
	nsPerHour = decimal.NewFromInt(int64(time.Hour))
	nsPerSec  = decimal.NewFromInt(int64(time.Second))
	thousand  = decimal.NewFromInt(1000)
)

// Price prices the timeline tl with tariff t (see the package comment for the rules). It fails
// with domain.ErrInvalid when the tariff or the timeline is not valid; it does not look at the
// tariff's start_date_time / end_date_time (see Tariff.ActiveAt).
func Price(t Tariff, tl Timeline) (Cost, error) {
	if err := t.Validate(); err != nil {
		return Cost{}, err
	}
	periods, err := tl.normalize()
	if err != nil {
		return Cost{}, err
	}
	loc := tl.Location
	if loc == nil {
		loc = time.UTC
	}
	els := compile(t)
	pieces := cut(periods, tl.Start, tl.End, loc, els)

	cost := Cost{Currency: t.Currency, EnergyWh: decimal.Zero}
	for _, p := range pieces {
		d := p.to.Sub(p.from)
		if p.charging {
			cost.ChargingTime += d
		} else {
			cost.ParkingTime += d
		}
		cost.EnergyWh = cost.EnergyWh.Add(p.energyWh)
	}

	// Assign each piece's volumes to the first matching element per dimension.
	runs := map[Dimension][]*run{}
	add := func(dim Dimension, el int, p piece, vol decimal.Decimal) {
		rs := runs[dim]
		if n := len(rs); n > 0 && rs[n-1].element == el && rs[n-1].to.Equal(p.from) {
			rs[n-1].to = p.to
			rs[n-1].used = rs[n-1].used.Add(vol)
			return
		}
		runs[dim] = append(rs, &run{element: el, from: p.from, to: p.to, used: vol})
	}
	for _, p := range pieces {
		if p.energyWh.IsPositive() {
			if el := first(els, DimensionEnergy, p); el >= 0 {
				add(DimensionEnergy, el, p, p.energyWh)
			}
		}
		dim := DimensionParkingTime
		if p.charging {
			dim = DimensionTime
		}
		if el := first(els, dim, p); el >= 0 {
			add(dim, el, p, decimal.NewFromInt(int64(p.to.Sub(p.from))))
		}
	}
	flatAt := pieces
	if len(flatAt) == 0 {
		flatAt = []piece{{from: tl.Start, to: tl.Start, localFrom: tl.Start.In(loc), energyWh: decimal.Zero, cumWh: decimal.Zero, powerW: decimal.Zero, currentA: decimal.Zero}}
	}
	for _, p := range flatAt {
		if el := first(els, DimensionFlat, p); el >= 0 {
			runs[DimensionFlat] = []*run{{element: el, from: tl.Start, to: tl.End, used: decimal.NewFromInt(1)}}
			break
		}
	}

	excl, incl := decimal.Zero, decimal.Zero
	for _, dim := range []Dimension{DimensionFlat, DimensionEnergy, DimensionTime, DimensionParkingTime} {
		rs := runs[dim]
		if len(rs) == 0 {
			continue
		}
		for _, r := range rs {
			r.billed = r.used
		}
		// OCPI's last-period rule: round the dimension's total up to the step of its last
		// element; the extra is billed at that element's price.
		last := rs[len(rs)-1]
		if unit := stepUnit(dim, els[last.element].comp[dim].StepSize); unit.IsPositive() {
			total := decimal.Zero
			for _, r := range rs {
				total = total.Add(r.used)
			}
			q, rem := total.QuoRem(unit, 0)
			if rem.IsPositive() {
				last.billed = last.billed.Add(q.Add(decimal.NewFromInt(1)).Mul(unit).Sub(total))
			}
		}
		for _, r := range rs {
			l := line(dim, r, els[r.element].comp[dim])
			excl = excl.Add(l.ExclVat)
			incl = incl.Add(l.InclVat)
			cost.Breakdown = append(cost.Breakdown, l)
		}
	}

	excl, incl, cost.MinPriceApplied, cost.MaxPriceApplied = clamp(excl, incl, t.MinPrice, t.MaxPrice)
	n, _ := MinorUnits(t.Currency)
	cost.ExclVat = excl.Round(n)
	cost.InclVat = incl.Round(n)
	return cost, nil
}

type run struct {
	element      int
	from, to     time.Time
	used, billed decimal.Decimal // Wh, ns, or 1 for FLAT
}

func stepUnit(dim Dimension, step int) decimal.Decimal {
	switch dim {
	case DimensionEnergy:
		return decimal.NewFromInt(int64(step))
	case DimensionTime, DimensionParkingTime:
		return decimal.NewFromInt(int64(step)).Mul(nsPerSec)
	}
	return decimal.Zero
}

func line(dim Dimension, r *run, c PriceComponent) Line {
	l := Line{Dimension: dim, ElementIndex: r.element, From: r.from, To: r.to, UnitPrice: c.Price.Decimal}
	switch dim {
	case DimensionEnergy:
		l.Used, l.Volume = r.used.Shift(-3), r.billed.Shift(-3)
		l.ExclVat = c.Price.Mul(r.billed).Shift(-3)
	case DimensionTime, DimensionParkingTime:
		l.Used = r.used.DivRound(nsPerHour, precision)
		l.Volume = r.billed.DivRound(nsPerHour, precision)
		l.ExclVat = c.Price.Mul(r.billed).DivRound(nsPerHour, precision)
	default:
		l.Used, l.Volume = r.used, r.billed
		l.ExclVat = c.Price.Mul(r.billed)
	}
	l.Vat = decimal.Zero
	if c.Vat != nil {
		v := c.Vat.Decimal
		l.VatPercent = &v
		l.Vat = l.ExclVat.Mul(v).Shift(-2)
	}
	l.InclVat = l.ExclVat.Add(l.Vat)
	return l
}

// clamp applies min_price and max_price to both totals independently (OCPI's rule). A bound
// without incl_vat moves the incl-VAT total by the same factor as the excl-VAT one.
func clamp(excl, incl decimal.Decimal, minP, maxP *Amount) (decimal.Decimal, decimal.Decimal, bool, bool) {
	var minHit, maxHit bool
	scale := func(newExcl decimal.Decimal) decimal.Decimal {
		if excl.IsZero() {
			return newExcl
		}
		return incl.Mul(newExcl).DivRound(excl, precision)
	}
	if minP != nil {
		e, i := excl, incl
		if excl.LessThan(minP.ExclVat.Decimal) {
			e, minHit = minP.ExclVat.Decimal, true
			if minP.InclVat == nil {
				i = scale(e)
			}
		}
		if minP.InclVat != nil && i.LessThan(minP.InclVat.Decimal) {
			i, minHit = minP.InclVat.Decimal, true
		}
		excl, incl = e, i
	}
	if maxP != nil {
		e, i := excl, incl
		if excl.GreaterThan(maxP.ExclVat.Decimal) {
			e, maxHit = maxP.ExclVat.Decimal, true
			if maxP.InclVat == nil {
				i = scale(e)
			}
		}
		if maxP.InclVat != nil && i.GreaterThan(maxP.InclVat.Decimal) {
			i, maxHit = maxP.InclVat.Decimal, true
		}
		excl, incl = e, i
	}
	return excl, incl, minHit, maxHit
}

// element is a tariff element with its restrictions parsed.
type element struct {
	comp map[Dimension]PriceComponent // first component of each dimension
	r    *restriction
}

type restriction struct {
	startTime, endTime   int // minutes of the day; -1 when absent
	startDate, endDate   civil
	minWh, maxWh         *decimal.Decimal
	minCurrent, maxCurr  *decimal.Decimal
	minPowerW, maxPowerW *decimal.Decimal
	minDur, maxDur       *time.Duration
	days                 map[time.Weekday]bool
	reservation          bool
}

type civil struct{ y, m, d int } // zero: absent

func (c civil) zero() bool { return c == civil{} }
func (c civil) less(o civil) bool {
	if c.y != o.y {
		return c.y < o.y
	}
	if c.m != o.m {
		return c.m < o.m
	}
	return c.d < o.d
}

func compile(t Tariff) []element {
	els := make([]element, len(t.Elements))
	for i, e := range t.Elements {
		el := element{comp: map[Dimension]PriceComponent{}}
		for _, c := range e.PriceComponents {
			if _, ok := el.comp[c.Type]; !ok {
				el.comp[c.Type] = c
			}
		}
		if r := e.Restrictions; r != nil {
			el.r = compileRestriction(r)
		}
		els[i] = el
	}
	return els
}

func compileRestriction(r *TariffRestrictions) *restriction {
	c := &restriction{startTime: hhmm(r.StartTime), endTime: hhmm(r.EndTime), reservation: r.Reservation != ""}
	if r.StartDate != "" {
		t, _ := parseDate(r.StartDate)
		c.startDate = civil{t.Year(), int(t.Month()), t.Day()}
	}
	if r.EndDate != "" {
		t, _ := parseDate(r.EndDate)
		c.endDate = civil{t.Year(), int(t.Month()), t.Day()}
	}
	mul := func(n *Number, f decimal.Decimal) *decimal.Decimal {
		if n == nil {
			return nil
		}
		v := n.Mul(f)
		return &v
	}
	one := decimal.NewFromInt(1)
	c.minWh, c.maxWh = mul(r.MinKWh, thousand), mul(r.MaxKWh, thousand)
	c.minCurrent, c.maxCurr = mul(r.MinCurrent, one), mul(r.MaxCurrent, one)
	c.minPowerW, c.maxPowerW = mul(r.MinPower, thousand), mul(r.MaxPower, thousand)
	dur := func(s *int) *time.Duration {
		if s == nil {
			return nil
		}
		d := time.Duration(*s) * time.Second
		return &d
	}
	c.minDur, c.maxDur = dur(r.MinDuration), dur(r.MaxDuration)
	if len(r.DayOfWeek) > 0 {
		c.days = map[time.Weekday]bool{}
		for _, d := range r.DayOfWeek {
			c.days[weekdays[d]] = true
		}
	}
	return c
}

func hhmm(s string) int {
	if s == "" {
		return -1
	}
	return (int(s[0]-'0')*10+int(s[1]-'0'))*60 + int(s[3]-'0')*10 + int(s[4]-'0')
}

// first returns the index of the first element with a component of dim whose restrictions match
// p, or -1.
func first(els []element, dim Dimension, p piece) int {
	for i, e := range els {
		if _, ok := e.comp[dim]; ok && e.r.matches(p) {
			return i
		}
	}
	return -1
}

func (r *restriction) matches(p piece) bool {
	if r == nil {
		return true
	}
	if r.reservation {
		return false
	}
	lt := p.localFrom
	if r.startTime >= 0 || r.endTime >= 0 {
		h, m, s := lt.Clock()
		tod := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(lt.Nanosecond())
		st, et := time.Duration(r.startTime)*time.Minute, time.Duration(r.endTime)*time.Minute
		switch {
		case r.startTime >= 0 && r.endTime >= 0 && r.startTime < r.endTime:
			if tod < st || tod >= et {
				return false
			}
		case r.startTime >= 0 && r.endTime >= 0: // overnight, e.g. 22:00–06:00
			if tod < st && tod >= et {
				return false
			}
		case r.startTime >= 0:
			if tod < st {
				return false
			}
		default:
			if tod >= et {
				return false
			}
		}
	}
	if !r.startDate.zero() || !r.endDate.zero() {
		d := civil{lt.Year(), int(lt.Month()), lt.Day()}
		if !r.startDate.zero() && d.less(r.startDate) {
			return false
		}
		if !r.endDate.zero() && !d.less(r.endDate) {
			return false
		}
	}
	if r.days != nil && !r.days[lt.Weekday()] {
		return false
	}
	if r.minDur != nil && p.elapsed < *r.minDur {
		return false
	}
	if r.maxDur != nil && p.elapsed >= *r.maxDur {
		return false
	}
	if r.minWh != nil && p.cumWh.LessThan(*r.minWh) {
		return false
	}
	if r.maxWh != nil && !p.cumWh.LessThan(*r.maxWh) {
		return false
	}
	if r.minPowerW != nil && p.powerW.LessThan(*r.minPowerW) {
		return false
	}
	if r.maxPowerW != nil && !p.powerW.LessThan(*r.maxPowerW) {
		return false
	}
	if r.minCurrent != nil && p.currentA.LessThan(*r.minCurrent) {
		return false
	}
	if r.maxCurr != nil && !p.currentA.LessThan(*r.maxCurr) {
		return false
	}
	return true
}

// cut splits the periods into pieces at every instant a restriction may change its answer.
func cut(periods []Period, start, end time.Time, loc *time.Location, els []element) []piece {
	var (
		clock   = map[int]bool{} // minutes of the day
		local   bool             // any restriction on local time, date or weekday
		instant []time.Time
		whs     []decimal.Decimal
	)
	for _, e := range els {
		r := e.r
		if r == nil {
			continue
		}
		if r.startTime >= 0 {
			clock[r.startTime], local = true, true
		}
		if r.endTime >= 0 {
			clock[r.endTime], local = true, true
		}
		if !r.startDate.zero() || !r.endDate.zero() || r.days != nil {
			clock[0], local = true, true
		}
		for _, d := range []*time.Duration{r.minDur, r.maxDur} {
			if d != nil {
				instant = append(instant, start.Add(*d))
			}
		}
		for _, w := range []*decimal.Decimal{r.minWh, r.maxWh} {
			if w != nil && w.IsPositive() {
				whs = append(whs, *w)
			}
		}
	}
	if local {
		clock[0] = true // a time-of-day window also opens or closes at midnight
		instant = append(instant, localInstants(start, end, loc, clock)...)
	}
	sort.Slice(instant, func(i, j int) bool { return instant[i].Before(instant[j]) })
	sort.Slice(whs, func(i, j int) bool { return whs[i].LessThan(whs[j]) })

	// Cut at the instants.
	var timed []Period
	k := 0
	for _, p := range periods {
		for k < len(instant) && !instant[k].After(p.From) {
			k++
		}
		for ; k < len(instant) && instant[k].Before(p.To); k++ {
			if instant[k].After(p.From) { // duplicates are skipped
				a, b := p.split(instant[k])
				timed = append(timed, a)
				p = b
			}
		}
		timed = append(timed, p)
	}

	// Cut where the cumulative energy crosses a kWh threshold, then describe each piece.
	var out []piece
	cum := decimal.Zero
	w := 0
	emit := func(p Period) {
		pc := piece{from: p.From, to: p.To, energyWh: p.EnergyWh, charging: p.Charging,
			elapsed: p.From.Sub(start), cumWh: cum, localFrom: p.From.In(loc),
			currentA: decimal.NewFromFloat(p.MaxCurrentA)}
		pc.powerW = decimal.NewFromFloat(p.MaxPowerW)
		if d := p.To.Sub(p.From); d > 0 && p.EnergyWh.IsPositive() {
			if avg := p.EnergyWh.Mul(nsPerHour).DivRound(decimal.NewFromInt(int64(d)), 6); avg.GreaterThan(pc.powerW) {
				pc.powerW = avg
			}
		}
		out = append(out, pc)
		cum = cum.Add(p.EnergyWh)
	}
	for _, p := range timed {
		for w < len(whs) && !whs[w].GreaterThan(cum) {
			w++
		}
		for w < len(whs) && whs[w].LessThan(cum.Add(p.EnergyWh)) {
			// Time at which the threshold is reached, assuming even delivery in the period.
			need := whs[w].Sub(cum)
			frac := need.Mul(decimal.NewFromInt(int64(p.To.Sub(p.From)))).DivRound(p.EnergyWh, 0)
			t := p.From.Add(time.Duration(frac.IntPart()))
			if t.After(p.From) && t.Before(p.To) {
				a, b := p, p
				a.To, b.From = t, t
				a.EnergyWh, b.EnergyWh = need, p.EnergyWh.Sub(need)
				emit(a)
				p = b
			}
			w++
		}
		emit(p)
	}
	return out
}

// localInstants lists the instants in (start, end) at which the local clock in loc reads one of
// the given minutes of the day, plus the zone transitions (DST changes) in between. A clock
// reading that happens twice (the repeated hour when DST ends) gives two instants; one that does
// not happen (the skipped hour when it starts) is covered by the transition.
func localInstants(start, end time.Time, loc *time.Location, clock map[int]bool) []time.Time {
	seen := map[time.Time]bool{}
	var out []time.Time
	addT := func(t time.Time) {
		t = t.UTC()
		if t.After(start) && t.Before(end) && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for t := start; ; {
		_, zEnd := t.In(loc).ZoneBounds()
		if zEnd.IsZero() || !zEnd.Before(end) {
			break
		}
		addT(zEnd)
		t = zEnd
	}
	ls, le := start.In(loc), end.In(loc)
	day := time.Date(ls.Year(), ls.Month(), ls.Day()-1, 12, 0, 0, 0, loc)
	last := time.Date(le.Year(), le.Month(), le.Day()+1, 12, 0, 0, 0, loc)
	for ; !day.After(last); day = time.Date(day.Year(), day.Month(), day.Day()+1, 12, 0, 0, 0, loc) {
		y, m, d := day.Date()
		offsets := map[int]bool{}
		for _, h := range []int{-24, -12, 0, 12, 24} {
			_, off := day.Add(time.Duration(h) * time.Hour).Zone()
			offsets[off] = true
		}
		for min := range clock {
			for off := range offsets {
				t := time.Date(y, m, d, min/60, min%60, 0, 0, time.UTC).Add(-time.Duration(off) * time.Second)
				lt := t.In(loc)
				if ly, lm, ld := lt.Date(); ly == y && lm == m && ld == d && lt.Hour()*60+lt.Minute() == min && lt.Second() == 0 {
					addT(t)
				}
			}
		}
	}
	return out
}

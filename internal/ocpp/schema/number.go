package schema

import (
	"math/big"
)

// Numbers are judged on their decimal literals, never through float64: JSON Schema compares
// numbers as exact values (0.3 is a multiple of 0.1; 100.0000000000000001 exceeds 100), and so
// does the reference validator, which uses math/big.

// numLit is a syntactically valid JSON number literal taken apart.
type numLit[T string | []byte] struct {
	lit    T
	neg    bool
	i0, i1 int // integer digits
	f0, f1 int // fraction digits; f0 == f1 if there are none
	e0, e1 int // exponent including its sign; e0 == e1 if there is none
}

func parseLit[T string | []byte](lit T) numLit[T] {
	n := numLit[T]{lit: lit}
	i := 0
	if i < len(lit) && lit[i] == '-' {
		n.neg = true
		i++
	}
	n.i0 = i
	for i < len(lit) && isDigit(lit[i]) {
		i++
	}
	n.i1 = i
	n.f0, n.f1 = i, i
	if i < len(lit) && lit[i] == '.' {
		i++
		n.f0 = i
		for i < len(lit) && isDigit(lit[i]) {
			i++
		}
		n.f1 = i
	}
	n.e0, n.e1 = i, i
	if i < len(lit) && (lit[i] == 'e' || lit[i] == 'E') {
		n.e0, n.e1 = i+1, len(lit)
	}
	return n
}

// ndigits is the number of mantissa digits, integer and fraction part together.
func (n *numLit[T]) ndigits() int { return n.i1 - n.i0 + n.f1 - n.f0 }

// digit returns the k-th mantissa digit, counting across the decimal point.
func (n *numLit[T]) digit(k int) byte {
	if il := n.i1 - n.i0; k >= il {
		return n.lit[n.f0+k-il]
	}
	return n.lit[n.i0+k]
}

// sig returns the indexes of the first and last non-zero mantissa digits; zero reports that
// there are none.
func (n *numLit[T]) sig() (first, last int, zero bool) {
	nd := n.ndigits()
	first = 0
	for first < nd && n.digit(first) == '0' {
		first++
	}
	if first == nd {
		return 0, 0, true
	}
	last = nd - 1
	for n.digit(last) == '0' {
		last--
	}
	return first, last, false
}

// exp returns the exponent and whether it fits an int64 (what strconv.ParseInt, and so
// big.Rat.SetString, accepts).
func (n *numLit[T]) exp() (int64, bool) {
	if n.e0 == n.e1 {
		return 0, true
	}
	i, neg := n.e0, false
	switch n.lit[i] {
	case '-':
		neg = true
		i++
	case '+':
		i++
	}
	limit := uint64(1<<63 - 1)
	if neg {
		limit = 1 << 63
	}
	var u uint64
	for ; i < n.e1; i++ {
		d := uint64(n.lit[i] - '0')
		if u > (limit-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	if neg {
		return int64(^u + 1), true
	}
	return int64(u), true
}

// clampedExp is the exponent clamped to ±2⁶⁰, which keeps the arithmetic below from
// overflowing while keeping the order of all numbers anyone can write.
func (n *numLit[T]) clampedExp() int64 {
	const lim = 1 << 60
	e, ok := n.exp()
	switch {
	case !ok && n.lit[n.e0] == '-', e < -lim:
		return -lim
	case !ok, e > lim:
		return lim
	}
	return e
}

// isInteger reports whether the literal is an integer the way the reference validator decides
// it: big.Rat.SetString must accept it (exponent within int64 and, for non-zero values, a
// decimal scale within ±10⁶), and the value must be integral. So 1.0 and 1e2 are integers in
// draft-04 and draft-06 alike, while 1.5 is not.
func isInteger(lit []byte) bool {
	n := parseLit(lit)
	e, ok := n.exp()
	if !ok {
		return false
	}
	_, last, zero := n.sig()
	if zero {
		return true
	}
	frac := int64(n.f1 - n.f0)
	if e < 0 && e-frac > 0 { // overflow: the scale is hugely negative
		return false
	}
	scale := e - frac
	if scale > 1e6 || scale < -1e6 {
		return false
	}
	if scale >= 0 {
		return true
	}
	trailingZeros := int64(n.ndigits() - 1 - last)
	return trailingZeros >= -scale
}

// decimal is a number as ±0.d₁d₂…dₖ × 10^point with d₁ ≠ 0.
type decimal[T string | []byte] struct {
	numLit[T]
	first, last int
	zero        bool
	point       int64
}

func makeDecimal[T string | []byte](lit T) decimal[T] {
	d := decimal[T]{numLit: parseLit(lit)}
	d.first, d.last, d.zero = d.sig()
	d.point = int64(d.i1-d.i0) - int64(d.first) + d.clampedExp()
	return d
}

func (d *decimal[T]) sign() int {
	switch {
	case d.zero:
		return 0
	case d.neg:
		return -1
	}
	return 1
}

// compareDecimal compares two JSON number literals exactly: -1, 0 or +1.
func compareDecimal[A, B string | []byte](a A, b B) int {
	x, y := makeDecimal(a), makeDecimal(b)
	sx, sy := x.sign(), y.sign()
	if sx != sy || sx == 0 {
		return cmpInt(sx, sy)
	}
	c := 0
	if x.point != y.point {
		c = cmpInt64(x.point, y.point)
	} else {
		nx, ny := x.last-x.first+1, y.last-y.first+1
		for k := 0; k < max(nx, ny) && c == 0; k++ {
			dx, dy := byte('0'), byte('0')
			if k < nx {
				dx = x.digit(x.first + k)
			}
			if k < ny {
				dy = y.digit(y.first + k)
			}
			c = cmpInt(int(dx), int(dy))
		}
	}
	return c * sx
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// isMultiple reports whether the value lit is an integral multiple of m (a positive literal).
// With v = Dv·10^ev and m = Dm·10^em (Dv, Dm without trailing zeros), v/m = Dv/Dm · 10^(ev-em).
// Working on that form keeps the cost independent of the exponent: 1e999999 would take
// math/big tens of milliseconds to expand.
func isMultiple(lit []byte, m string) bool {
	v, d := makeDecimal(lit), makeDecimal(m)
	if v.zero {
		return true
	}
	if d.zero || d.neg {
		return false // the generator only writes positive multipleOf values
	}
	k := v.point - int64(v.last-v.first+1) - (d.point - int64(d.last-d.first+1))
	if k < 0 {
		// Dv/Dm · 10^k with k < 0 is integral only if 10 divides Dv, which has no trailing zeros.
		return false
	}
	if d.first == d.last && d.digit(d.first) == '1' {
		return true // m is a power of ten; every multipleOf in OCPP (0.1) takes this path
	}
	dv, dm := v.mantissa(), d.mantissa()
	r := new(big.Int).Exp(big.NewInt(10), big.NewInt(k), dm)
	r.Mul(r, dv)
	return r.Mod(r, dm).Sign() == 0
}

// mantissa returns the significant digits as an integer.
func (d *decimal[T]) mantissa() *big.Int {
	digits := make([]byte, 0, d.last-d.first+1)
	for k := d.first; k <= d.last; k++ {
		digits = append(digits, d.digit(k))
	}
	n, _ := new(big.Int).SetString(string(digits), 10)
	return n
}

package schema

import (
	"net/netip"
	"net/url"
	"strings"
)

// The format checks reproduce the reference validator (github.com/santhosh-tekuri/jsonschema/v6)
// byte for byte, quirks included, because a payload must get the same verdict from us as from
// the official schema. Known quirks kept on purpose: a two-character time field may carry a sign
// ("+1" reads as 1, "-0" as 0, as strconv.Atoi reads them), and a leap second (:60) is accepted
// when it falls on 23:59 UTC. time.Time rejects both, so such a payload passes validation but
// fails to decode; that is the decoder's call to make.

// validDateTime checks RFC 3339 date-time: a full date, 'T', a full time and a mandatory
// offset ('Z' or ±hh:mm). Lower-case 't' and 'z' are allowed, as RFC 3339 allows them.
func validDateTime(s []byte) bool {
	if len(s) < 20 { // yyyy-mm-ddThh:mm:ssZ
		return false
	}
	if s[10] != 't' && s[10] != 'T' {
		return false
	}
	return validDate(s[:10]) && validTime(s[11:])
}

// validDate checks yyyy-mm-dd with a day that exists in that month (time.Parse's rules).
func validDate(s []byte) bool {
	for i, c := range s {
		if i == 4 || i == 7 {
			if c != '-' {
				return false
			}
		} else if !isDigit(c) {
			return false
		}
	}
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(s[0:4]), num(s[5:7]), num(s[8:10])
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}

// atoi2 reads a two-character field as strconv.Atoi does: two digits, or a sign and a digit.
// Negative values are rejected by every caller, so they come back as not ok.
func atoi2(b []byte) (int, bool) {
	switch {
	case isDigit(b[0]) && isDigit(b[1]):
		return int(b[0]-'0')*10 + int(b[1]-'0'), true
	case b[0] == '+' && isDigit(b[1]):
		return int(b[1] - '0'), true
	case b[0] == '-' && b[1] == '0':
		return 0, true
	}
	return 0, false
}

// validTime checks hh:mm:ss[.frac](Z|±hh:mm), including the leap-second rule.
func validTime(s []byte) bool {
	if len(s) < 9 {
		return false
	}
	if s[2] != ':' || s[5] != ':' {
		return false
	}
	h, ok1 := atoi2(s[0:2])
	m, ok2 := atoi2(s[3:5])
	sec, ok3 := atoi2(s[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 60 {
		return false
	}
	s = s[8:]
	if len(s) > 0 && s[0] == '.' {
		n := 1
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		if n == 1 {
			return false
		}
		s = s[n:]
	}
	if len(s) != 1 || (s[0] != 'Z' && s[0] != 'z') {
		if len(s) != 6 {
			return false
		}
		var sign int
		switch s[0] {
		case '+':
			sign = -1
		case '-':
			sign = +1
		default:
			return false
		}
		if s[3] != ':' {
			return false
		}
		zh, ok1 := atoi2(s[1:3])
		zm, ok2 := atoi2(s[4:6])
		if !ok1 || !ok2 || zh > 23 || zm > 59 {
			return false
		}
		// The leap-second rule applies in UTC.
		hm := h*60 + m + sign*(zh*60+zm)
		if hm < 0 {
			hm += 24 * 60
		}
		h, m = hm/60, hm%60
	}
	if sec >= 60 && (h != 23 || m != 59) {
		return false
	}
	return true
}

// validURI checks an absolute URI as net/url parses it, with a bracketed, zone-free IPv6 host.
func validURI(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	if host := u.Hostname(); strings.Contains(host, ":") {
		if !strings.Contains(u.Host, "[") || !strings.Contains(u.Host, "]") {
			return false
		}
		addr, err := netip.ParseAddr(host)
		if err != nil || addr.Zone() != "" {
			return false
		}
	}
	return u.IsAbs()
}

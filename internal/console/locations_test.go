package console

import (
	"fmt"
	"testing"
)

func TestParseHours(t *testing.T) {
	h, err := parseHours(false, "Mon-Wed 08:00-12:00\r\n\n sat 09:00-24:00 ")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(h.Regular); got != "[{1 08:00 12:00} {2 08:00 12:00} {3 08:00 12:00} {6 09:00 24:00}]" {
		t.Errorf("periods %s", got)
	}
	if err := h.Validate(); err != nil {
		t.Errorf("domain refuses them: %v", err)
	}
	if all, text := hoursText(h); all || text != "Mon 08:00-12:00\nTue 08:00-12:00\nWed 08:00-12:00\nSat 09:00-24:00" {
		t.Errorf("written back as %v %q", all, text)
	}
	if h, err := parseHours(true, ""); err != nil || !h.TwentyFourSeven {
		t.Errorf("24/7: %v %v", h, err)
	}
	if h, err := parseHours(false, "  "); err != nil || h != nil {
		t.Errorf("no hours: %v %v", h, err)
	}
	for _, bad := range []string{"weekdays", "Mon 08:00", "Fri-Mon 08:00-10:00", "Xyz 08:00-10:00"} {
		if _, err := parseHours(false, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := parseHours(true, "Mon 08:00-10:00"); err == nil {
		t.Errorf("24/7 and periods accepted together")
	}
}

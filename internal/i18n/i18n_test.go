package i18n

import (
	"testing"
	"time"
)

func TestDates(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		got, want string
	}{
		{NL.Date(at), "1 december 2026"},
		{EN.Date(at), "1 December 2026"},
		{NL.DateTime(at, ams), "1 december 2026, 09:00"},
		{EN.DateTime(at, nil), "1 December 2026, 08:00"},
		{Lang("xx").Date(at), "1 december 2026"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	for in, want := range map[string]Lang{"": NL, "nl": NL, "EN": EN, "en_GB": EN, "de": NL} {
		if got := Parse(in); got != want {
			t.Errorf("Parse(%q) = %q, want %q", in, got, want)
		}
	}
}

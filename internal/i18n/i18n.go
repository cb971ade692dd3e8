// Package i18n holds what every page and email shares about languages: the
// supported languages and dates written the way people write them.
//
// Strings themselves live beside the pages that use them, one catalog per
// page family, each with an entry per language; tests check that no page
// mixes languages.
package i18n

import (
	"strconv"
	"strings"
	"time"
)

// Lang is a supported language.
type Lang string

// The supported languages. Dutch is the default.
const (
	NL Lang = "nl"
	EN Lang = "en"
)

// Parse returns the language s names ("nl", "en", "nl-NL", "en_GB", any
// case), or NL.
func Parse(s string) Lang {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.HasPrefix(s, "en") {
		return EN
	}
	return NL
}

var months = map[Lang][12]string{
	NL: {"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
	EN: {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
}

// Date writes t's calendar day: "1 december 2026" in Dutch, "1 December
// 2026" in English.
func (l Lang) Date(t time.Time) string {
	m := months[l]
	if m[0] == "" {
		m = months[NL]
	}
	return strconv.Itoa(t.Day()) + " " + m[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// DateTime writes t in loc (UTC when nil): "1 december 2026, 09:00".
func (l Lang) DateTime(t time.Time, loc *time.Location) string {
	if loc != nil {
		t = t.In(loc)
	}
	return l.Date(t) + ", " + t.Format("15:04")
}

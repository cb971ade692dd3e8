package render

import (
	"html"
	"strings"
	"testing"
	"unicode/utf8"
)

// appendValue copies runs of plain bytes at once; whatever the input, the
// result is the input with control characters as spaces, invalid UTF-8 as
// U+FFFD and, escaped, the HTML specials as entities that unescape to
// the same text.
func FuzzAppendValue(f *testing.F) {
	for _, s := range []string{"", "Partner <1> & \"zn\"", "l'école\x00\n\x7f", "\xff\xfe\xe2\x82", "https://example.org/u/abc?x=1&y=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return ' '
			}
			return r
		}, strings.ToValidUTF8(s, "\uFFFD"))
		// strings.ToValidUTF8 folds a run of invalid bytes into one
		// replacement; appendValue replaces each byte.
		raw := string(appendValue(nil, s, false))
		if !utf8.ValidString(raw) || strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("appendValue(%q) = %q: control characters or invalid UTF-8 left", s, raw)
		}
		if utf8.ValidString(s) && raw != want {
			t.Fatalf("appendValue(%q) = %q, want %q", s, raw, want)
		}
		esc := string(appendValue(nil, s, true))
		if strings.ContainsAny(esc, `<>"'`) || html.UnescapeString(esc) != raw {
			t.Fatalf("escaped appendValue(%q) = %q, which is not %q escaped", s, esc, raw)
		}
	})
}

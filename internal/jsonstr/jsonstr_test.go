package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// Whatever the input, Append gives JSON that decodes to what encoding/json
// makes of the same string (invalid UTF-8 included), for both kinds, and
// is valid UTF-8 itself.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", `a"b\c`, "\x00\x1f\n\r\t", "{{lb}}", "é\u2028", "\xff\xfe half \xe2\x82", "x\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, _ := json.Marshal(s)
		var want string
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		for _, b := range [][]byte{Append(nil, s), Append(nil, []byte(s))} {
			var got string
			if !utf8.Valid(b) {
				t.Fatalf("Append(%q) = %q is not valid UTF-8", s, b)
			}
			if err := json.Unmarshal(b, &got); err != nil || got != want {
				t.Fatalf("Append(%q) = %s, decodes to %q (%v), want %q", s, b, got, err, want)
			}
		}
	})
}

// Every byte that needs a look is found at every position of a run of
// plain bytes, whichever of the eight-byte words it falls in.
func TestAppendFindsEveryByteInRuns(t *testing.T) {
	for _, bad := range []string{`"`, `\`, "\x00", "\x1f", "\n", "\x7f", "é", "\xff", "\u2028"} {
		for pos := range 20 {
			s := strings.Repeat("a", pos) + bad + strings.Repeat("b", 20-pos)
			want, _ := json.Marshal(s)
			var w, g string
			_ = json.Unmarshal(want, &w)
			if err := json.Unmarshal(Append(nil, s), &g); err != nil || g != w {
				t.Errorf("Append(%q) = %s, decodes to %q (%v), want %q", s, Append(nil, s), g, err, w)
			}
		}
	}
}

// BenchmarkAppendHTML escapes an email's HTML, mostly runs of plain
// ASCII between the quotes of its attributes, with some Dutch.
func BenchmarkAppendHTML(b *testing.B) {
	html := strings.Repeat(`<td style="font-family: Arial, 'Helvetica Neue', sans-serif; color: #51545E; padding: 0 0 16px;">Beste partner, de volgende bijeenkomst is op 12 maart in Zwolle. Meld je aan via de knop hieronder; we zien je graag daar. Één plek is nog vrij.</td>`+"\n", 200)
	b.SetBytes(int64(len(html)))
	buf := make([]byte, 0, 2*len(html))
	for b.Loop() {
		buf = Append(buf[:0], html)
	}
}

func TestHasControl(t *testing.T) {
	for _, s := range []string{"", "a", "abcdefgh", "abcdefghi", "abcdefg\x1f", "\x00bcdefghijk", "é\x80\xff abcdefgh", "abcdefgh\n", "\x20\x20\x20\x20\x20\x20\x20\x20\x1f"} {
		want := strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 })
		if HasControl(s) != want {
			t.Errorf("HasControl(%q) = %v", s, !want)
		}
	}
}

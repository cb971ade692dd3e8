package jsonstr

import (
	"encoding/json"
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

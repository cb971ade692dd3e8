package redisstore

import (
	"strings"
	"testing"
)

// Any line either is a record restore can write or is refused with a
// reason: never a panic, never a write without a key.
func FuzzParseRecord(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"list","key":"list:a","type":"hash","value":{"name":"A"}}`,
		`{"kind":"x","key":"k","type":"zset","ttl_ms":5,"value":[{"member":"m","score":1.5}]}`,
		`{"kind":"x","key":"aw==","type":"set","base64":true,"value":["/w=="]}`,
		`{"kind":"x","key":"k","type":"list","value":["a","b"]}`,
		`{"kind":"x","key":"k","type":"string","value":"v"}`,
		`{"kind":"x","key":"k","type":"hash","value":[1]}`,
		`{`, ``, `null`,
	} {
		f.Add(seed)
	}
	s := &Store{prefix: "p:"}
	f.Fuzz(func(t *testing.T, line string) {
		op, rec, err := s.parseRecord([]byte(line))
		if err != nil {
			if op != nil || rec != nil {
				t.Fatalf("refused %q but returned a write", line)
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("refused %q without a reason", line)
			}
			return
		}
		if op == nil || rec == nil || rec.Key == "" {
			t.Fatalf("accepted %q without a write or a key", line)
		}
	})
}

package ses

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// The hash of a body whose beginning is the last one's goes on from the
// kept state (which is not replaced), and is the body's SHA-256; another
// beginning replaces the kept state; a short one is not kept.
func TestPayloadHashGoesOnFromTheKeptHead(t *testing.T) {
	p := &protocol{}
	head := `{"DefaultContent":"` + strings.Repeat("x", 2*minHashedHead) + `"`
	want := func(b string) string {
		s := sha256.Sum256([]byte(b))
		return hex.EncodeToString(s[:])
	}
	check := func(body string, head int) {
		t.Helper()
		if got := p.payloadHash([]byte(body), head); got != want(body) {
			t.Fatalf("payloadHash of %d bytes: %s, want %s", len(body), got, want(body))
		}
	}
	check(head+`,"a":1}`, len(head))
	kept := p.hashed.hash
	if kept == nil {
		t.Fatal("no state kept after a long beginning")
	}
	check(head+`,"b":2}`, len(head))
	check(head+`,"c":3}`, len(head))
	if p.hashed.hash != kept {
		t.Error("the same beginning was hashed again instead of going on from the kept state")
	}
	other := strings.Replace(head, "x", "y", 1)
	check(other+`,"a":1}`, len(other))
	if p.hashed.hash == kept || string(p.hashed.head) != other {
		t.Error("another beginning did not replace the kept state")
	}
	check(`{"short":1}`, 5)
	if string(p.hashed.head) != other {
		t.Error("a short beginning replaced the kept state")
	}
}

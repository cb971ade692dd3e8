package address

import (
	"strings"
	"testing"
)

// The ASCII fast path must agree with the IDNA profile wherever it answers.
func FuzzASCIIDomain(f *testing.F) {
	for _, d := range []string{"example.nl", "EXAMPLE.NL", "a-b.nl", "-a.nl", "a-.nl", "ab--c.nl", "xn--bcher-kva.de", "a..b", "", ".", "a.", strings.Repeat("a", 64) + ".nl", "a_b.nl"} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, d string) {
		fast, ok := asciiDomain(d)
		if !ok {
			return
		}
		slow, err := profile.ToASCII(d)
		if err != nil || slow != fast {
			t.Fatalf("asciiDomain(%q) = %q, profile says %q, %v", d, fast, slow, err)
		}
	})
}

func TestASCIIDomainDefersToProfile(t *testing.T) {
	for _, d := range []string{"xn--bcher-kva.de", "ab--cd.nl", "-a.nl", "a-.nl", "a..nl", "bücher.de", "a_b.nl", strings.Repeat("a", 64) + ".nl"} {
		if got, ok := asciiDomain(d); ok {
			t.Errorf("asciiDomain(%q) = %q, want it to defer", d, got)
		}
	}
	if got, ok := asciiDomain("Sub.Example-1.NL"); !ok || got != "sub.example-1.nl" {
		t.Errorf("asciiDomain(Sub.Example-1.NL) = %q, %v", got, ok)
	}
}

package redisstore_test

import (
	"strings"
	"sync"
	"testing"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"newsletter/internal/redisstore"
)

// foldReference is Fold as first written: a new chain for every call.
func foldReference(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Mariëtte":                    "mariette",
		"José Ñúñez-Çelik":            "jose nunez-celik",
		"JAN@Example.ORG":             "jan@example.org",
		"Ångström Øre":                "angstrom øre", // ø is a letter of its own, not o with an accent
		"":                            "",
		"e\u0301":                     "e", // a combining accent, not a precomposed letter
		"Coöperatie \"De Brug\" B.V.": "cooperatie \"de brug\" b.v.",
	} {
		if got := redisstore.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// Fold from many goroutines at once: the pooled chains keep state between
// the bytes of one call, so a chain shared by two calls would mix them.
func TestFoldConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := strings.Repeat("Crème brûlée ", 100+g*37)
			want := foldReference(in)
			for range 200 {
				if got := redisstore.Fold(in); got != want {
					t.Errorf("concurrent Fold differs from the reference for %d bytes", len(in))
					return
				}
			}
		}()
	}
	wg.Wait()
}

func FuzzFold(f *testing.F) {
	for _, s := range []string{"Mariëtte", "plain ascii", "\xff\xfe", "e\u0301\u0301", "ǅemal", "İstanbul"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := redisstore.Fold(s), foldReference(s); got != want {
			t.Errorf("Fold(%q) = %q, reference %q", s, got, want)
		}
	})
}

func BenchmarkFold(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"ascii", "jan.de.vries@example.org\nJan de Vries\nGemeente Utrecht"},
		{"accents", "marie-jose@example.org\nMarie-José Ångström\nCoöperatie Zuid"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				redisstore.Fold(c.s)
			}
		})
		b.Run(c.name+"/reference", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				foldReference(c.s)
			}
		})
	}
}

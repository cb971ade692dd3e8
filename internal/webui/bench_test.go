package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"newsletter"
)

// benchSubscribers is the size of the store the page benchmarks run on.
const benchSubscribers = 100_000

// seedLarge imports n subscribers onto "alle" (every tenth also on
// "regio"), one in a thousand named Mariëtte, one in a hundred
// suppressed.
func seedLarge(b *testing.B, e *env, n int) {
	b.Helper()
	ctx := context.Background()
	for _, l := range []string{"alle", "regio"} {
		if _, err := e.App.CreateList(ctx, newsletter.List{Slug: l, Name: l}); err != nil {
			b.Fatal(err)
		}
	}
	orgs := []string{"Gemeente Zwolle", "ROC Twente", "Basisschool De Linde", "Bouwbedrijf Jansen", "Zorggroep Oost"}
	const part = 10_000
	for start := 0; start < n; start += part {
		var all, regio strings.Builder
		all.WriteString("email,name,organisation,regio\n")
		regio.WriteString("email\n")
		for i := start; i < min(n, start+part); i++ {
			name := fmt.Sprintf("Persoon %d", i)
			if i%1000 == 7 {
				name = fmt.Sprintf("Mariëtte %d", i)
			}
			fmt.Fprintf(&all, "p%06d@example.org,%s,%s,regio-%d\n", i, name, orgs[i%len(orgs)], i%12)
			if i%10 == 0 {
				fmt.Fprintf(&regio, "p%06d@example.org\n", i)
			}
		}
		for list, csv := range map[string]string{"alle": all.String(), "regio": regio.String()} {
			if _, err := e.App.Import(ctx, list, strings.NewReader(csv), newsletter.ImportOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := 3; i < n; i += 100 {
		if _, err := e.App.Suppress(ctx, fmt.Sprintf("p%06d@example.org", i), "bounce"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPagesLargeStore times whole admin pages (HTTP, rendering,
// Redis) over 100,000 subscribers:
//
//	go test -run '^$' -bench PagesLargeStore -benchtime 50x ./internal/webui/
func BenchmarkPagesLargeStore(b *testing.B) {
	e := newEnv(b, false)
	seedLarge(b, e, benchSubscribers)
	c := e.as(newsletter.RoleAdmin, "nl")
	for _, bc := range []struct{ name, path, want string }{
		{"search-rare-accentless", "/admin/subscribers?q=mariette", "Mariëtte"},
		{"search-common-organisation", "/admin/subscribers?q=gemeente+zwolle", "Gemeente Zwolle"},
		{"search-attribute", "/admin/subscribers?q=regio-11", "p000011@example.org"},
		{"subscribers-first-page", "/admin/subscribers", "p000000@example.org"},
		{"list-page", "/admin/lists/alle", "p0"},
		{"lists", "/admin/lists", "regio"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if body := c.mustGet(bc.path); !strings.Contains(body, bc.want) {
				b.Fatalf("%s does not show %q", bc.path, bc.want)
			}
			b.ResetTimer()
			for b.Loop() {
				if st, _ := c.get(bc.path); st != http.StatusOK {
					b.Fatalf("%s: %d", bc.path, st)
				}
			}
		})
	}
}

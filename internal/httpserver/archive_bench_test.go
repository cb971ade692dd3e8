package httpserver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"newsletter/internal/app"
)

// archiveBench fills a store with what made the archive slow: 13 large
// drafts (nobody may see them, so nothing should read them) beside five
// published editions, and returns the handler.
func archiveBench(b *testing.B) (http.Handler, []string) {
	b.Helper()
	ctx := context.Background()
	a := openApp(b, nil)
	mustList(b, a, "bedrijven", who)
	para := strings.Repeat("Dit is een lange alinea over leren en werken in de regio, met een link naar https://example.org/pagina en *nadruk*. ", 40) + "\n\n"
	for i := range 13 {
		md := fmt.Sprintf("---\nsubject: Concept %d\n---\n%s", i, strings.Repeat(para, 120)) // about 1.4 MB each
		if _, _, err := a.CreateEdition(ctx, fmt.Sprintf("concept-%d.md", i), []byte(md)); err != nil {
			b.Fatal(err)
		}
	}
	var ids []string
	for i := range 5 {
		md := fmt.Sprintf("---\nsubject: Nieuwsbrief %d\npreheader: Editie %d\n---\nBeste partners,\n\n%s", i, i, strings.Repeat(para, 6))
		e, _, err := a.CreateEdition(ctx, fmt.Sprintf("editie-%d.md", i), []byte(md))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Publish(ctx, e.ID, []string{"bedrijven"}, app.PublishOptions{}); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	return serve(a, nil), ids
}

// BenchmarkArchive measures one anonymous request to each public archive
// page: go test ./internal/httpserver -run '^$' -bench Archive -benchtime 20x
func BenchmarkArchive(b *testing.B) {
	h, ids := archiveBench(b)
	for _, path := range []string{"/archive/", "/archive/feed.atom", "/archive/" + ids[2]} {
		name := strings.NewReplacer("/archive/"+ids[2], "edition", "/archive/feed.atom", "feed", "/archive/", "index").Replace(path)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rec := do(h, "GET", path, "", nil); rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d", path, rec.Code)
				}
			}
		})
	}
}

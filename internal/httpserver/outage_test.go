package httpserver_test

import (
	"strconv"
	"strings"
	"testing"

	"newsletter/internal/app"
	"newsletter/internal/redisproc"
)

// With Redis gone, every public page answers with a friendly page, and
// nothing of the internals (the Redis address, Go's error text) reaches the
// anonymous visitor.
func TestPublicPagesHideInternalsDuringAnOutage(t *testing.T) {
	t.Parallel()
	srv, err := redisproc.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := openApp(t, func(c *app.Config) { c.RedisURL = srv.URL })
	h := serve(a, nil)
	srv.Close() // Redis goes away
	port := strconv.Itoa(srv.Port)
	pages := []struct{ method, target, body string }{
		{"GET", "/archive/", ""},
		{"GET", "/archive/feed.atom", ""},
		{"GET", "/archive/01abc", ""},
		{"GET", "/subscribe?list=nieuws", ""},
		{"POST", "/subscribe", "list=nieuws&email=a%40example.org"},
		{"GET", "/p/" + tokenOf(a.Links.Preferences("a@example.org")), ""},
		{"POST", "/p/" + tokenOf(a.Links.Preferences("a@example.org")), "list=nieuws"},
		{"POST", "/u/" + tokenOf(a.Links.Unsubscribe("a@example.org", "ed1")), "List-Unsubscribe=One-Click"},
		{"POST", "/c/" + tokenOf(a.Links.Confirm("a@example.org", "nieuws")), "confirm=1"},
	}
	for _, p := range pages {
		rec := do(h, p.method, p.target, p.body, form)
		body := rec.Body.String()
		if rec.Code < 400 {
			t.Errorf("%s %s with Redis down: %d", p.method, p.target, rec.Code)
		}
		for _, leak := range []string{port, "127.0.0.1", "dial", "redis", "Redis", "connection refused"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s %s shows %q to an anonymous visitor: %.300s", p.method, p.target, leak, body)
			}
		}
		if !strings.Contains(body, "<html") {
			t.Errorf("%s %s: not a page: %.200s", p.method, p.target, body)
		}
	}
}

// tokenOf is the last path segment of a signed link.
func tokenOf(link string) string { return link[strings.LastIndex(link, "/")+1:] }

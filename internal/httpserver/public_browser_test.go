package httpserver_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/browsertest"
)

// TestPublicPagesFitPhones opens the public pages in headless Chromium at
// 320, 390 and 600 px: none scrolls sideways; screenshots go to
// screenshots/ (page-NAME-WIDTH.png).
func TestPublicPagesFitPhones(t *testing.T) {
	a := openApp(t, func(c *app.Config) { c.From = "Leerwerkakkoord <nieuwsbrief@leerwerkakkoord.example>" })
	ctx := context.Background()
	for _, l := range []newsletter.List{
		{Slug: "bedrijven", Name: "Partners uit het bedrijfsleven", Description: "Nieuws voor werkgevers, elke maand", Public: true},
		{Slug: "onderwijs", Name: "Partners uit het onderwijs", Public: true, DoubleOptIn: true},
	} {
		if _, err := a.CreateList(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.AddSubscriber(ctx, "bedrijven", app.AddInput{Email: "een.heel.lang.adres.van.een.partner@gemeente-zwijndrecht.example.nl"}); err != nil {
		t.Fatal(err)
	}
	md := "---\nsubject: Nieuwsbrief december: samen doen én leren\npreheader: Een terugblik op het jaar.\ngreeting: Beste {naam},\n---\n" +
		"Het jaar vloog voorbij. Lees alles op https://www.leerwerkakkoord.example.nl/nieuws/2026/december/een-heel-lang-adres-zonder-spaties\n\n## Kennissessie\n\nDonderdag 4 maart.\n"
	e, _, err := a.CreateEdition(ctx, "december.md", []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Publish(ctx, e.ID, []string{"bedrijven"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serve(a, nil))
	defer srv.Close()
	path := func(u string) string {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		return p.Path
	}
	addr := "een.heel.lang.adres.van.een.partner@gemeente-zwijndrecht.example.nl"
	pages := []struct{ name, path string }{
		{"archive-index", "/archive/"},
		{"archive-edition", "/archive/" + e.ID},
		{"unsubscribe", path(a.Links.Unsubscribe(addr, e.ID))},
		{"preferences", path(a.Links.Preferences(addr))},
		{"bad-link", "/p/beschadigd"},
		{"subscribe", "/subscribe"},
		{"subscribe-list", "/subscribe?list=onderwijs&lang=en"},
		{"confirm", path(a.Links.Confirm(addr, "onderwijs"))},
		{"not-found", "/bestaat/niet"},
	}
	bctx := browsertest.New(t)
	for _, w := range []int64{320, 390, 600} {
		if err := chromedp.Do(bctx, browsertest.Width(w)); err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+p.path)); err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			browsertest.NoHorizontalScroll(t, bctx, fmt.Sprintf("%s at %d px", p.name, w))
			browsertest.Screenshot(t, bctx, fmt.Sprintf("page-%s-%d", p.name, w))
		}
	}
	// Unsubscribing through the page, as a partner would: the answer
	// leads on to the preferences and the archive.
	if err := chromedp.Do(bctx, browsertest.Width(390), chromedp.Navigate(srv.URL+pages[2].path),
		chromedp.Click(chromedp.CSS("form button")), chromedp.WaitVisible(chromedp.CSS("p.actions"))); err != nil {
		t.Fatal(err)
	}
	links, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('p.actions a')].map(a => new URL(a.href).pathname)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 || links[0][:3] != "/p/" || links[1] != "/archive/" {
		t.Errorf("unsubscribe-done links %v, want the preferences and the archive", links)
	}
	browsertest.NoHorizontalScroll(t, bctx, "unsubscribe-done at 390 px")
	browsertest.Screenshot(t, bctx, "page-unsubscribe-done-390")
}

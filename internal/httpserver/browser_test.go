package httpserver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/browsertest"
	"newsletter/internal/webui"
)

// A person signs in and out in a real Chromium at phone width; a page
// on another site that posts a forged form to the API, with the signed-in
// browser's cookie riding along, is refused.
func TestBrowserSignInAndForgedPost(t *testing.T) {
	ctx := browsertest.New(t)
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	defer srv.Close()
	a := openApp(t, func(c *app.Config) { c.BaseURL = srv.URL })
	mustList(t, a, "bedrijven", "")
	account(t, a, "baas@example.org", newsletter.RoleAdmin)
	s := serverFor(a, nil)
	s.Admin = webui.New(a, webui.Options{Logger: discard}) // as `serve` mounts them
	srv.Config.Handler = s.Handler()

	if err := chromedp.Do(ctx, browsertest.Width(390), chromedp.Navigate(srv.URL+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`))); err != nil {
		t.Fatal(err)
	}
	browsertest.NoHorizontalScroll(t, ctx, "sign-in page at 390 px")
	browsertest.Screenshot(t, ctx, "login-390")
	if err := chromedp.Do(ctx, browsertest.Width(1280), chromedp.Navigate(srv.URL+"/admin/login?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`))); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "login-en-1280")
	if err := chromedp.Do(ctx, browsertest.Width(390), chromedp.Navigate(srv.URL+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "baas@example.org"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`main .who`))); err != nil {
		t.Fatal(err)
	}
	// innerText by script, not by node id: the page may still be settling.
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
	if err != nil || !strings.Contains(body, "Ingelogd als baas@example.org") {
		t.Fatalf("after sign-in: %q %v", body, err)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if loc != srv.URL+"/admin/" {
		t.Errorf("after sign-in the browser is at %s, want the page it asked for", loc)
	}

	// Another origin (another port is another origin, and the same site:
	// the Lax cookie goes along) posts the text/plain form.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><form id="f" method="post" enctype="text/plain" action="` + srv.URL + `/api/v1/suppressions">` +
			`<input name='{"email":"sneaky@example.org","reason":"sneaky","x":"' value='"}'></form><script>document.getElementById("f").submit()</script>`))
	}))
	defer evil.Close()
	// The answer is JSON, which Chromium shows in a <pre>; the evil page
	// has none.
	if err := chromedp.Do(ctx, chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.CSS("pre"))); err != nil {
		t.Fatal(err)
	}
	answer, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("pre")))
	if !strings.Contains(answer, "cross-origin request refused") {
		t.Errorf("the forged post's answer: %q", answer)
	}
	if sp, err := a.Suppressions(context.Background()); err != nil || len(sp) != 0 {
		t.Fatalf("the forged post suppressed: %v %v", sp, err)
	}

	// Sign out.
	// At 390 px the sign-out button is in the menu.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/admin/"),
		chromedp.Click(chromedp.CSS(`.menu-label`)),
		chromedp.Click(chromedp.CSS(`form[action="/admin/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=password]`))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/admin/"), chromedp.WaitVisible(chromedp.CSS(`input[name=password]`))); err != nil {
		t.Fatalf("after sign-out /admin/ does not ask to sign in: %v", err)
	}
}

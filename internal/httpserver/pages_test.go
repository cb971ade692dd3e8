package httpserver_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/app"
)

const who = "jan@example.org"

// unsubscribePath returns the path of who's unsubscribe link, as put in
// an edition's email.
func unsubscribePath(t *testing.T, a *app.App) string {
	t.Helper()
	u, err := url.Parse(a.Links.Unsubscribe(who, "ed1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.Path, "/u/") {
		t.Fatalf("unsubscribe link %s is not under /u/", u)
	}
	return u.Path
}

// GET shows a confirm button and changes nothing: link scanners fetch
// every link in an email.
func TestUnsubscribeGetOnlyAsks(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	mustList(t, a, "bedrijven", who)
	h := serve(a, nil)
	p := unsubscribePath(t, a)
	for range 2 {
		rec := do(h, "GET", p, "", nil)
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, rec.Code, body)
		}
		if !strings.Contains(body, `<form method="post"`) || !strings.Contains(body, `<button type="submit">`) || !strings.Contains(body, who) {
			t.Errorf("GET page has no confirm button for %s:\n%s", who, body)
		}
	}
	if do(h, "HEAD", p, "", nil).Code != http.StatusOK {
		t.Error("HEAD of the unsubscribe page failed")
	}
	if s := subscriberStatus(t, a, who); s != newsletter.SubscriberActive {
		t.Errorf("status %s after GETs, want active", s)
	}
	d, _ := a.ShowSubscriber(context.Background(), who)
	if d.Lists["bedrijven"] != newsletter.MemberSubscribed {
		t.Errorf("membership %s after GETs, want subscribed", d.Lists["bedrijven"])
	}
}

// RFC 8058: the mail client POSTs List-Unsubscribe=One-Click, without
// cookies, and that alone unsubscribes.
func TestUnsubscribeOneClick(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	mustList(t, a, "bedrijven", who)
	h := serve(a, nil)
	p := unsubscribePath(t, a)
	rec := do(h, "POST", p, "List-Unsubscribe=One-Click", func(r *http.Request) {
		form(r)
		if len(r.Cookies()) != 0 {
			t.Fatal("request carries cookies")
		}
	})
	if rec.Code != http.StatusOK {
		t.Fatalf("one-click POST: %d %s", rec.Code, rec.Body)
	}
	if sc := rec.Result().Cookies(); len(sc) != 0 {
		t.Errorf("one-click answer sets cookies: %v", sc)
	}
	if s := subscriberStatus(t, a, who); s != newsletter.SubscriberUnsubscribed {
		t.Errorf("status %s after one-click, want unsubscribed", s)
	}
	// Again (mail clients retry): still fine.
	if rec := do(h, "POST", p, "List-Unsubscribe=One-Click", form); rec.Code != http.StatusOK {
		t.Errorf("second one-click POST: %d", rec.Code)
	}
}

// A POST that is neither one-click nor the confirm form does nothing.
func TestUnsubscribePostWithoutConfirmation(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	mustList(t, a, "bedrijven", who)
	h := serve(a, nil)
	p := unsubscribePath(t, a)
	for _, body := range []string{"", "List-Unsubscribe=Yes", "list-unsubscribe=one-click"} {
		if rec := do(h, "POST", p, body, form); rec.Code != http.StatusBadRequest {
			t.Errorf("POST %q: %d, want 400", body, rec.Code)
		}
	}
	if s := subscriberStatus(t, a, who); s != newsletter.SubscriberActive {
		t.Errorf("status %s, want active", s)
	}
	if rec := do(h, "POST", p, "confirm=1", form); rec.Code != http.StatusOK {
		t.Errorf("confirm form POST: %d", rec.Code)
	}
	if s := subscriberStatus(t, a, who); s != newsletter.SubscriberUnsubscribed {
		t.Errorf("status %s after the confirm form, want unsubscribed", s)
	}
}

// A token changed by one character is refused with 400 on GET and POST
// and unsubscribes nobody.
func TestUnsubscribeTamperedToken(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	mustList(t, a, "bedrijven", who)
	h := serve(a, nil)
	p := unsubscribePath(t, a)
	tok := strings.TrimPrefix(p, "/u/")
	flip := func(i int) string {
		b := []byte(tok)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, bad := range []string{flip(0), flip(len(tok) / 2), flip(len(tok) - 2), tok[:len(tok)-1], tok + "A", "x"} {
		u := "/u/" + bad
		if rec := do(h, "GET", u, "", nil); rec.Code != http.StatusBadRequest {
			t.Errorf("GET tampered %s: %d, want 400", bad, rec.Code)
		}
		for _, body := range []string{"List-Unsubscribe=One-Click", "confirm=1"} {
			if rec := do(h, "POST", u, body, form); rec.Code != http.StatusBadRequest {
				t.Errorf("POST %q tampered %s: %d, want 400", body, bad, rec.Code)
			}
		}
	}
	// A valid token of another purpose is refused too.
	pu, _ := url.Parse(a.Links.Preferences(who))
	other := "/u/" + strings.TrimPrefix(pu.Path, "/p/")
	if rec := do(h, "POST", other, "List-Unsubscribe=One-Click", form); rec.Code != http.StatusBadRequest {
		t.Errorf("preferences token on /u/: %d, want 400", rec.Code)
	}
	if s := subscriberStatus(t, a, who); s != newsletter.SubscriberActive {
		t.Errorf("status %s after tampered tokens, want active", s)
	}
}

func mustEdition(t *testing.T, a *app.App, subject string) *newsletter.Edition {
	t.Helper()
	md := "---\nsubject: " + subject + "\nauthor: Fleur de Wit\n---\nBeste partners, dit is " + subject + ".\n"
	e, _, err := a.CreateEdition(context.Background(), strings.ReplaceAll(subject, " ", "-")+".md", []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The archive shows editions that went out, never drafts.
func TestArchiveOnlyPublished(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	ctx := context.Background()
	mustList(t, a, "bedrijven", who)
	pub := mustEdition(t, a, "Gepubliceerd nummer")
	draft := mustEdition(t, a, "Geheim concept")
	if _, err := a.Publish(ctx, pub.ID, []string{"bedrijven"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	h := serve(a, nil)

	rec := do(h, "GET", "/archive/", "", nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /archive/: %d", rec.Code)
	}
	if !strings.Contains(body, `href="/archive/`+pub.ID+`"`) || !strings.Contains(body, "Gepubliceerd nummer") {
		t.Errorf("archive index does not list the published edition %s:\n%s", pub.ID, body)
	}
	if strings.Contains(body, draft.ID) || strings.Contains(body, "Geheim concept") {
		t.Errorf("archive index lists the draft %s:\n%s", draft.ID, body)
	}

	feed := do(h, "GET", "/archive/feed.atom", "", nil).Body.String()
	if !strings.Contains(feed, pub.ID) || strings.Contains(feed, draft.ID) || strings.Contains(feed, "Geheim concept") {
		t.Errorf("feed must list %s and not the draft %s:\n%s", pub.ID, draft.ID, feed)
	}

	if rec := do(h, "GET", "/archive/"+pub.ID, "", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Gepubliceerd nummer") {
		t.Errorf("GET published edition: %d", rec.Code)
	}
	if rec := do(h, "GET", "/archive/"+draft.ID, "", nil); rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "Geheim concept") {
		t.Errorf("GET draft: %d %s, want 404 without its content", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/archive/no-such-edition", "", nil); rec.Code != http.StatusNotFound {
		t.Errorf("GET unknown edition: %d, want 404", rec.Code)
	}
	// A cancelled edition leaves the archive.
	if _, err := a.Cancel(ctx, pub.ID); err != nil {
		t.Fatal(err)
	}
	if rec := do(h, "GET", "/archive/"+pub.ID, "", nil); rec.Code != http.StatusNotFound {
		t.Errorf("GET cancelled edition: %d, want 404", rec.Code)
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	h := serve(a, nil)
	rec := do(h, "GET", "/healthz", "", nil)
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "ok" {
		t.Errorf("/healthz: %d %q, want 200 ok", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/readyz", "", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "redis: ok") {
		t.Errorf("/readyz: %d %q, want 200 redis: ok", rec.Code, rec.Body)
	}
	// Redis gone: not ready, still alive.
	_ = a.Close()
	if rec := do(h, "GET", "/readyz", "", nil); rec.Code != http.StatusServiceUnavailable || rec.Body.String() != "redis: not ready (the cause is in the log)\n" {
		t.Errorf("/readyz with Redis closed: %d %q, want 503 that names no cause (a public page: the cause is logged)", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/healthz", "", nil); rec.Code != http.StatusOK {
		t.Errorf("/healthz with Redis closed: %d, want 200 (the process is alive)", rec.Code)
	}
}

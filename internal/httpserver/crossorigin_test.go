package httpserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/token"
)

func crossSite(r *http.Request)  { r.Header.Set("Sec-Fetch-Site", "cross-site") }
func evilOrigin(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }

func both(fs ...func(*http.Request)) func(*http.Request) {
	return func(r *http.Request) {
		for _, f := range fs {
			f(r)
		}
	}
}

// A browser's state-changing request from another site is refused with
// 403, whatever credentials ride along; the same request from this site
// (or from a client that sends no Origin) goes through.
func TestCrossOriginRefused(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	mustList(t, a, "bedrijven", "")
	account(t, a, "baas@example.org", newsletter.RoleAdmin)
	h := serve(a, nil)
	c, csrf := login(t, a, h, "baas@example.org")
	session := withCookie(c, func(r *http.Request) {
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-CSRF-Token", csrf)
	})
	for name, set := range map[string]func(*http.Request){
		"Origin, bearer":                 both(bearer(testToken), evilOrigin),
		"Sec-Fetch-Site, bearer":         both(bearer(testToken), crossSite),
		"Origin, session":                both(session, evilOrigin),
		"Sec-Fetch-Site, session":        both(session, crossSite),
		"same-site (another subdomain)":  both(session, func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-site") }),
		"Origin with another port":       both(session, func(r *http.Request) { r.Header.Set("Origin", "https://example.com:8443") }),
		"Origin null (sandboxed iframe)": both(session, func(r *http.Request) { r.Header.Set("Origin", "null") }),
	} {
		for _, p := range []string{"POST /api/v1/lists", "POST /api/v1/suppressions", "POST /api/v1/subscribers"} {
			methods, path := concrete(p)
			rec := do(h, methods[0], path, bodyFor(p), set)
			if rec.Code != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", name, p, rec.Code)
			}
		}
	}
	// A cross-site form post to a public form and to sign-in.
	if rec := do(h, "POST", "/subscribe", "list=bedrijven&email=x@example.org", both(form, crossSite)); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site subscribe: %d", rec.Code)
	}
	if rec := do(h, "POST", "/admin/login", "email=baas@example.org&password="+url.QueryEscape(testPassword), both(form, evilOrigin)); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %d", rec.Code)
	}
	wantUntouched(t, a)
	// From this site's own pages it works.
	sameOrigin := both(session, func(r *http.Request) {
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Origin", "https://example.com")
	})
	if rec := do(h, "POST", "/api/v1/lists", bodyFor("POST /api/v1/lists"), sameOrigin); rec.Code != http.StatusCreated {
		t.Errorf("same-origin: %d %s", rec.Code, rec.Body)
	}
	// Reading across origins is not a change.
	if rec := do(h, "GET", "/api/v1/lists", "", both(bearer(testToken), crossSite)); rec.Code != http.StatusOK {
		t.Errorf("cross-site GET: %d", rec.Code)
	}
}

// The attack from the issue: a page on another site posts a text/plain
// form to the API while the browser holds HTTP Basic credentials. It no
// longer creates a suppression, with or without the browser's headers.
func TestTextPlainFormAttack(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	mustList(t, a, "bedrijven", "")
	h := serve(a, nil)
	// What an HTML form with enctype=text/plain and one field named
	// `{"email":"sneaky@example.org","reason":"sneaky","x":"` sends.
	body := `{"email":"sneaky@example.org","reason":"sneaky","x":"="}`
	plain := func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }
	for name, set := range map[string]func(*http.Request){
		"modern browser": both(plain, basic("admin", testToken), crossSite, evilOrigin),
		"old browser":    both(plain, basic("admin", testToken), evilOrigin),
		"no headers":     both(plain, basic("admin", testToken)),
	} {
		rec := do(h, "POST", "/api/v1/suppressions", body, set)
		if rec.Code != http.StatusForbidden && rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401 or 403", name, rec.Code)
		}
	}
	wantUntouched(t, a)
}

// Mail providers send the RFC 8058 one-click POST from their servers, and
// webmail from its own pages: it must work across origins.
func TestOneClickUnsubscribeAcrossOrigins(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	mustList(t, a, "bedrijven", "jan@example.org")
	h := serve(a, nil)
	tok := a.Links.Signer.Sign(token.Claims{Purpose: token.Unsubscribe, Email: "jan@example.org", Edition: "ed1"})
	webmail := both(form, crossSite, func(r *http.Request) { r.Header.Set("Origin", "https://mail.example.net") })
	rec := do(h, "POST", "/u/"+tok, "List-Unsubscribe=One-Click", webmail)
	if rec.Code != http.StatusOK {
		t.Fatalf("one-click from another origin: %d %s", rec.Code, rec.Body)
	}
	if st := subscriberStatus(t, a, "jan@example.org"); st != newsletter.SubscriberUnsubscribed {
		t.Errorf("status after one-click: %s", st)
	}
	// The confirmation page's own form on another path is still guarded.
	ptok := a.Links.Signer.Sign(token.Claims{Purpose: token.Preferences, Email: "jan@example.org"})
	if rec := do(h, "POST", "/p/"+ptok, "list=bedrijven", both(form, crossSite)); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site preferences post: %d, want 403", rec.Code)
	}
}

// Changes a person makes are in the audit log, with who; GET
// /api/v1/audit is for admins.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	ctx := context.Background()
	mustList(t, a, "bedrijven", "")
	admin := tokenFor(t, a, "baas@example.org", newsletter.RoleAdmin)
	editor := tokenFor(t, a, "schrijver@example.org", newsletter.RoleEditor)
	h := serve(a, nil)
	for _, req := range []struct{ method, path, body, tok string }{
		{"POST", "/api/v1/subscribers", `{"email":"Jan@Example.org","list":"bedrijven"}`, admin},
		{"POST", "/api/v1/suppressions", `{"email":"jan@example.org","reason":"asked by phone"}`, admin},
		{"POST", "/api/v1/lists", `{"slug":"onderwijs","name":"Onderwijs"}`, testToken},
	} {
		if rec := do(h, req.method, req.path, req.body, bearer(req.tok)); rec.Code >= 300 {
			t.Fatalf("%s %s: %d %s", req.method, req.path, rec.Code, rec.Body)
		}
	}
	if rec := do(h, "GET", "/api/v1/audit", "", bearer(editor)); rec.Code != http.StatusForbidden {
		t.Errorf("editor reads the audit log: %d", rec.Code)
	}
	rec := do(h, "GET", "/api/v1/audit?limit=10", "", bearer(admin))
	var page newsletter.AuditPage
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("audit: %d %s", rec.Code, rec.Body)
	}
	var got []string
	for _, e := range page.Entries {
		got = append(got, e.Actor+" "+e.Action+" "+e.Target)
	}
	want := []string{
		"admin-token list.create onderwijs",
		"baas@example.org suppression.add jan@example.org",
		"baas@example.org subscriber.add jan@example.org",
	}
	if len(got) < len(want) || strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Errorf("audit entries:\n%s\nwant first\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A subscriber's history; erasing the address erases it too.
	hist, err := a.AuditFor(ctx, "JAN@example.org", 10)
	if err != nil || len(hist) != 2 || hist[0].Action != "suppression.add" || !strings.Contains(string(hist[0].After), "asked by phone") {
		t.Fatalf("history: %+v %v", hist, err)
	}
	if rec := do(h, "DELETE", "/api/v1/subscribers/jan@example.org", "", bearer(admin)); rec.Code != http.StatusOK {
		t.Fatalf("erase: %d %s", rec.Code, rec.Body)
	}
	if hist, _ := a.AuditFor(ctx, "jan@example.org", 10); len(hist) != 0 {
		t.Errorf("history after erasure: %+v", hist)
	}
	rec = do(h, "GET", "/api/v1/audit?action=subscriber.", "", bearer(admin))
	if b := rec.Body.String(); strings.Contains(b, "jan@example.org") || !strings.Contains(b, "subscriber.erase") {
		t.Errorf("audit log after erasure: %s", b)
	}
	if rec := do(h, "GET", "/api/v1/audit?cursor=nope", "", bearer(admin)); rec.Code != http.StatusBadRequest {
		t.Errorf("bad cursor: %d", rec.Code)
	}
}

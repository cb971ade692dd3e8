package httpserver_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/httpserver"
	"newsletter/internal/webctx"
)

const testPassword = "paard batterij nietje"

// account adds an account with testPassword.
func account(t *testing.T, a *app.App, email string, role newsletter.Role) {
	t.Helper()
	fastHashes(a)
	if _, err := a.AddAccount(context.Background(), email, role, testPassword); err != nil {
		t.Fatal(err)
	}
}

// loginForm posts the sign-in form; setup may add headers or cookies.
func loginForm(h http.Handler, email, pw string, setup func(*http.Request)) *httptest.ResponseRecorder {
	body := url.Values{"email": {email}, "password": {pw}, "next": {"/admin/editions"}}.Encode()
	return do(h, "POST", "/admin/login", body, func(r *http.Request) {
		form(r)
		r.RemoteAddr = "192.0.2.7:4321"
		if setup != nil {
			setup(r)
		}
	})
}

// sessionCookie returns the session cookie a response sets.
func sessionCookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if strings.HasSuffix(c.Name, "nl_session") && c.Value != "" {
			return c
		}
	}
	t.Fatalf("no session cookie in %d %v", rec.Code, rec.Header())
	return nil
}

// login signs in and returns the session cookie and its form token.
func login(t *testing.T, a *app.App, h http.Handler, email string) (*http.Cookie, string) {
	t.Helper()
	rec := loginForm(h, email, testPassword, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/editions" {
		t.Fatalf("sign-in: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	c := sessionCookie(t, rec)
	s, err := a.SessionFor(context.Background(), c.Value)
	if err != nil {
		t.Fatal(err)
	}
	return c, s.CSRF
}

func withCookie(c *http.Cookie, more func(*http.Request)) func(*http.Request) {
	return func(r *http.Request) {
		r.AddCookie(c)
		if more != nil {
			more(r)
		}
	}
}

func TestCookieFlags(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"https://nieuwsbrief.example.org", "http://127.0.0.1:8080"} {
		a := openApp(t, func(c *app.Config) { c.BaseURL = base })
		account(t, a, "baas@example.org", newsletter.RoleAdmin)
		h := serve(a, nil)
		rec := loginForm(h, "baas@example.org", testPassword, nil)
		c := sessionCookie(t, rec)
		secure := strings.HasPrefix(base, "https")
		if c.Secure != secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
			t.Errorf("%s: cookie %+v: want HttpOnly, SameSite=Lax, Path=/, no Domain, Secure=%v", base, c, secure)
		}
		if want := httpserver.CookieName(secure); c.Name != want {
			t.Errorf("%s: cookie name %q, want %q", base, c.Name, want)
		}
		raw := rec.Header().Get("Set-Cookie")
		if secure != strings.Contains(raw, "; Secure") || !strings.Contains(raw, "; HttpOnly") || !strings.Contains(raw, "; SameSite=Lax") {
			t.Errorf("%s: Set-Cookie %q", base, raw)
		}
		if c.MaxAge != 0 || !c.Expires.IsZero() {
			t.Errorf("%s: the cookie outlives the browser session: %+v", base, c)
		}
	}
}

// A session id the client had before signing in, planted or its own,
// is never the one after: each sign-in makes a new id and ends the old.
func TestSessionFixation(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	account(t, a, "baas@example.org", newsletter.RoleAdmin)
	h := serve(a, nil)
	name := httpserver.CookieName(true)
	planted := &http.Cookie{Name: name, Value: "planted-by-an-attacker-0123456789"}
	rec := loginForm(h, "baas@example.org", testPassword, func(r *http.Request) { r.AddCookie(planted) })
	c := sessionCookie(t, rec)
	if c.Value == planted.Value {
		t.Fatal("the planted session id was promoted")
	}
	if rec := do(h, "GET", "/api/v1/me", "", withCookie(planted, nil)); rec.Code != http.StatusUnauthorized {
		t.Errorf("the planted id works after sign-in: %d", rec.Code)
	}
	// Signing in again while signed in: a new id, and the old one ends.
	rec = loginForm(h, "baas@example.org", testPassword, func(r *http.Request) { r.AddCookie(c) })
	c2 := sessionCookie(t, rec)
	if c2.Value == c.Value {
		t.Fatal("a second sign-in kept the session id")
	}
	if _, err := a.SessionFor(context.Background(), c.Value); err == nil {
		t.Error("the session before the second sign-in still works")
	}
	if rec := do(h, "GET", "/api/v1/me", "", withCookie(c2, nil)); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "baas@example.org") {
		t.Errorf("the new session: %d %s", rec.Code, rec.Body)
	}
}

// clock is a settable a.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock(a *app.App) *clock {
	c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	a.Now = c.now
	return c
}
func works(h http.Handler, c *http.Cookie) bool {
	return do(h, "GET", "/api/v1/me", "", withCookie(c, nil)).Code == http.StatusOK
}

func TestSessionIdleExpiry(t *testing.T) {
	t.Parallel()
	a := openApp(t, func(c *app.Config) { c.SessionIdle = 2 * time.Hour; c.SessionMax = 12 * time.Hour })
	clk := newClock(a)
	account(t, a, "baas@example.org", newsletter.RoleAdmin)
	h := serve(a, nil)
	c, _ := login(t, a, h, "baas@example.org")
	clk.add(2*time.Hour - time.Minute)
	if !works(h, c) {
		t.Fatal("the session ended before it was idle for 2 h")
	}
	// That request counted: 2 h idle from now, not from sign-in.
	clk.add(2*time.Hour - time.Minute)
	if !works(h, c) {
		t.Fatal("a used session ended 2 h after sign-in instead of 2 h after its last use")
	}
	clk.add(2 * time.Hour)
	if works(h, c) {
		t.Fatal("the session works after 2 h idle")
	}
	// It is gone, not only refused.
	clk.add(-3 * time.Hour)
	if works(h, c) {
		t.Fatal("an idle-expired session works again when the clock goes back: it was not deleted")
	}
}

func TestSessionAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	a := openApp(t, func(c *app.Config) { c.SessionIdle = 2 * time.Hour; c.SessionMax = 12 * time.Hour })
	clk := newClock(a)
	account(t, a, "baas@example.org", newsletter.RoleAdmin)
	h := serve(a, nil)
	c, _ := login(t, a, h, "baas@example.org")
	for i := 0; i < 11; i++ {
		clk.add(time.Hour)
		if !works(h, c) {
			t.Fatalf("the session ended after %d h of use", i+1)
		}
	}
	clk.add(time.Hour)
	if works(h, c) {
		t.Fatal("the session works 12 h after sign-in")
	}
	if rec := do(h, "GET", "/admin/editions", "", withCookie(c, nil)); rec.Code != http.StatusSeeOther {
		t.Errorf("an expired session's page request: %d, want a redirect to sign in", rec.Code)
	} else if !strings.Contains(rec.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("the expired cookie is not cleared: %q", rec.Header().Get("Set-Cookie"))
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	account(t, a, "baas@example.org", newsletter.RoleAdmin)
	h := serve(a, nil)
	c, csrf := login(t, a, h, "baas@example.org")
	// Without the form token nobody (no other site) signs you out.
	if rec := do(h, "POST", "/admin/logout", "", withCookie(c, form)); rec.Code != http.StatusForbidden {
		t.Errorf("logout without the form token: %d, want 403", rec.Code)
	}
	if !works(h, c) {
		t.Fatal("a refused logout ended the session")
	}
	rec := do(h, "POST", "/admin/logout", "csrf="+url.QueryEscape(csrf), withCookie(c, form))
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/admin/login") {
		t.Errorf("logout: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if !strings.Contains(rec.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout does not clear the cookie: %q", rec.Header().Get("Set-Cookie"))
	}
	if works(h, c) {
		t.Fatal("the session works after logout")
	}
	if _, err := a.SessionFor(context.Background(), c.Value); err == nil {
		t.Fatal("the session is still stored after logout")
	}
}

// A change made with the session cookie needs the session's form token
// (field or header); token-authenticated requests do not.
func TestSessionChangesNeedFormToken(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	mustList(t, a, "bedrijven", "")
	account(t, a, "baas@example.org", newsletter.RoleAdmin)
	h := serve(a, nil)
	c, csrf := login(t, a, h, "baas@example.org")
	json := func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }
	for name, set := range map[string]func(*http.Request){
		"no token":    json,
		"wrong token": func(r *http.Request) { json(r); r.Header.Set("X-CSRF-Token", csrf[:len(csrf)-1]+"x") },
		"empty token": func(r *http.Request) { json(r); r.Header.Set("X-CSRF-Token", "") },
	} {
		if rec := do(h, "POST", "/api/v1/lists", bodyFor("POST /api/v1/lists"), withCookie(c, set)); rec.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, rec.Code)
		}
	}
	// The page side: a form post to the admin pages without the field.
	if rec := do(h, "POST", "/admin/editions", "title=x", withCookie(c, form)); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Formulier verlopen") {
		t.Errorf("form post without the field: %d %s", rec.Code, rec.Body)
	}
	wantUntouched(t, a)
	if rec := do(h, "POST", "/api/v1/lists", bodyFor("POST /api/v1/lists"), withCookie(c, func(r *http.Request) { json(r); r.Header.Set("X-CSRF-Token", csrf) })); rec.Code != http.StatusCreated {
		t.Errorf("with the header: %d %s", rec.Code, rec.Body)
	}
	// Reading needs no token.
	if rec := do(h, "GET", "/api/v1/lists", "", withCookie(c, nil)); rec.Code != http.StatusOK {
		t.Errorf("GET with the cookie: %d", rec.Code)
	}
}

// The pages behind /admin/ get the signed-in session and the actor.
func TestAdminMount(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	account(t, a, "kijker@example.org", newsletter.RoleViewer)
	s := serverFor(a, nil)
	var got webctx.Session
	var actor newsletter.Account
	s.Admin = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = webctx.From(r.Context())
		actor, _ = app.ActorFrom(r.Context())
		_, _ = io.WriteString(w, "admin page "+r.URL.Path)
	})
	s.AdminRoutes = []httpserver.Route{{Pattern: "POST /admin/editions/{id}/publish", Perm: newsletter.PermEditions,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("a viewer reached publish") })}}
	h := s.Handler()
	rec := do(h, "GET", "/admin/editions?state=draft", "", nil)
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != "/admin/login?next=%2Fadmin%2Feditions%3Fstate%3Ddraft" {
		t.Errorf("anonymous: %d %q", rec.Code, loc)
	}
	c, csrf := login(t, a, h, "kijker@example.org")
	rec = do(h, "GET", "/admin/editions", "", withCookie(c, nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "admin page /admin/editions" {
		t.Fatalf("signed in: %d %s", rec.Code, rec.Body)
	}
	if got.Account.Email != "kijker@example.org" || got.Account.Role != newsletter.RoleViewer || got.CSRF != csrf || got.ID != c.Value || actor.Email != "kijker@example.org" {
		t.Errorf("context: session %+v actor %+v", got, actor)
	}
	// A forged publish from the viewer's own session, form token and all.
	rec = do(h, "POST", "/admin/editions/ed1/publish", "csrf="+url.QueryEscape(csrf), withCookie(c, form))
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Geen toegang") || !strings.Contains(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("viewer publish: %d %s", rec.Code, rec.Body)
	}
	// English for an account that chose it.
	if err := a.SetLang(context.Background(), "kijker@example.org", "en"); err != nil {
		t.Fatal(err)
	}
	if rec := do(h, "POST", "/admin/editions/ed1/publish", "csrf="+url.QueryEscape(csrf), withCookie(c, form)); !strings.Contains(rec.Body.String(), "No access") || strings.Contains(rec.Body.String(), "Geen toegang") {
		t.Errorf("English 403 page: %s", rec.Body)
	}
}

func TestLoginRedirectStaysHere(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	account(t, a, "baas@example.org", newsletter.RoleAdmin)
	h := serve(a, nil)
	for next, want := range map[string]string{
		"/admin/lists?q=a":        "/admin/lists?q=a",
		"//evil.example/admin/":   "/admin/",
		"https://evil.example/":   "/admin/",
		"/\\evil.example":         "/admin/",
		"/archive/":               "/admin/",
		"":                        "/admin/",
		"/admin/login?next=/x":    "/admin/",
		"javascript:alert(1)":     "/admin/",
		"/admin/../../etc/passwd": "/admin/",
		"/admin/./lists":          "/admin/",
	} {
		body := url.Values{"email": {"baas@example.org"}, "password": {testPassword}, "next": {next}}.Encode()
		rec := do(h, "POST", "/admin/login", body, form)
		if loc := rec.Header().Get("Location"); loc != want {
			t.Errorf("next %q: Location %q, want %q", next, loc, want)
		}
	}
}

// The answers to an unknown account and to a wrong password are the
// same, byte for byte (but for the address typed, which the form shows).
func TestLoginMessagesIdentical(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	account(t, a, "baas@example.org", newsletter.RoleAdmin)
	h := serve(a, nil)
	wrong := loginForm(h, "baas@example.org", "niet het wachtwoord", nil)
	unknown := loginForm(h, "niemand@example.org", "niet het wachtwoord", nil)
	invalid := loginForm(h, "geen adres", "niet het wachtwoord", nil)
	if wrong.Code != http.StatusUnauthorized || unknown.Code != wrong.Code || invalid.Code != wrong.Code {
		t.Fatalf("statuses: wrong password %d, unknown %d, invalid %d", wrong.Code, unknown.Code, invalid.Code)
	}
	w := strings.ReplaceAll(wrong.Body.String(), "baas@example.org", "X")
	u := strings.ReplaceAll(unknown.Body.String(), "niemand@example.org", "X")
	if w != u {
		t.Errorf("the answers differ:\n%s\n%s", w, u)
	}
	if !strings.Contains(w, "Onjuist e-mailadres of wachtwoord") {
		t.Errorf("the answer does not say what was wrong: %s", w)
	}
	if c := wrong.Result().Cookies(); len(c) != 0 {
		t.Errorf("a refused sign-in set cookies: %v", c)
	}
	// The application's own errors are one and the same too.
	_, e1 := a.Login(context.Background(), "baas@example.org", "niet het wachtwoord", "x")
	_, e2 := a.Login(context.Background(), "niemand@example.org", "niet het wachtwoord", "x")
	if e1 == nil || e1 != e2 {
		t.Errorf("Login errors %v and %v differ", e1, e2)
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	a := openApp(t, func(c *app.Config) { c.LoginRate = 3; c.LoginRatePerClient = 6 })
	account(t, a, "baas@example.org", newsletter.RoleAdmin)
	h := serve(a, nil)
	from := func(ip string) func(*http.Request) { return func(r *http.Request) { r.RemoteAddr = ip + ":1234" } }
	for i := 0; i < 3; i++ {
		if rec := loginForm(h, "baas@example.org", "fout wachtwoord!", from("192.0.2.1")); rec.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, rec.Code)
		}
	}
	// Per account: the right password from another address waits too.
	if rec := loginForm(h, "baas@example.org", testPassword, from("192.0.2.2")); rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "Te veel inlogpogingen") {
		t.Errorf("4th attempt on the account: %d %s", rec.Code, rec.Body)
	}
	// An address without an account is limited alike (no telling).
	for i := 0; i < 3; i++ {
		loginForm(h, "niemand@example.org", "fout wachtwoord!", from("192.0.2.3"))
	}
	if rec := loginForm(h, "niemand@example.org", "fout wachtwoord!", from("192.0.2.4")); rec.Code != http.StatusTooManyRequests {
		t.Errorf("4th attempt on an unknown address: %d", rec.Code)
	}
	// Per client address: many accounts from one address.
	for i := 0; i < 3; i++ {
		loginForm(h, "iemand"+string(rune('a'+i))+"@example.org", "fout wachtwoord!", from("192.0.2.3"))
	}
	if rec := loginForm(h, "weer.een@example.org", "fout wachtwoord!", from("192.0.2.3")); rec.Code != http.StatusTooManyRequests {
		t.Errorf("7th attempt from one client: %d", rec.Code)
	}
}

func TestLoginPageEscapes(t *testing.T) {
	t.Parallel()
	a := openApp(t, func(c *app.Config) { c.BrandName = `<b>Merk</b>` })
	h := serve(a, nil)
	const evil = `"><script>alert(1)</script>`
	for _, rec := range []*httptest.ResponseRecorder{
		do(h, "GET", "/admin/login?next="+url.QueryEscape("/admin/"+evil)+"&lang=en", "", nil),
		loginForm(h, evil+"@example.org", "x", nil),
		do(h, "POST", "/admin/login", url.Values{"email": {evil}, "password": {"x"}, "next": {"/admin/" + evil}}.Encode(), form),
	} {
		b := rec.Body.String()
		if strings.Contains(b, "<script>") || strings.Contains(b, "<b>Merk") {
			t.Errorf("unescaped HTML in the sign-in page: %s", b)
		}
		if !strings.Contains(b, "&lt;b&gt;Merk") {
			t.Errorf("the brand is missing or not escaped: %s", b)
		}
	}
	en := do(h, "GET", "/admin/login?lang=en", "", nil).Body.String()
	nl := do(h, "GET", "/admin/login", "", nil).Body.String()
	if !strings.Contains(en, `lang="en"`) || !strings.Contains(en, "Sign in") || strings.Contains(en, "Wachtwoord") {
		t.Errorf("English page: %s", en)
	}
	if !strings.Contains(nl, `lang="nl"`) || !strings.Contains(nl, "Wachtwoord") || strings.Contains(nl, "Password") {
		t.Errorf("Dutch page: %s", nl)
	}
}

// A removed account's token and sessions stop at once; a new role
// counts at once.
func TestAccountChangesTakeEffect(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	ctx := context.Background()
	account(t, a, "baas@example.org", newsletter.RoleAdmin)
	tok := tokenFor(t, a, "schrijver@example.org", newsletter.RoleEditor)
	h := serve(a, nil)
	c, _ := login(t, a, h, "schrijver@example.org")
	if rec := do(h, "GET", "/api/v1/suppressions", "", bearer(tok)); rec.Code != http.StatusForbidden {
		t.Fatalf("editor on suppressions: %d", rec.Code)
	}
	if _, err := a.SetRole(ctx, "schrijver@example.org", newsletter.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if rec := do(h, "GET", "/api/v1/suppressions", "", bearer(tok)); rec.Code != http.StatusOK {
		t.Errorf("after promotion, token: %d", rec.Code)
	}
	if rec := do(h, "GET", "/api/v1/suppressions", "", withCookie(c, nil)); rec.Code != http.StatusOK {
		t.Errorf("after promotion, session: %d", rec.Code)
	}
	if err := a.RevokeAPIToken(ctx, "schrijver@example.org", "test"); err != nil {
		t.Fatal(err)
	}
	if rec := do(h, "GET", "/api/v1/me", "", bearer(tok)); rec.Code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", rec.Code)
	}
	if err := a.RemoveAccount(ctx, "schrijver@example.org"); err != nil {
		t.Fatal(err)
	}
	if works(h, c) {
		t.Error("a removed account's session works")
	}
}

// The cost the sign-in check adds to a request with a session cookie
// (two Redis reads: the session and its account).
func BenchmarkSessionRequest(b *testing.B) {
	a := openApp(b, nil)
	fastHashes(a)
	if _, err := a.AddAccount(context.Background(), "baas@example.org", newsletter.RoleAdmin, testPassword); err != nil {
		b.Fatal(err)
	}
	h := serve(a, nil)
	rec := loginForm(h, "baas@example.org", testPassword, nil)
	var c *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		c = ck
	}
	for b.Loop() {
		if rec := do(h, "GET", "/api/v1/me", "", withCookie(c, nil)); rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// A multipart form (a CSV upload) carries the form token as a field; the
// page's handler still has the file after the check read the form.
func TestMultipartFormToken(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	account(t, a, "baas@example.org", newsletter.RoleAdmin)
	s := serverFor(a, nil)
	s.AdminRoutes = []httpserver.Route{{Pattern: "POST /admin/lists/{slug}/import", Perm: newsletter.PermSubscribers,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f, _, err := r.FormFile("file")
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			_, _ = io.Copy(w, f)
		})}}
	h := s.Handler()
	c, csrf := login(t, a, h, "baas@example.org")
	post := func(token string) *httptest.ResponseRecorder {
		var body strings.Builder
		mw := multipart.NewWriter(&body)
		if token != "" {
			_ = mw.WriteField("csrf", token)
		}
		fw, _ := mw.CreateFormFile("file", "partners.csv")
		_, _ = io.WriteString(fw, "email\njan@example.org\n")
		_ = mw.Close()
		return do(h, "POST", "/admin/lists/bedrijven/import", body.String(), withCookie(c, func(r *http.Request) { r.Header.Set("Content-Type", mw.FormDataContentType()) }))
	}
	if rec := post(csrf); rec.Code != http.StatusOK || rec.Body.String() != "email\njan@example.org\n" {
		t.Errorf("with the token: %d %q", rec.Code, rec.Body)
	}
	if rec := post(""); rec.Code != http.StatusForbidden {
		t.Errorf("without the token: %d", rec.Code)
	}
}

// A form over MaxFormBytes is refused (413, a page that says so) before
// any page reads it: the middleware reads the form for its token.
func TestFormTooLarge(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	account(t, a, "baas@example.org", newsletter.RoleAdmin)
	s := serverFor(a, nil)
	reached := false
	s.Admin = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true })
	h := s.Handler()
	c, csrf := login(t, a, h, "baas@example.org")
	post := func(size int) *httptest.ResponseRecorder {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField(httpserver.CSRFField, csrf)
		fw, _ := mw.CreateFormFile("file", "leden.csv")
		_, _ = fw.Write(bytes.Repeat([]byte("a"), size))
		_ = mw.Close()
		return do(h, "POST", "/admin/lists/x/import", b.String(), withCookie(c, func(r *http.Request) {
			r.Header.Set("Content-Type", mw.FormDataContentType())
		}))
	}
	if rec := post(httpserver.MaxFormBytes); rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "20 MB") || reached {
		t.Errorf("a form over the limit: %d, the page reached: %v", rec.Code, reached)
	}
	if rec := post(1 << 20); rec.Code != http.StatusOK || !reached {
		t.Errorf("a form of 1 MiB: %d, the page reached: %v", rec.Code, reached)
	}
}

package webui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/devenv"
	"newsletter/internal/httpserver"
	"newsletter/internal/password"
	"newsletter/internal/redistest"
	"newsletter/internal/sesfake"
	"newsletter/internal/webhook"
	"newsletter/internal/webui"
)

// env is the program as `serve` runs it (the real routes, the webhook,
// the sign-in and its session middleware), with the admin pages mounted
// through Server.Admin exactly as production mounts them. Tests sign in
// as real accounts: one per role and language, made on first use.
type env struct {
	t   testing.TB
	App *app.App
	SES *sesfake.Server
	URL string

	// startWork starts the workers of an env made by newIdleEnv.
	startWork func()

	mu       sync.Mutex
	accounts map[string]newsletter.Account
	sessions map[string]*app.Session
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func logger() *slog.Logger {
	if os.Getenv("NEWSLETTER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return discard
}

// testPassword is every test account's password.
const testPassword = "correct horse battery staple"

// accountEmail is the address of the test account of role and lang.
func accountEmail(role newsletter.Role, lang string) string {
	if lang == "" || lang == "nl" {
		return string(role) + "@example.org"
	}
	return string(role) + "." + lang + "@example.org"
}

// account returns the test account of role whose pages are in lang,
// creating it the first time (through the app's own door, as `newsletter
// users add` does).
func (e *env) account(role newsletter.Role, lang string) newsletter.Account {
	e.t.Helper()
	email := accountEmail(role, lang)
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, ok := e.accounts[email]; ok {
		return a
	}
	ctx := context.Background()
	acct, err := e.App.AddAccount(ctx, email, role, testPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	if lang != "" && lang != "nl" {
		if err := e.App.SetLang(ctx, email, lang); err != nil {
			e.t.Fatal(err)
		}
		acct.Lang = lang
	}
	e.accounts[email] = *acct
	return *acct
}

// session signs the test account of role and lang in (app.Login, what the
// sign-in form calls) once per env and returns its session.
func (e *env) session(role newsletter.Role, lang string) *app.Session {
	e.t.Helper()
	acct := e.account(role, lang)
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.sessions[acct.Email]; ok {
		return s
	}
	s, err := e.App.Login(context.Background(), acct.Email, testPassword, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	e.sessions[acct.Email] = s
	return s
}

// newEnv starts the program against a throwaway Redis; with workers, the
// pipeline runs in-process against the embedded SES endpoint.
func newEnv(t testing.TB, workers bool) *env {
	t.Helper()
	e := newIdleEnv(t, workers)
	if workers {
		e.startWork()
	}
	return e
}

// newIdleEnv is newEnv whose workers (with workers) start only when the
// test calls e.startWork.
func newIdleEnv(t testing.TB, workers bool) *env {
	t.Helper()
	e := &env{t: t, accounts: map[string]newsletter.Account{}, sessions: map[string]*app.Session{}}
	var handler http.Handler = http.NotFoundHandler()
	var mu sync.RWMutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.RLock()
		defer mu.RUnlock()
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	cfg := app.Config{
		RedisURL: redistest.URL(t), RedisPrefix: redistest.Prefix(t),
		From: "Leerwerkakkoord <nieuwsbrief@example.org>", BaseURL: srv.URL,
		Secret: "test-secret-test-secret-test-secret-0123", AdminToken: "admin-token-0123456789",
		BrandName: "Leerwerkakkoord", SendConcurrency: 32, SendSubscribers: 4, Chunk: 50,
		ClaimIdle: 2 * time.Minute, OverdueAfter: time.Hour, TimeZone: "Europe/Amsterdam",
		SuppressHardBounces: true, SoftBounceLimit: 3, SoftBounceWindow: time.Hour, ComplaintUnsubscribes: true,
	}
	log := logger()
	a, err := app.Open(context.Background(), cfg, app.Need{Redis: true, Send: workers, HTTP: true}, log, false)
	if err != nil {
		t.Fatal(err)
	}
	a.PasswordParams = &password.Params{Memory: 64, Time: 1, Threads: 1}
	t.Cleanup(func() { _ = a.Close() })
	e.App = a
	ui := webui.New(a, webui.Options{Logger: log})
	s := &httpserver.Server{App: a, Logger: log, Admin: ui}
	if workers {
		ses, err := devenv.StartSES(t.TempDir(), srv.URL+"/webhooks/ses")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ses.Close)
		e.SES = ses.Server
		s.Webhook = &webhook.Handler{Verifier: ses.Verifier(nil), Sink: app.EventSink{App: a}, Logger: log}
		client, err := a.SESClient(context.Background(), ses.Endpoint, true)
		if err != nil {
			t.Fatal(err)
		}
		a.SESAPI = client
		e.startWork = func() {
			wctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := a.RunWork(wctx, app.WorkOptions{Sender: a.SESSender(client), Consumer: "test"}); err != nil && wctx.Err() == nil {
					t.Errorf("workers: %v", err)
				}
			}()
			t.Cleanup(func() { cancel(); wg.Wait() })
		}
	}
	mu.Lock()
	handler = s.Handler()
	mu.Unlock()
	return e
}

// client is a browser-like HTTP client signed in as role (the session
// cookie the sign-in sets); it does not follow redirects, so a test sees
// them.
type client struct {
	t    testing.TB
	e    *env
	role newsletter.Role
	csrf string // the session's form token
	c    *http.Client
}

func (e *env) as(role newsletter.Role, lang string) *client {
	e.t.Helper()
	s := e.session(role, lang)
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: httpserver.CookieName(false), Value: s.ID, Path: "/"}})
	return &client{t: e.t, e: e, role: role, csrf: s.CSRF, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(req *http.Request) (int, string, http.Header) {
	c.t.Helper()
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.URL+path, nil)
	st, body, _ := c.do(req)
	return st, body
}

// post sends form with the session's form token (unless form has one).
func (c *client) post(path string, form url.Values) (int, string, http.Header) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form[httpserver.CSRFField]; !ok {
		form.Set(httpserver.CSRFField, c.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, c.e.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.e.URL)
	return c.do(req)
}

// mustPost posts and wants a redirect (303) back, whose target it returns.
func (c *client) mustPost(path string, form url.Values) string {
	c.t.Helper()
	st, body, h := c.post(path, form)
	if st != http.StatusSeeOther {
		c.t.Fatalf("POST %s as %s: %d, want 303\n%s", path, c.role, st, body)
	}
	return h.Get("Location")
}

func (c *client) mustGet(path string) string {
	c.t.Helper()
	st, body := c.get(path)
	if st != http.StatusOK {
		c.t.Fatalf("GET %s as %s: %d, want 200\n%s", path, c.role, st, body)
	}
	return body
}

func mustZone(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

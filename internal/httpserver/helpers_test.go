package httpserver_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/httpserver"
	"newsletter/internal/redistest"
	"newsletter/internal/snsverify"
	"newsletter/internal/webhook"
)

const (
	testToken  = "admin-token-0123456789abcdef"
	testSecret = "test-secret-test-secret-test-secret-0123"
	testTopic  = "arn:aws:sns:eu-west-1:123456789012:ses-events"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// testConfig is the Config `serve` would get, against a throwaway Redis
// prefix.
func testConfig(t testing.TB) app.Config {
	t.Helper()
	return app.Config{
		RedisURL: redistest.URL(t), RedisPrefix: redistest.Prefix(t),
		BaseURL: "https://nieuwsbrief.example.org", Secret: testSecret, AdminToken: testToken,
		BrandName: "Leerwerkakkoord", Chunk: 50,
		SNSTopicARNs: []string{testTopic}, SNSMaxAge: 24 * time.Hour,
	}
}

// openApp opens the app as `serve` does (Redis and HTTP settings
// checked); tweak may change the Config first.
func openApp(t testing.TB, tweak func(*app.Config)) *app.App {
	t.Helper()
	cfg := testConfig(t)
	if tweak != nil {
		tweak(&cfg)
	}
	a, err := app.Open(context.Background(), cfg, app.Need{Redis: true, HTTP: true}, discard, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// serve wires the handler the way `serve` does, with v as the webhook's
// verifier (nil: a.SNSVerifier() unchanged).
func serve(a *app.App, v *snsverify.Verifier) http.Handler {
	return serverFor(a, v).Handler()
}

// serverFor is the Server behind serve.
func serverFor(a *app.App, v *snsverify.Verifier) *httpserver.Server {
	if v == nil {
		v = a.SNSVerifier()
	}
	return &httpserver.Server{App: a, Logger: discard,
		Webhook: &webhook.Handler{Verifier: v, Sink: app.EventSink{App: a}, Logger: discard}}
}

// do sends one request through h; setup may add headers.
func do(h http.Handler, method, target, body string, setup func(*http.Request)) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if setup != nil {
		setup(req)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+tok)
	}
}

func form(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }

// mustList creates a list with one subscribed member.
func mustList(t testing.TB, a *app.App, slug, member string) {
	t.Helper()
	ctx := context.Background()
	if _, err := a.CreateList(ctx, newsletter.List{Slug: slug, Name: "Lijst " + slug}); err != nil {
		t.Fatal(err)
	}
	if member == "" {
		return
	}
	if _, err := a.AddSubscriber(ctx, slug, app.AddInput{Email: member}); err != nil {
		t.Fatal(err)
	}
}

func subscriberStatus(t *testing.T, a *app.App, email string) newsletter.SubscriberStatus {
	t.Helper()
	d, err := a.ShowSubscriber(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return d.Subscriber.Status
}

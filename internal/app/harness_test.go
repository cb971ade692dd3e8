package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"newsletter/internal/app"
	"newsletter/internal/devenv"
	"newsletter/internal/httpserver"
	"newsletter/internal/redistest"
	"newsletter/internal/sesfake"
	"newsletter/internal/webhook"
	"newsletter/workers"
)

// harness wires the whole program against a throwaway Redis, the embedded
// SES endpoint (through the real AWS SDK) and a real HTTP server.
type harness struct {
	t      *testing.T
	App    *app.App
	SES    *sesfake.Server
	SESAPI *sesv2.Client // real SDK client to the embedded endpoint
	HTTP   *httptest.Server
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newHarness(t *testing.T, tweak func(*app.Config)) *harness {
	t.Helper()
	h, start := buildHarness(t, tweak)
	start()
	return h
}

// buildHarness wires everything but starts the workers only when start is
// called, so a test can queue work first.
func buildHarness(t *testing.T, tweak func(*app.Config)) (*harness, func()) {
	t.Helper()
	h := &harness{t: t, cancel: func() {}}
	var handler http.Handler = http.NotFoundHandler()
	var mu sync.RWMutex
	h.HTTP = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.RLock()
		defer mu.RUnlock()
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(h.HTTP.Close)

	cfg := app.Config{
		RedisURL: redistest.URL(t), RedisPrefix: redistest.Prefix(t),
		From: "Leerwerkakkoord <nieuwsbrief@example.org>", BaseURL: h.HTTP.URL,
		Secret: "test-secret-test-secret-test-secret-0123", AdminToken: "admin-token-0123456789",
		BrandName: "Leerwerkakkoord", SendConcurrency: 32, SendSubscribers: 4, Chunk: 50,
		ClaimIdle: 4 * time.Second, OverdueAfter: time.Hour,
		SuppressHardBounces: true, SoftBounceLimit: 3, SoftBounceWindow: time.Hour, ComplaintUnsubscribes: true,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("NEWSLETTER_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, app.Need{Redis: true, Send: true, HTTP: true}, logger, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	h.App = a

	ses, err := devenv.StartSES(t.TempDir(), h.HTTP.URL+"/webhooks/ses")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ses.Close)
	h.SES = ses.Server
	srv := &httpserver.Server{App: a, Logger: logger,
		Webhook: &webhook.Handler{Verifier: ses.Verifier(nil), Sink: app.EventSink{App: a}, Logger: logger}}
	mu.Lock()
	handler = srv.Handler()
	mu.Unlock()

	client, err := a.SESClient(ctx, ses.Endpoint, true)
	if err != nil {
		t.Fatal(err)
	}
	h.SESAPI = client
	start := func() {
		wctx, cancel := context.WithCancel(ctx)
		h.cancel = cancel
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			if err := a.RunWork(wctx, app.WorkOptions{Sender: a.SESSender(client), Rate: 0, Consumer: "test"}); err != nil && wctx.Err() == nil {
				t.Errorf("workers: %v", err)
			}
		}()
		t.Cleanup(h.stop)
	}
	return h, start
}

func (h *harness) stop() {
	h.cancel()
	h.wg.Wait()
}

// waitSent waits until the edition has no queued or sending deliveries.
func (h *harness) waitSent(id string) *app.Status {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := h.App.Wait(ctx, id, 50*time.Millisecond)
	if err != nil {
		h.t.Fatalf("edition %s not sent in time: %v (status %+v)", id, err, st)
	}
	return st
}

// waitIdle waits until every consumer group has read and acknowledged
// every stream entry.
func (h *harness) waitIdle() {
	h.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		busy := false
		for _, topic := range []string{workers.TopicEditionsPublished, workers.TopicDeliveries, workers.TopicSESEvents} {
			groups, err := h.App.Store().Client().XInfoGroups(ctx, h.App.Store().Stream(topic)).Result()
			if err != nil {
				continue // no stream yet
			}
			for _, g := range groups {
				if g.Pending > 0 || g.Lag > 0 {
					busy = true
				}
			}
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatal("streams still busy after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

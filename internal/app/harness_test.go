package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/redis/go-redis/v9"

	"newsletter"
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

	// No test kills these workers, so the claim idle time only sets the
	// handler timeout (half of it), which cuts an SES call still in flight
	// and leaves its delivery "unknown". With 4 s, the race-instrumented
	// workers on a loaded 2-core machine hit it; use the production default.
	cfg := app.Config{
		RedisURL: redistest.URL(t), RedisPrefix: redistest.Prefix(t),
		From: "Leerwerkakkoord <nieuwsbrief@example.org>", BaseURL: h.HTTP.URL,
		Secret: "test-secret-test-secret-test-secret-0123", AdminToken: "admin-token-0123456789",
		BrandName: "Leerwerkakkoord", SendConcurrency: 32, SendSubscribers: 4, Chunk: 50,
		ClaimIdle: 2 * time.Minute, OverdueAfter: time.Hour,
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
	start := func() { h.startWith(a.SESSender(client)) }
	return h, start
}

// startWith starts the workers with sender (the real SES sender, or one
// a test wraps); the workers stop when the test ends.
func (h *harness) startWith(sender workers.Sender) {
	wctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := h.App.RunWork(wctx, app.WorkOptions{Sender: sender, Rate: 0, Consumer: "test"}); err != nil && wctx.Err() == nil {
			h.t.Errorf("workers: %v", err)
		}
	}()
	h.t.Cleanup(h.stop)
}

func (h *harness) stop() {
	h.cancel()
	h.wg.Wait()
}

// patience bounds every wait for the pipeline. It is only a safety net that
// turns a hang into a failure, never a statement of how fast things are:
// keep it far above anything a slow or loaded machine needs.
const patience = 2 * time.Minute

// waitFor polls cond until it holds, failing the test after patience.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	poll(t, what, func() (bool, string) { return cond(), "" })
}

// poll calls check until it reports done; on giving up, the failure shows
// what check last said about the state it saw.
func poll(t testing.TB, what string, check func() (done bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		done, state := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			if state != "" {
				state = " (" + state + ")"
			}
			t.Fatalf("%s: still not the case after %s%s", what, patience, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitSent waits until the edition has no queued or sending deliveries.
func (h *harness) waitSent(id string) *app.Status {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	st, err := h.App.Wait(ctx, id, 20*time.Millisecond)
	if err != nil {
		h.t.Fatalf("edition %s not sent in time: %v (status %+v)", id, err, st)
	}
	return st
}

// waitDelivery waits until the delivery of email for edition id has left
// the given states, and returns it.
func (h *harness) waitDelivery(id, email string, states ...newsletter.DeliveryState) *newsletter.Delivery {
	h.t.Helper()
	var d *newsletter.Delivery
	poll(h.t, "delivery of "+email+" left "+fmt.Sprint(states), func() (bool, string) {
		var err error
		if d, err = h.App.Store().GetDelivery(context.Background(), id, email); err != nil {
			return false, err.Error()
		}
		return !slices.Contains(states, d.State), "state " + string(d.State)
	})
	return d
}

// consumed are the streams the workers read, each with its consumer group.
var consumed = []struct{ topic, group string }{
	{workers.TopicEditionsPublished, workers.HandlerFanOut},
	{workers.TopicDeliveries, workers.HandlerSend},
	{workers.TopicSESEvents, workers.HandlerTrack},
}

// busy says why the pipeline is not idle ("" when it is) and returns each
// stream's last entry id; see pipelineBusy.
func (h *harness) busy(ctx context.Context) (string, map[string]string) {
	h.t.Helper()
	return pipelineBusy(ctx, h.t, h.App)
}

// pipelineBusy says why a's pipeline is not idle ("" when it is) and
// returns each stream's last entry id. Idle means: every stream the workers
// read has its consumer group, which has read up to the stream's last entry
// and acknowledged everything (a job waiting for its retry time is pending,
// so it counts as busy), and no edition is scheduled. A stream with entries
// but no group yet is busy: its workers have not subscribed yet.
func pipelineBusy(ctx context.Context, t testing.TB, a *app.App) (string, map[string]string) {
	t.Helper()
	rdb := a.Store().Client()
	last := map[string]string{}
	for _, c := range consumed {
		key := a.Store().Stream(c.topic)
		info, err := rdb.XInfoStream(ctx, key).Result()
		if err != nil {
			if strings.Contains(err.Error(), "no such key") {
				continue // nothing was ever written to it
			}
			t.Fatalf("XINFO STREAM %s: %v", key, err)
		}
		last[c.topic] = info.LastGeneratedID
		groups, err := rdb.XInfoGroups(ctx, key).Result()
		if err != nil {
			t.Fatalf("XINFO GROUPS %s: %v", key, err)
		}
		i := slices.IndexFunc(groups, func(g redis.XInfoGroup) bool { return g.Name == c.group })
		if i < 0 {
			if info.LastGeneratedID == "0-0" {
				continue // created empty
			}
			return fmt.Sprintf("%s has entries up to %s but no %q consumer group yet", c.topic, info.LastGeneratedID, c.group), nil
		}
		g := groups[i]
		if streamIDLess(g.LastDeliveredID, info.LastGeneratedID) {
			return fmt.Sprintf("group %q has read %s up to %s, not to its last entry %s", c.group, c.topic, g.LastDeliveredID, info.LastGeneratedID), nil
		}
		if g.Pending > 0 {
			return fmt.Sprintf("group %q has %d unacknowledged %s entries", c.group, g.Pending, c.topic), nil
		}
		if n, err := rdb.ZCard(ctx, a.Store().Prefix()+"delayed:{"+key+"}").Result(); err == nil && n > 0 {
			return fmt.Sprintf("%d %s message(s) wait for a retry", n, c.topic), nil
		}
	}
	if n, err := rdb.ZCard(ctx, a.Store().Prefix()+"sched").Result(); err != nil {
		t.Fatalf("schedules: %v", err)
	} else if n > 0 {
		return fmt.Sprintf("%d edition(s) scheduled", n), nil
	}
	return "", last
}

// waitIdle waits until the pipeline is idle (see busy) and stays so across
// the SES fake's pending event notifications, which feed the ses.events
// stream.
func (h *harness) waitIdle() {
	h.t.Helper()
	ctx := context.Background()
	poll(h.t, "pipeline idle", func() (bool, string) {
		why, before := h.busy(ctx)
		if why != "" {
			return false, why
		}
		// No job is in flight, so no SendEmail call is either: now it is
		// safe to wait for the notifications sent so far.
		h.SES.Wait()
		why, after := h.busy(ctx)
		if why != "" {
			return false, why
		}
		if !maps.Equal(before, after) {
			return false, fmt.Sprintf("new stream entries while SES notifications were delivered: %v → %v", before, after)
		}
		return true, ""
	})
}

// streamIDLess compares Redis stream ids ("ms-seq").
func streamIDLess(a, b string) bool {
	am, as := splitStreamID(a)
	bm, bs := splitStreamID(b)
	return am < bm || (am == bm && as < bs)
}

func splitStreamID(id string) (ms, seq uint64) {
	a, b, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(a, 10, 64)
	seq, _ = strconv.ParseUint(b, 10, 64)
	return ms, seq
}

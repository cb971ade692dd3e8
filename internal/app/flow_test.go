package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/workers"
)

func seedList(t *testing.T, a *app.App, slug string, emails ...string) {
	t.Helper()
	ctx := context.Background()
	if err := a.Store().CreateList(ctx, newsletter.List{Slug: slug, Name: slug}); err != nil && newsletter.ErrorCode(err) != newsletter.ECONFLICT {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("email,name\n")
	for _, e := range emails {
		fmt.Fprintf(&b, "%s,Naam van %s\n", e, strings.Split(e, "@")[0])
	}
	rep, err := a.Import(ctx, slug, strings.NewReader(b.String()), newsletter.ImportOptions{})
	if err != nil || len(rep.Rejected) > 0 {
		t.Fatalf("import: %v %+v", err, rep)
	}
}

func draft(t *testing.T, a *app.App, body string) *newsletter.Edition {
	t.Helper()
	e, _, err := a.CreateEdition(context.Background(), "e.md", []byte("---\nsubject: Test editie\n---\n"+body+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// A second App on the same Redis stands for a second `work` process.
func secondApp(t *testing.T, h *harness) *app.App {
	t.Helper()
	b, err := app.Open(context.Background(), h.App.Cfg, app.Need{Redis: true}, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func xlen(t *testing.T, a *app.App, topic string) int64 {
	t.Helper()
	n, err := a.Store().Client().XLen(context.Background(), a.Store().Stream(topic)).Result()
	if err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	return n
}

// testClock is a clock the test moves by hand, safe to read from any
// goroutine: a schedule is due because the test says so, never because the
// machine was slow or fast.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Now().Truncate(time.Millisecond)} // schedules keep milliseconds
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func TestScheduledPublishFiresOnceWithTwoWorkers(t *testing.T) {
	// The workers start only once the schedule has fired: their own
	// scheduler would be a third contender for it.
	h, start := buildHarness(t, nil)
	ctx := context.Background()
	a, b := h.App, secondApp(t, h)
	clk := newTestClock()
	a.Now, b.Now = clk.Now, clk.Now
	seedList(t, a, "algemeen", "a@example.org", "b@example.org", "c@example.org")
	e := draft(t, a, "Geplande editie.")
	at := clk.Now().Add(10 * time.Minute)
	res, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{At: at})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Scheduled {
		t.Fatalf("publish with a future --at did not schedule: %+v", res)
	}
	for _, w := range []*app.App{a, b} {
		if n, err := w.FireDue(ctx); err != nil || n != 0 {
			t.Fatalf("schedule fired %d times before its time (%v)", n, err)
		}
	}
	if n := xlen(t, a, workers.TopicEditionsPublished); n != 0 {
		t.Fatalf("scheduled edition already on the stream (%d entries)", n)
	}
	clk.Set(at.Add(time.Second))
	// Both "workers" poll as fast as they can, concurrently, past the time.
	const polls = 50
	var wg sync.WaitGroup
	var fired [2]int
	ready := make(chan struct{})
	for i, w := range []*app.App{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			for range polls {
				n, err := w.FireDue(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				fired[i] += n
			}
		}()
	}
	close(ready)
	wg.Wait()
	if fired[0]+fired[1] != 1 {
		t.Errorf("fired %d times (%v), want exactly 1", fired[0]+fired[1], fired)
	}
	if n := xlen(t, a, workers.TopicEditionsPublished); n != 1 {
		t.Errorf("%d publish messages, want 1", n)
	}
	start()
	h.waitSent(e.ID)
	h.waitIdle()
	if n := h.SES.Count(); n != 3 {
		t.Errorf("SES got %d emails, want 3", n)
	}
}

func TestOverdueScheduleIsNotSent(t *testing.T) {
	// Workers start after the clock is back to normal: nothing but the
	// test reads the test clock.
	h, start := buildHarness(t, nil)
	ctx := context.Background()
	a := h.App
	clk := newTestClock()
	a.Now = clk.Now
	seedList(t, a, "algemeen", "a@example.org")
	e := draft(t, a, "Te laat.")
	at := clk.Now().Add(time.Minute)
	if res, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{At: at}); err != nil {
		t.Fatal(err)
	} else if !res.Scheduled {
		t.Fatalf("publish with a future --at did not schedule: %+v", res)
	}
	// The workers were down for two hours (OverdueAfter is one hour).
	clk.Set(at.Add(2 * time.Hour))
	n, err := a.FireDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || xlen(t, a, workers.TopicEditionsPublished) != 0 {
		t.Fatalf("overdue edition was published (fired %d)", n)
	}
	got, err := a.Store().GetEdition(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != newsletter.EditionDraft || got.Hash != "" {
		t.Errorf("overdue edition state %s hash %q, want a draft awaiting confirmation", got.State, got.Hash)
	}
	// It does not fire later either; an editor confirms by publishing.
	clk.Set(at.Add(3 * time.Hour))
	if n, _ := a.FireDue(ctx); n != 0 {
		t.Errorf("overdue schedule fired on a later tick")
	}
	a.Now = time.Now
	start()
	if _, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitSent(e.ID)
}

func TestCancelScheduled(t *testing.T) {
	h, _ := buildHarness(t, nil) // no workers: only the test fires schedules
	ctx := context.Background()
	a := h.App
	clk := newTestClock()
	a.Now = clk.Now
	seedList(t, a, "algemeen", "a@example.org")
	e := draft(t, a, "Wordt geannuleerd.")
	at := clk.Now().Add(time.Minute)
	if res, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{At: at}); err != nil {
		t.Fatal(err)
	} else if !res.Scheduled {
		t.Fatalf("publish with a future --at did not schedule: %+v", res)
	}
	if _, err := a.Cancel(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	clk.Set(at.Add(time.Second))
	if n, err := a.FireDue(ctx); err != nil || n != 0 {
		t.Fatalf("cancelled schedule fired: %d %v", n, err)
	}
	if n := xlen(t, a, workers.TopicEditionsPublished); n != 0 {
		t.Errorf("cancelled edition on the stream (%d entries)", n)
	}
	if _, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{}); newsletter.ErrorCode(err) != newsletter.ECONFLICT {
		t.Errorf("publishing a cancelled edition: %v, want a conflict", err)
	}
}

func TestArchiveHidesPersonalLinks(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.App
	seedList(t, a, "algemeen", "geheim.adres@example.org")
	e := draft(t, a, "Openbare tekst van de editie.")
	other := draft(t, a, "Concept dat niemand mag zien.")
	if _, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitSent(e.ID)
	get := func(path string) (int, string) {
		resp, err := http.Get(h.HTTP.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, page := get("/archive/" + e.ID)
	if code != 200 || !strings.Contains(page, "Openbare tekst van de editie.") {
		t.Fatalf("archive page: %d %.200s", code, page)
	}
	// The email that went out carried personal links; the archive must not.
	msgs := h.SES.Messages()
	if len(msgs) != 1 {
		t.Fatalf("want 1 email, got %d", len(msgs))
	}
	unsub := strings.Trim(msgs[0].Header("List-Unsubscribe")[0], "<>")
	for _, personal := range []string{"/u/", "/p/", unsub, "geheim.adres", "Naam van geheim"} {
		if strings.Contains(page, personal) {
			t.Errorf("archive page contains personal %q", personal)
		}
	}
	if code, _ := get("/archive/" + other.ID); code != 404 {
		t.Errorf("draft in archive: %d, want 404", code)
	}
	_, index := get("/archive/")
	if !strings.Contains(index, e.ID) || strings.Contains(index, other.ID) {
		t.Errorf("archive index should list the published edition only")
	}
	_, feed := get("/archive/feed.atom")
	if !strings.Contains(feed, "<feed") || !strings.Contains(feed, "/archive/"+e.ID) || strings.Contains(feed, "/u/") {
		t.Errorf("atom feed wrong: %.300s", feed)
	}
}

// An entry without Watermill's fields must not kill the subscription: it
// goes to the poison stream and the pipeline keeps sending.
func TestMalformedStreamEntry(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.App
	for _, topic := range []string{workers.TopicDeliveries, workers.TopicEditionsPublished, workers.TopicSESEvents} {
		if err := a.Store().Client().XAdd(ctx, &redis.XAddArgs{Stream: a.Store().Stream(topic), Values: map[string]any{"garbage": "yes"}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	bad, err := workers.NewMessage(map[string]any{"edition_id": 42})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store().Append(ctx, workers.TopicDeliveries, bad); err != nil {
		t.Fatal(err)
	}
	seedList(t, a, "algemeen", "a@example.org", "b@example.org")
	e := draft(t, a, "Na de rommel.")
	if _, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	st := h.waitSent(e.ID)
	if st.Counts["sent"] != 2 {
		t.Errorf("sent %d, want 2", st.Counts["sent"])
	}
	h.waitIdle()
	if n := xlen(t, a, workers.TopicPoison); n != 4 {
		t.Errorf("poison stream has %d entries, want 4 (three malformed entries, one bad payload)", n)
	}
}

// A delivery left in "sending" (its worker died during the SES call) is
// marked unknown by the redelivered job and not resent.
func TestOrphanedSendingBecomesUnknown(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.App
	seedList(t, a, "algemeen", "a@example.org")
	e := draft(t, a, "Onbekende uitkomst.")
	if _, _, err := a.Store().Freeze(ctx, e.ID, []string{"algemeen"}); err != nil {
		t.Fatal(err)
	}
	_, err := a.Store().Transition(ctx, e.ID, []newsletter.Transition{
		{Email: "a@example.org", To: newsletter.DeliveryQueued},
		{Email: "a@example.org", From: []newsletter.DeliveryState{newsletter.DeliveryQueued}, To: newsletter.DeliverySending},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := workers.NewMessage(workers.DeliveryJob{EditionID: e.ID, Recipients: []string{"a@example.org"}})
	if err := a.Store().Append(ctx, workers.TopicDeliveries, m); err != nil {
		t.Fatal(err)
	}
	// The job finds the delivery "sending" and moves it on; then nothing
	// may be left that could still send it.
	h.waitDelivery(e.ID, "a@example.org", newsletter.DeliverySending)
	h.waitIdle()
	d, err := a.Store().GetDelivery(ctx, e.ID, "a@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != newsletter.DeliveryUnknown {
		t.Errorf("state %s, want unknown", d.State)
	}
	if n := h.SES.Count(); n != 0 {
		t.Errorf("resent an unknown delivery: SES got %d", n)
	}
	// Without SES Send events a resend may duplicate: it is refused with
	// the risk explained, and only an admin's forced resend sends it.
	if n, err := a.ResendUnknown(ctx, e.ID); newsletter.ErrorCode(err) != newsletter.ECONFLICT || !strings.Contains(err.Error(), "--force") || n != 0 {
		t.Fatalf("resend-unknown without Send events: %d, %v; want a refusal naming --force", n, err)
	}
	res, err := a.ResendUnknownOpts(ctx, e.ID, true)
	if err != nil || res.Queued != 1 {
		t.Fatalf("resend-unknown --force: %+v, %v", res, err)
	}
	h.waitDelivery(e.ID, "a@example.org", newsletter.DeliveryQueued, newsletter.DeliverySending)
	h.waitIdle()
	if d, _ := a.Store().GetDelivery(ctx, e.ID, "a@example.org"); d.State != newsletter.DeliverySent || h.SES.Count() != 1 {
		t.Errorf("after resend: state %s, SES count %d; want sent and 1", d.State, h.SES.Count())
	}
	if n, err := a.ResendUnknown(ctx, e.ID); n != 0 || err != nil {
		t.Errorf("second resend queued %d (%v), want 0: nothing is unknown any more", n, err)
	}
	if st, _ := a.EditionStatus(ctx, e.ID); st.UnknownResolved != 1 || st.UnknownOpen != 0 {
		t.Errorf("status unknown_resolved %d, unknown_open %d; want 1 and 0", st.UnknownResolved, st.UnknownOpen)
	}
}

// A test send goes through the real pipeline to the given addresses only,
// ignores lists and is not counted as the edition's send.
func TestTestSendIsNotCounted(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.App
	seedList(t, a, "algemeen", "partner@example.org")
	e := draft(t, a, "Proefversie.")
	if err := a.TestSend(ctx, e.ID, []string{"redacteur@example.org", "collega@example.org"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "SES received the 2 test sends", func() bool { return h.SES.Count() >= 2 })
	h.waitIdle() // and nothing more is on its way
	msgs := h.SES.Messages()
	if len(msgs) != 2 {
		t.Fatalf("SES got %d emails, want the 2 test sends", len(msgs))
	}
	for _, m := range msgs {
		if !strings.HasPrefix(m.Subject, "[TEST] ") {
			t.Errorf("test send subject %q lacks the [TEST] marker", m.Subject)
		}
		if m.To[0] == "partner@example.org" {
			t.Error("test send reached a list member")
		}
	}
	st, err := a.EditionStatus(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "draft" || st.Counts["total"] != 0 {
		t.Errorf("after a test send: state %s, counts %v; want an untouched draft", st.State, st.Counts)
	}
}

// throttleFirst stands in front of the SES fake and answers the first
// SendEmail to each address in pending with TooManyRequestsException, as
// SES does above the account's rate; every other call goes through. The
// SDK's own retries are off, so each answer reaches the pipeline.
type throttleFirst struct {
	next http.Handler

	mu      sync.Mutex
	pending map[string]bool // still to throttle once
	calls   map[string]int  // SendEmail calls per address
}

func (th *throttleFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/v2/email/outbound-emails" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var in struct {
			Destination struct{ ToAddresses []string }
		}
		_ = json.Unmarshal(body, &in)
		throttle := false
		th.mu.Lock()
		for _, to := range in.Destination.ToAddresses {
			th.calls[to]++
			if th.pending[to] {
				delete(th.pending, to)
				throttle = true
			}
		}
		th.mu.Unlock()
		if throttle {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"message":"Maximum sending rate exceeded (test)"}`))
			return
		}
	}
	th.next.ServeHTTP(w, r)
}

func (th *throttleFirst) callsTo() map[string]int {
	th.mu.Lock()
	defer th.mu.Unlock()
	return maps.Clone(th.calls)
}

// A passing failure of some test addresses is retried for those alone:
// the addresses that already got the test are not mailed twice.
func TestTestSendRetriesOnlyFailedAddresses(t *testing.T) {
	h, _ := buildHarness(t, nil)
	ctx := context.Background()
	a := h.App
	e := draft(t, a, "Proefversie.")
	var to []string
	throttled := map[string]bool{}
	for i := range 10 {
		addr := fmt.Sprintf("redacteur%d@example.org", i)
		to = append(to, addr)
		if i%2 == 1 {
			throttled[addr] = true
		}
	}
	// Every other address is throttled on its first attempt, then SES
	// takes it.
	th := &throttleFirst{next: h.SES, pending: maps.Clone(throttled), calls: map[string]int{}}
	srv := httptest.NewServer(th)
	t.Cleanup(srv.Close)
	client, err := a.SESClient(ctx, srv.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	h.startWith(a.SESSender(client))
	if err := a.TestSend(ctx, e.ID, to); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "SES accepted a test email for every address", func() bool { return h.SES.Count() >= len(to) })
	h.waitIdle()
	got := map[string]int{}
	for _, m := range h.SES.Messages() {
		got[m.To[0]]++
	}
	calls := th.callsTo()
	for _, addr := range to {
		if got[addr] != 1 {
			t.Errorf("%s got %d test emails, want 1 (%v)", addr, got[addr], got)
		}
		want := 1
		if throttled[addr] {
			want = 2 // throttled, then retried
		}
		if calls[addr] != want {
			t.Errorf("%s: %d SendEmail calls, want %d (%v)", addr, calls[addr], want, calls)
		}
	}
}

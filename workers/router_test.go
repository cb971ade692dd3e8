package workers_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/redisstore"
	"newsletter/internal/redistest"
	"newsletter/workers"
)

// flakyStore fails every delivery transition for the address in fail
// (while failing is set) with a passing error, like Redis going away.
type flakyStore struct {
	workers.Store
	fail    string
	failing atomic.Bool
	calls   atomic.Int64
}

func (f *flakyStore) Transition(ctx context.Context, id string, ts []newsletter.Transition) ([]newsletter.TransitionResult, error) {
	for _, t := range ts {
		if t.Email == f.fail && f.failing.Load() {
			f.calls.Add(1)
			return nil, errors.New("passing failure (test)")
		}
	}
	return f.Store.Transition(ctx, id, ts)
}

// runRouter runs the real router with only the track handler on the
// test's Redis, and the mover that puts due retries back, until the test
// ends.
func (e *env) runRouter(track *workers.Track, maxRetries int) {
	e.t.Helper()
	url := redistest.URL(e.t)
	cfg := workers.RouterConfig{
		NewClient: func() redis.UniversalClient { return newClient(e.t, url) },
		Stream:    e.store.Stream, Consumer: "test", MaxIdle: 20 * time.Second, HandlerTimeout: 5 * time.Second,
		Delayer: e.store, MaxRetries: maxRetries, CloseTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	r, err := workers.NewRouter(cfg, nil, nil, track)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_, _ = e.store.MoveDue(ctx, e.store.Stream(workers.TopicSESEvents))
			}
		}
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
	})
	<-r.Running()
}

// eventually polls cond until it holds; the deadline only guards against
// a hang.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not the case after 30s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) deadLetters() []redisstore.DeadLetter {
	e.t.Helper()
	ds, err := e.store.DeadLetters(e.ctx, e.store.Stream(workers.TopicPoison), "", 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

// A stream entry that is not a Watermill message (written by hand with
// XADD) goes to the dead-letter stream, and the subscription goes on: the
// next event is applied.
func TestMalformedEntryGoesToDeadLetters(t *testing.T) {
	e := newEnv(t)
	e.runRouter(e.track, 2)
	stream := e.store.Stream(workers.TopicSESEvents)
	if err := e.store.Client().XAdd(e.ctx, &redis.XAddArgs{Stream: stream, Values: []string{"hello", "world"}}).Err(); err != nil {
		t.Fatal(err)
	}
	id := e.unknownDelivery("a@example.org")
	if err := e.store.Append(e.ctx, workers.TopicSESEvents, sesEvent(t, sendEvent(t, id, "a@example.org", "mid-1", nil))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the event after the malformed entry applied", func() bool {
		return e.delivery(id, "a@example.org").State == newsletter.DeliverySent
	})
	eventually(t, "a dead letter", func() bool { return len(e.deadLetters()) == 1 })
	d := e.deadLetters()[0]
	if !d.Malformed || !strings.Contains(d.Payload, "hello") || d.Stream != stream {
		t.Errorf("dead letter %+v, want the malformed entry from %s", d, stream)
	}
	err := e.store.ReplayDeadLetter(e.ctx, &d, func(string) bool { return true })
	if newsletter.ErrorCode(err) != newsletter.ECONFLICT {
		t.Errorf("replaying a malformed entry: %v, want a refusal", err)
	}
}

// A message that keeps failing for a passing reason is retried later,
// without holding up the messages behind it, and after its budget goes to
// the dead-letter stream; replayed once the fault is gone, it is applied.
func TestRetryBudgetThenDeadLetterThenReplay(t *testing.T) {
	e := newEnv(t)
	flaky := &flakyStore{Store: e.store, fail: "bad@example.org"}
	flaky.failing.Store(true)
	track := &workers.Track{Store: flaky, Logger: e.track.Logger}
	e.runRouter(track, 2)
	bad, good := e.unknownDelivery("bad@example.org"), e.unknownDelivery("good@example.org")
	msgs := []*message.Message{
		sesEvent(t, sendEvent(t, bad, "bad@example.org", "mid-bad", nil)),
		sesEvent(t, sendEvent(t, good, "good@example.org", "mid-good", nil)),
	}
	if err := e.store.Append(e.ctx, workers.TopicSESEvents, msgs...); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the good event applied", func() bool {
		return e.delivery(good, "good@example.org").State == newsletter.DeliverySent
	})
	if n := len(e.deadLetters()); n != 0 || flaky.calls.Load() > 2 {
		t.Errorf("when the good event was applied: %d dead letters, %d tries of the bad one; want it still being retried", n, flaky.calls.Load())
	}
	eventually(t, "the failing event in the dead letters", func() bool { return len(e.deadLetters()) == 1 })
	if n := flaky.calls.Load(); n != 3 {
		t.Errorf("the failing event was tried %d times, want 3 (once and 2 retries)", n)
	}
	d := e.deadLetters()[0]
	if !strings.Contains(d.Reason, "gave up after 2 retries") || d.Handler != workers.HandlerTrack {
		t.Errorf("dead letter reason %q, handler %q", d.Reason, d.Handler)
	}
	flaky.failing.Store(false)
	if err := e.store.ReplayDeadLetter(e.ctx, &d, func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replayed event applied", func() bool {
		return e.delivery(bad, "bad@example.org").State == newsletter.DeliverySent
	})
	if n := len(e.deadLetters()); n != 0 {
		t.Errorf("%d dead letters after the replay, want 0", n)
	}
}

// HandBack makes what a consumer read but did not finish claimable by
// every other consumer at once (idle beyond the claim idle time), without
// copying or dropping an entry.
func TestHandBackReleasesPending(t *testing.T) {
	e := newEnv(t)
	stream := e.store.Stream(workers.TopicDeliveries)
	rdb := e.store.Client()
	if err := rdb.XGroupCreateMkStream(e.ctx, stream, workers.HandlerSend, "0").Err(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		m, _ := workers.NewMessage(workers.DeliveryJob{EditionID: "e1", Recipients: []string{"a@example.org"}})
		if err := e.store.Append(e.ctx, workers.TopicDeliveries, m); err != nil {
			t.Fatal(err)
		}
	}
	// Consumer 0 of process "w1" reads all three and stops.
	if _, err := rdb.XReadGroup(e.ctx, &redis.XReadGroupArgs{Group: workers.HandlerSend, Consumer: "w1-send-0", Streams: []string{stream, ">"}, Count: 3}).Result(); err != nil {
		t.Fatal(err)
	}
	const idle = 20 * time.Second
	pendingIDs := func() []string {
		p, err := rdb.XPendingExt(e.ctx, &redis.XPendingExtArgs{Stream: stream, Group: workers.HandlerSend, Start: "-", End: "+", Count: 10, Consumer: "w1-send-0"}).Result()
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range p {
			ids = append(ids, x.ID)
		}
		return ids
	}
	held := pendingIDs()
	// Before: another consumer cannot claim them (not idle long enough).
	if ids, _ := rdb.XClaimJustID(e.ctx, &redis.XClaimArgs{Stream: stream, Group: workers.HandlerSend, Consumer: "w2-send-0", MinIdle: idle, Messages: held}).Result(); len(ids) != 0 {
		t.Fatalf("claimed %v before the hand-back", ids)
	}
	url := redistest.URL(t)
	cfg := workers.RouterConfig{NewClient: func() redis.UniversalClient { return newClient(t, url) }, Stream: e.store.Stream, Consumer: "w1", SendSubscribers: 2, MaxIdle: idle}
	n, err := workers.HandBack(e.ctx, cfg)
	if err != nil || n != 3 {
		t.Fatalf("HandBack: %d, %v; want 3", n, err)
	}
	ids, err := rdb.XClaimJustID(e.ctx, &redis.XClaimArgs{Stream: stream, Group: workers.HandlerSend, Consumer: "w2-send-0", MinIdle: idle, Messages: held}).Result()
	if err != nil || len(ids) != 3 {
		t.Fatalf("another consumer claimed %v (%v), want the 3 jobs", ids, err)
	}
	if left := pendingIDs(); len(left) != 0 {
		t.Errorf("still pending for w1: %v", left)
	}
	if l := rdb.XLen(e.ctx, stream).Val(); l != 3 {
		t.Errorf("stream has %d entries, want 3", l)
	}
}

// newClient is a new client of the test's Redis, a single server or a
// cluster (the router closes the clients it gets).
func newClient(t testing.TB, url string) redis.UniversalClient {
	c, err := redistest.NewClient(url)
	if err != nil {
		t.Error(err)
	}
	return c
}

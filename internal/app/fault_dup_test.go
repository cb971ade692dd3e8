package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/sesfake"
	"newsletter/workers"
)

// gateSender holds the first want sends until release is closed, then
// accepts or refuses (passing error) per address. Any further send is a
// failure of the test, reported at once and never held: it must not hang.
type gateSender struct {
	t       *testing.T
	want    int
	entered chan struct{} // closed when want sends are in flight
	release chan struct{}
	refuse  map[string]bool

	mu    sync.Mutex
	calls []string
}

func newGateSender(t *testing.T, want int, refuse map[string]bool) *gateSender {
	return &gateSender{t: t, want: want, entered: make(chan struct{}), release: make(chan struct{}), refuse: refuse}
}

func (g *gateSender) Send(ctx context.Context, m *newsletter.Email) (string, error) {
	g.mu.Lock()
	g.calls = append(g.calls, m.To)
	n, calls := len(g.calls), slices.Clone(g.calls)
	g.mu.Unlock()
	if n > g.want {
		g.t.Errorf("SES call %d for %s, want only %d (calls %v): a live send was sent again", n, m.To, g.want, calls)
		return "", errors.New("unexpected extra send (test)")
	}
	if n == g.want {
		close(g.entered)
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if g.refuse[m.To] {
		return "", errors.New("SES throttled the send: TooManyRequestsException (test)")
	}
	return "id-" + m.To, nil
}

type noLimit struct{}

func (noLimit) Wait(context.Context, int) error { return nil }

// A second job for recipients whose sends are still in flight (fan-out
// resuming after a crash re-enqueues them; a job read but not yet handled
// can be claimed by another consumer) finds them "sending" and marks them
// unknown. The live send's real outcome must still win: a refused send is
// retried, not left unknown (a missed email nobody will resend).
func TestFaultDuplicateJobDoesNotStrandALiveSend(t *testing.T) {
	f := newFaultEnv(t, 3*time.Second, sesfake.Faults{})
	ctx := context.Background()
	emails := f.subscribe("partners", 2)
	ok, refused := emails[0], emails[1]
	id := f.createEdition()
	if _, err := f.App.Store().Transition(ctx, id, []newsletter.Transition{
		{Email: ok, To: newsletter.DeliveryQueued}, {Email: refused, To: newsletter.DeliveryQueued},
	}); err != nil {
		t.Fatal(err)
	}
	g := newGateSender(t, 2, map[string]bool{refused: true})
	send := &workers.Send{Store: f.App.Store(), Sender: g, Renderer: f.App.Renderer, Links: f.App.Links,
		Limiter: noLimit{}, From: faultFrom, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	job := workers.DeliveryJob{EditionID: id, Recipients: emails}

	// Every wait is bounded, so a regression fails the test instead of
	// hanging it; the context also ends any send still held.
	rctx, cancel := context.WithTimeout(ctx, patience)
	var released sync.Once
	open := func() { released.Do(func() { close(g.release) }) }
	var firstErr error
	firstDone := make(chan struct{})
	go func() {
		defer close(firstDone)
		firstErr = send.Run(rctx, job)
	}()
	defer func() { // on every way out, the first job ends before the test does
		open()
		cancel()
		select {
		case <-firstDone:
		case <-time.After(patience):
			t.Error("the first job did not return after its context ended")
		}
	}()
	select {
	case <-g.entered:
	case <-firstDone:
		t.Fatalf("the first job ended before both sends were in flight: %v", firstErr)
	case <-rctx.Done():
		t.Fatal("the first job never had both sends in flight")
	}
	// The duplicate job runs while both sends are in flight.
	if err := send.Run(rctx, job); err != nil {
		t.Fatalf("duplicate job: %v", err)
	}
	open()
	select {
	case <-firstDone:
	case <-rctx.Done():
		t.Fatal("the first job did not finish after its sends were released")
	}
	if firstErr != nil {
		t.Fatalf("first job: %v", firstErr)
	}

	d, err := f.App.Store().GetDelivery(ctx, id, ok)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != newsletter.DeliverySent || d.MessageID != "id-"+ok {
		t.Errorf("accepted send: state %s, message id %q; want sent, id-%s", d.State, d.MessageID, ok)
	}
	d, err = f.App.Store().GetDelivery(ctx, id, refused)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != newsletter.DeliveryQueued {
		t.Errorf("refused send: state %s (%s), want queued for a retry", d.State, d.Reason)
	}
	// And a retry job for it is on the stream.
	entries, err := f.App.Store().Client().XRange(ctx, f.App.Store().Stream(workers.TopicDeliveries), "-", "+").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	retried := false
	for _, e := range entries {
		p, _ := e.Values["payload"].(string)
		var j workers.DeliveryJob
		if json.Unmarshal([]byte(p), &j) == nil && j.Attempt == 1 && slices.Contains(j.Recipients, refused) {
			retried = true
		}
	}
	if !retried {
		t.Errorf("no retry job for %s among %d stream entries", refused, len(entries))
	}
	c := f.counts(id)
	if c["sent"] != 1 || c["queued"] != 1 || c["unknown"] != 0 || c["sending"] != 0 {
		t.Errorf("counts %v, want sent 1, queued 1", c)
	}
}

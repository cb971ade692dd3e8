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

// gateSender holds every send until release is closed, then accepts or
// refuses (passing error) per address.
type gateSender struct {
	entered chan string
	release chan struct{}
	refuse  map[string]bool
}

func (g *gateSender) Send(ctx context.Context, m *newsletter.Email) (string, error) {
	g.entered <- m.To
	<-g.release
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
	g := &gateSender{entered: make(chan string, 2), release: make(chan struct{}), refuse: map[string]bool{refused: true}}
	send := &workers.Send{Store: f.App.Store(), Sender: g, Renderer: f.App.Renderer, Links: f.App.Links,
		Limiter: noLimit{}, From: faultFrom, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	job := workers.DeliveryJob{EditionID: id, Recipients: emails}

	var wg sync.WaitGroup
	var firstErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		firstErr = send.Run(ctx, job)
	}()
	for range 2 {
		select {
		case <-g.entered:
		case <-time.After(30 * time.Second):
			t.Fatal("the first job never called SES")
		}
	}
	// The duplicate job runs while both sends are in flight.
	if err := send.Run(ctx, job); err != nil {
		t.Fatalf("duplicate job: %v", err)
	}
	close(g.release)
	wg.Wait()
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

package workers_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"newsletter"
	"newsletter/workers"
)

// ctxSender blocks each call until released and reports whether the
// call's context was cancelled meanwhile, answering as SES would then.
type ctxSender struct {
	started chan struct{}
	release chan struct{}
	mu      sync.Mutex
	calls   int
}

func (c *ctxSender) Send(ctx context.Context, m *newsletter.Email) (string, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	c.started <- struct{}{}
	<-c.release
	if ctx.Err() != nil {
		// A cancelled call: the request may have reached SES.
		return "", newsletter.ErrUnknownOutcome
	}
	return "ses-" + m.To, nil
}

// The handler's deadline ending while an SES call is in flight does not
// cancel that call: it completes, and its outcome is recorded as sent, not
// left in doubt. Recipients not started yet go back to queued.
func TestHandlerDeadlineDoesNotCancelCallsInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.list("bedrijven", "a@example.org", "b@example.org")
	ed := e.publish("bedrijven")
	e.fanOut(ed) // creates the queued deliveries; the test runs its own job
	sender := &ctxSender{started: make(chan struct{}, 2), release: make(chan struct{})}
	e.send.Sender = sender
	e.send.Concurrency = 1
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.send.Run(ctx, workers.DeliveryJob{EditionID: ed.ID, Recipients: []string{"a@example.org", "b@example.org"}})
	}()
	<-sender.started // the first call is in flight and holds the only slot
	cancel()         // the handler's deadline
	close(sender.release)
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	a := e.delivery(ed.ID, "a@example.org")
	if a.State != newsletter.DeliverySent || a.MessageID != "ses-a@example.org" {
		t.Errorf("the call in flight at the deadline: %+v, want sent with its message id", a)
	}
	if b := e.delivery(ed.ID, "b@example.org"); b.State != newsletter.DeliveryQueued {
		t.Errorf("the recipient not started: %s, want queued again", b.State)
	}
	if sender.calls != 1 {
		t.Errorf("%d SES calls after the deadline, want only the one in flight", sender.calls)
	}
}

// A service-email job not due yet never waits into the handler's
// deadline: it goes back on the stream, like an edition's job, and nothing
// is sent.
func TestNoticeNotDueGoesBackOnTheStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.store.CreateList(e.ctx, newsletter.List{Slug: "nieuw", Name: "Nieuw", DoubleOptIn: true}); err != nil {
		t.Fatal(err)
	}
	e.importInto(newsletter.ImportOptions{List: "nieuw", DoubleOptIn: true}, "later@example.org")
	// Half of the deadline is waited; the other half is the room the put
	// back has (100 ms was too little under a loaded -race run).
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	job := workers.DeliveryJob{Kind: workers.JobConfirm, List: "nieuw", Recipients: []string{"later@example.org"}, NotBefore: time.Now().Add(time.Hour)}
	if err := e.send.Run(ctx, job); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := len(e.sender.emails()); n != 0 {
		t.Errorf("%d emails sent before the job was due", n)
	}
	jobs := e.jobs()
	if len(jobs) != 1 || jobs[0].job.Kind != workers.JobConfirm || !jobs[0].job.NotBefore.Equal(job.NotBefore) {
		t.Errorf("stream after the deadline: %+v, want the job put back", jobs)
	}
}

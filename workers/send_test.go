package workers_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"newsletter"
	"newsletter/internal/ratelimit"
	"newsletter/internal/redistest"
	"newsletter/workers"
)

// A job that comes again for recipients already sent (a redelivered job, or
// a duplicate from a resumed fan-out) makes no SES call and leaves each
// delivery sent with the message id of the one real send.
func TestSendSkipsAlreadySentAndKeepsMessageID(t *testing.T) {
	forEachAPI(t, func(t *testing.T, e *env) {
		e.list("bedrijven", "a@example.org", "b@example.org", "c@example.org")
		ed := e.publish("bedrijven")
		e.fanOut(ed)
		jobs := e.jobs()
		e.runJobs(jobs)
		if n := len(e.sender.emails()); n != 3 {
			t.Fatalf("first send made %d SES calls, want 3", n)
		}
		ids := map[string]string{}
		for _, a := range []string{"a@example.org", "b@example.org", "c@example.org"} {
			d := e.delivery(ed.ID, a)
			if d.State != newsletter.DeliverySent || d.MessageID != e.sender.last(t, a).MessageID {
				t.Fatalf("%s after the send: %+v, want sent with the SES message id", a, d)
			}
			ids[a] = d.MessageID
		}

		e.runJobs(jobs) // every job redelivered
		dup, err := workers.NewMessage(workers.DeliveryJob{EditionID: ed.ID, Recipients: []string{"a@example.org", "b@example.org", "c@example.org"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.send.Handle(dup); err != nil {
			t.Fatal(err)
		}
		if n := len(e.sender.emails()); n != 3 {
			t.Errorf("jobs for sent recipients made %d more SES calls, want none", n-3)
		}
		for a, id := range ids {
			if d := e.delivery(ed.ID, a); d.State != newsletter.DeliverySent || d.MessageID != id {
				t.Errorf("%s: %s with message id %q, want still sent with %q", a, d.State, d.MessageID, id)
			}
		}
	})
}

// An edition cancelled while its jobs are being sent: the jobs handled
// after the cancel send nothing, and their deliveries become skipped with
// the reason; what was sent stays sent.
func TestCancelMidSendSkipsWhatIsNotSent(t *testing.T) {
	forEachAPI(t, func(t *testing.T, e *env) {
		e.list("bedrijven", "a@example.org", "b@example.org", "c@example.org", "d@example.org", "e@example.org")
		ed := e.publish("bedrijven")
		e.fanOut(ed)
		jobs := e.jobs()
		if len(jobs) != 3 {
			t.Fatalf("%d jobs, want 3 chunks of at most 2", len(jobs))
		}
		e.runJobs(jobs[:1])
		sent := slices.Clone(jobs[0].job.Recipients)
		if got := e.sender.to(); len(got) != len(sent) {
			t.Fatalf("first job mailed %v, want %v", got, sent)
		}

		if _, err := e.store.UpdateEdition(e.ctx, ed.ID, func(ed *newsletter.Edition) error {
			ed.State = newsletter.EditionCancelled
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		e.runJobs(jobs[1:])

		if n := len(e.sender.emails()); n != len(sent) {
			t.Errorf("after the cancel SES got %d more emails, want none", n-len(sent))
		}
		for _, j := range jobs[1:] {
			for _, a := range j.job.Recipients {
				d := e.delivery(ed.ID, a)
				if d.State != newsletter.DeliverySkipped || !strings.Contains(d.Reason, "cancelled") {
					t.Errorf("%s after the cancel: %s (%q), want skipped because the edition was cancelled", a, d.State, d.Reason)
				}
			}
		}
		for _, a := range sent {
			if d := e.delivery(ed.ID, a); d.State != newsletter.DeliverySent {
				t.Errorf("%s, sent before the cancel: %s, want sent", a, d.State)
			}
		}
		n, err := e.store.Counts(e.ctx, ed.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n["sent"] != 2 || n["skipped"] != 3 || n["queued"] != 0 || n["sending"] != 0 {
			t.Errorf("counts %v, want 2 sent and 3 skipped", n)
		}
	})
}

// trace records, in order, the permits the limiter granted and the SES
// calls made.
type trace struct {
	mu     sync.Mutex
	events []string // "wait" per permit granted, "send" per SES call
}

func (tr *trace) add(ev string, n int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for range n {
		tr.events = append(tr.events, ev)
	}
}

// check fails unless every SES call since the last check came after a
// permit of its own: in every prefix of the trace, permits ≥ calls. It
// returns the number of calls.
func (tr *trace) check(t *testing.T) int {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	permits, sends, bad := 0, 0, false
	for i, ev := range tr.events {
		if ev == "wait" {
			permits++
			continue
		}
		sends++
		if sends > permits && !bad {
			bad = true
			t.Errorf("SES call %d (event %d of %v) had no rate-limiter permit: %d permits before it", sends, i, tr.events, permits)
		}
	}
	tr.events = nil
	return sends
}

// countingLimiter wraps the real limiter and notes each permit once granted.
type countingLimiter struct {
	inner   workers.Limiter
	tr      *trace
	calls   int
	permits int
}

func (c *countingLimiter) Wait(ctx context.Context, n int) error {
	if err := c.inner.Wait(ctx, n); err != nil {
		return err
	}
	c.calls++ // Wait is only called from the job's own goroutine
	c.permits += n
	c.tr.add("wait", n)
	return nil
}

// Every SES call, of an edition, a test send or a double opt-in
// confirmation, is preceded by a permit of the shared rate limiter.
func TestSendConsultsLimiterBeforeEverySESCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tr := &trace{}
	lim := &countingLimiter{inner: ratelimit.New(redistest.Client(t), e.store.Prefix()+"ratelimit:ses", 1000), tr: tr}
	e.send.Limiter = lim
	e.sender.onSend = func(*newsletter.Email) { tr.add("send", 1) }
	members := []string{"a@example.org", "b@example.org", "c@example.org", "d@example.org", "e@example.org"}
	e.fan.Chunk = 5
	e.list("bedrijven", members...)
	ed := e.publish("bedrijven")

	t.Run("edition", func(t *testing.T) {
		e.fanOut(ed)
		e.runJobs(e.jobs())
		if n := tr.check(t); n != len(members) {
			t.Errorf("%d SES calls, want %d", n, len(members))
		}
	})
	t.Run("test send", func(t *testing.T) {
		before := len(e.sender.emails())
		m, err := workers.NewMessage(workers.DeliveryJob{EditionID: ed.ID, Recipients: []string{"redactie@example.org", "eindredactie@example.org"}, Test: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.send.Handle(m); err != nil {
			t.Fatal(err)
		}
		if n := len(e.sender.emails()) - before; n != 2 {
			t.Errorf("test job made %d SES calls, want 2", n)
		}
		tr.check(t)
	})
	t.Run("confirmation", func(t *testing.T) {
		before := len(e.sender.emails())
		if err := e.store.CreateList(e.ctx, newsletter.List{Slug: "nieuw", Name: "Nieuw", DoubleOptIn: true}); err != nil {
			t.Fatal(err)
		}
		e.importInto(newsletter.ImportOptions{List: "nieuw", DoubleOptIn: true}, "x@example.org", "y@example.org", "z@example.org")
		m, err := workers.NewMessage(workers.DeliveryJob{Kind: workers.JobConfirm, List: "nieuw", Recipients: []string{"x@example.org", "y@example.org", "z@example.org"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.send.Handle(m); err != nil {
			t.Fatal(err)
		}
		if n := len(e.sender.emails()) - before; n != 3 {
			t.Errorf("confirmation job made %d SES calls, want 3", n)
		}
		tr.check(t)
	})
	t.Run("confirmations have their own budget", func(t *testing.T) {
		notices := &countingLimiter{inner: ratelimit.New(redistest.Client(t), e.store.Prefix()+"ratelimit:ses-notices", 1000), tr: tr}
		e.send.NoticeLimiter = notices
		defer func() { e.send.NoticeLimiter = nil }()
		editions := lim.calls
		e.importInto(newsletter.ImportOptions{List: "nieuw", DoubleOptIn: true}, "w@example.org")
		m, err := workers.NewMessage(workers.DeliveryJob{Kind: workers.JobConfirm, List: "nieuw", Recipients: []string{"w@example.org"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.send.Handle(m); err != nil {
			t.Fatal(err)
		}
		if lim.calls != editions || notices.calls != 1 {
			t.Errorf("a confirmation took %d permits from the editions' limiter and %d from its own, want 0 and 1", lim.calls-editions, notices.calls)
		}
		tr.check(t)
	})
	if sends := len(e.sender.emails()); lim.permits < sends-1 {
		t.Errorf("%d permits for %d emails", lim.permits, sends)
	}
}

// An unsubscribe or a suppression after the fan-out wins: the send step
// checks again and skips those addresses with the reason.
func TestSendRechecksAfterFanOut(t *testing.T) {
	forEachGreeting(t, func(t *testing.T, e *env) {
		e.list("bedrijven", "a@example.org", "weg@example.org", "stuit@example.org", "b@example.org")
		ed := e.publish("bedrijven")
		e.fanOut(ed)
		if err := e.store.Unsubscribe(e.ctx, "weg@example.org", "", "one-click"); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Suppress(e.ctx, "stuit@example.org", "bounce", "5.1.1"); err != nil {
			t.Fatal(err)
		}
		e.runJobs(e.jobs())
		if got := e.sender.to(); !slices.Equal(got, []string{"a@example.org", "b@example.org"}) {
			t.Errorf("SES got %v, want only a@ and b@", got)
		}
		for addr, why := range map[string]string{"weg@example.org": "unsubscribed", "stuit@example.org": "suppressed"} {
			if d := e.delivery(ed.ID, addr); d.State != newsletter.DeliverySkipped || d.Reason != why {
				t.Errorf("%s: %s (%q), want skipped (%q)", addr, d.State, d.Reason, why)
			}
		}
	})
}

// Leaving a list after the fan-out wins as well: a partner who unsubscribes
// from the edition's list on the preferences page (staying subscribed to
// others), or whom an admin takes off the list, is skipped; one still on
// another list the edition went to gets it, once.
func TestSendRechecksListMembershipAfterFanOut(t *testing.T) {
	forEachGreeting(t, func(t *testing.T, e *env) {
		e.list("bedrijven", "a@example.org", "lijstweg@example.org", "beide@example.org", "verwijderd@example.org")
		e.list("onderwijs", "beide@example.org")
		e.list("overheid", "lijstweg@example.org")
		ed := e.publish("bedrijven", "onderwijs")
		e.fanOut(ed)
		for _, who := range []string{"lijstweg@example.org", "beide@example.org"} {
			if err := e.store.Unsubscribe(e.ctx, who, "bedrijven", "preferences page"); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.store.RemoveMembership(e.ctx, "verwijderd@example.org", "bedrijven"); err != nil {
			t.Fatal(err)
		}
		e.runJobs(e.jobs())
		if got := e.sender.to(); !slices.Equal(got, []string{"a@example.org", "beide@example.org"}) {
			t.Errorf("SES got %v, want only a@ and beide@ (still on onderwijs)", got)
		}
		for _, addr := range []string{"lijstweg@example.org", "verwijderd@example.org"} {
			if d := e.delivery(ed.ID, addr); d.State != newsletter.DeliverySkipped || d.Reason != "left the list" {
				t.Errorf("%s: %s (%q), want skipped (%q)", addr, d.State, d.Reason, "left the list")
			}
		}
	})
}

// forEachGreeting runs test on both APIs with an edition that greets by
// name (the re-check reads each subscriber's record) and one that does
// not (it reads the status sets).
func forEachGreeting(t *testing.T, test func(t *testing.T, e *env)) {
	for _, g := range []string{"Beste {naam},", "Beste partners,"} {
		t.Run(g, func(t *testing.T) {
			forEachAPI(t, func(t *testing.T, e *env) {
				e.greeting = g
				test(t, e)
			})
		})
	}
}

// An edition that greets by name gets each recipient's name from the
// re-check, on both APIs; one that does not carries no name.
func TestSendGreetsByNameOnlyWhenAsked(t *testing.T) {
	forEachGreeting(t, func(t *testing.T, e *env) {
		e.list("bedrijven", "a@example.org", "b@example.org")
		ed := e.publish("bedrijven")
		e.fanOut(ed)
		e.runJobs(e.jobs())
		for _, to := range []string{"a@example.org", "b@example.org"} {
			got := e.sender.last(t, to).Personal
			named := strings.Contains(got, "Naam "+to)
			if want := e.greeting == "Beste {naam},"; named != want {
				t.Errorf("email to %s (greeting %q) has the name: %v, want %v; its personal part: %.300s", to, e.greeting, named, want, got)
			}
		}
	})
}

// A job that finds a delivery still "sending" (its worker stopped during
// the SES call) marks it unknown and does not send it again.
func TestSendMarksOrphansUnknown(t *testing.T) {
	forEachAPI(t, func(t *testing.T, e *env) {
		e.list("bedrijven", "a@example.org", "b@example.org")
		ed := e.publish("bedrijven")
		e.fanOut(ed)
		// The worker that claimed a@ died before it could record the outcome.
		if _, err := e.store.Transition(e.ctx, ed.ID, []newsletter.Transition{{Email: "a@example.org",
			From: []newsletter.DeliveryState{newsletter.DeliveryQueued}, To: newsletter.DeliverySending}}); err != nil {
			t.Fatal(err)
		}
		e.runJobs(e.jobs())
		if got := e.sender.to(); !slices.Equal(got, []string{"b@example.org"}) {
			t.Errorf("SES got %v, want only b@", got)
		}
		if d := e.delivery(ed.ID, "a@example.org"); d.State != newsletter.DeliveryUnknown || d.Reason == "" {
			t.Errorf("orphan: %s (%q), want unknown with a reason", d.State, d.Reason)
		}
		if d := e.delivery(ed.ID, "b@example.org"); d.State != newsletter.DeliverySent {
			t.Errorf("b@: %s, want sent", d.State)
		}
	})
}

// An erased address that asked again on the public form gets the
// confirmation email, and nothing else: no fresh preferences link.
func TestNoticesToAnErasedAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.store.CreateList(e.ctx, newsletter.List{Slug: "nieuw", Name: "Nieuw", Public: true}); err != nil {
		t.Fatal(err)
	}
	e.importInto(newsletter.ImportOptions{List: "nieuw"}, "terug@example.org", "weg@example.org")
	for _, p := range []string{"terug@example.org", "weg@example.org"} {
		if _, err := e.store.Erase(e.ctx, p, nil, "", false); err != nil {
			t.Fatal(err)
		}
	}
	if asked, err := e.store.RequestMembership(e.ctx, "terug@example.org", "nieuw"); err != nil || !asked {
		t.Fatalf("an erased address asking again: %v, %v; want asked", asked, err)
	}
	handle := func(job workers.DeliveryJob) []string {
		t.Helper()
		before := len(e.sender.emails())
		m, err := workers.NewMessage(job)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.send.Handle(m); err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, em := range e.sender.emails()[before:] {
			to = append(to, em.To)
		}
		return to
	}
	both := []string{"terug@example.org", "weg@example.org"}
	if to := handle(workers.DeliveryJob{Kind: workers.JobConfirm, List: "nieuw", Recipients: both}); len(to) != 1 || to[0] != "terug@example.org" {
		t.Errorf("confirmation emails went to %v, want only the one who asked again", to)
	}
	if to := handle(workers.DeliveryJob{Kind: workers.JobPreferencesLink, Recipients: both}); len(to) != 0 {
		t.Errorf("preferences links went to erased addresses %v", to)
	}
}

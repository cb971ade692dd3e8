package workers_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"newsletter"
	"newsletter/workers"
)

// scriptedBulk answers each entry by its address: a prefix chooses the
// outcome.
type scriptedBulk struct {
	mu    sync.Mutex
	calls [][]string
}

func (b *scriptedBulk) SendBulk(ctx context.Context, m *newsletter.BulkEmail) ([]newsletter.BulkResult, error) {
	b.mu.Lock()
	var to []string
	for _, en := range m.Entries {
		to = append(to, en.To)
	}
	b.calls = append(b.calls, to)
	b.mu.Unlock()
	out := make([]newsletter.BulkResult, len(m.Entries))
	for i, en := range m.Entries {
		switch {
		case strings.HasPrefix(en.To, "rejected"):
			out[i].Err = newsletter.Permanent(errors.New("SES refused the email: MESSAGE_REJECTED: no"))
		case strings.HasPrefix(en.To, "throttled"):
			out[i].Err = errors.New("SES did not send the email: ACCOUNT_THROTTLED")
		case strings.HasPrefix(en.To, "quota"):
			out[i].Err = newsletter.ErrDailyQuota
		default:
			out[i].MessageID = "m-" + en.To
		}
	}
	return out, nil
}

// Per-entry results of one SendBulkEmail go into the state machine one by
// one: accepted → sent with its message id, rejected → failed with the
// reason, throttled → retried alone one attempt later, daily quota → waits
// (no attempt spent) and sending pauses, visibly.
func TestBulkPerEntryOutcomes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bulk := &scriptedBulk{}
	e.send.Bulk = bulk
	e.fan.Chunk = 10
	e.list("bedrijven", "a@example.org", "rejected@example.org", "throttled@example.org", "quota@example.org")
	ed := e.publish("bedrijven")
	e.fanOut(ed)
	jobs := e.jobs()
	e.runJobs(jobs)
	if len(bulk.calls) != 1 || len(bulk.calls[0]) != 4 {
		t.Fatalf("SES calls %v, want one SendBulkEmail with the four", bulk.calls)
	}
	want := map[string]newsletter.DeliveryState{"a@example.org": newsletter.DeliverySent, "rejected@example.org": newsletter.DeliveryFailed,
		"throttled@example.org": newsletter.DeliveryQueued, "quota@example.org": newsletter.DeliveryQueued}
	for a, st := range want {
		if d := e.delivery(ed.ID, a); d.State != st {
			t.Errorf("%s: %s (%q), want %s", a, d.State, d.Reason, st)
		}
	}
	if d := e.delivery(ed.ID, "a@example.org"); d.MessageID != "m-a@example.org" {
		t.Errorf("sent delivery has message id %q", d.MessageID)
	}
	if d := e.delivery(ed.ID, "rejected@example.org"); !strings.Contains(d.Reason, "MESSAGE_REJECTED") {
		t.Errorf("failed delivery's reason %q does not say why", d.Reason)
	}
	more := e.jobs()[len(jobs):]
	var retry, wait *workers.DeliveryJob
	for i, j := range more {
		switch {
		case len(j.job.Recipients) == 1 && j.job.Recipients[0] == "throttled@example.org":
			retry = &more[i].job
		case len(j.job.Recipients) == 1 && j.job.Recipients[0] == "quota@example.org":
			wait = &more[i].job
		}
	}
	if retry == nil || retry.Attempt != 1 {
		t.Errorf("throttled entry's new job: %+v, want a job of its own at attempt 1 (jobs %v)", retry, more)
	}
	if wait == nil || wait.Attempt != 0 || wait.NotBefore.Before(time.Now().Add(9*time.Minute)) {
		t.Errorf("quota entry's new job: %+v, want the same attempt, not before the pause ends (10 min)", wait)
	}
	mark, err := e.store.GetMark(e.ctx, workers.QuotaMark)
	if err != nil || !strings.Contains(mark, "sending paused until") {
		t.Errorf("quota pause mark %q (%v), want it visible", mark, err)
	}
	// While paused, a job sends nothing and claims nothing.
	if err := e.send.Run(e.ctx, *retry); err != nil {
		t.Fatal(err)
	}
	if len(bulk.calls) != 1 {
		t.Errorf("%d SES calls while the daily quota is used up, want none", len(bulk.calls)-1)
	}
	if d := e.delivery(ed.ID, "throttled@example.org"); d.State != newsletter.DeliveryQueued {
		t.Errorf("during the pause: %s, want still queued", d.State)
	}
}

// flakyRecord is the store with Redis away for Record while down is set.
type flakyRecord struct {
	workers.Store
	mu   sync.Mutex
	down bool
}

func (f *flakyRecord) Record(ctx context.Context, id string, outs []newsletter.SendOutcome) ([]newsletter.TransitionResult, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return nil, newsletter.Errorf(newsletter.EUNAVAILABLE, "Redis is not reachable (test)")
	}
	return f.Store.Record(ctx, id, outs)
}

// Redis away when the outcomes of a call come back creates no unknown:
// they are kept in memory, the job fails and comes again, and the retry
// (same process) neither takes its own claims for orphans nor sends
// again; the kept outcomes are recorded first.
func TestRedisOutageKeepsOutcomes(t *testing.T) {
	forEachAPI(t, func(t *testing.T, e *env) {
		e.send.RecordBudget = 50 * time.Millisecond
		flaky := &flakyRecord{Store: e.store, down: true}
		e.send.Store = flaky
		e.list("bedrijven", "a@example.org", "b@example.org")
		ed := e.publish("bedrijven")
		e.fanOut(ed)
		jobs := e.jobs()
		for _, j := range jobs {
			err := e.send.Handle(j.msg)
			if err == nil || !strings.Contains(err.Error(), "kept in memory") {
				t.Fatalf("job with Redis away at recording: %v, want an error that says the outcomes are kept", err)
			}
		}
		for _, j := range jobs { // redelivered while Redis is still away
			_ = e.send.Handle(j.msg)
		}
		flaky.mu.Lock()
		flaky.down = false
		flaky.mu.Unlock()
		for _, j := range jobs {
			if err := e.send.Handle(j.msg); err != nil {
				t.Fatalf("job after Redis is back: %v", err)
			}
		}
		if got := e.sender.to(); len(got) != 2 {
			t.Errorf("SES got %v, want each address once", got)
		}
		for _, a := range []string{"a@example.org", "b@example.org"} {
			if d := e.delivery(ed.ID, a); d.State != newsletter.DeliverySent || d.MessageID == "" {
				t.Errorf("%s: %s (%q), want sent with its message id", a, d.State, d.Reason)
			}
		}
	})
}

// A claim another live process holds (its lease not expired) is neither
// sent nor taken for an orphan: the recipient waits until the lease ends.
func TestLiveClaimOfAnotherProcessIsLeftAlone(t *testing.T) {
	forEachAPI(t, func(t *testing.T, e *env) {
		e.list("bedrijven", "a@example.org", "b@example.org")
		ed := e.publish("bedrijven")
		e.fanOut(ed)
		if _, err := e.store.Claim(e.ctx, ed.ID, "other-host/xyz", time.Minute, []string{"a@example.org"}); err != nil {
			t.Fatal(err)
		}
		before := len(e.jobs())
		e.runJobs(e.jobs())
		if got := e.sender.to(); len(got) != 1 || got[0] != "b@example.org" {
			t.Errorf("SES got %v, want only b@", got)
		}
		if d := e.delivery(ed.ID, "a@example.org"); d.State != newsletter.DeliverySending {
			t.Errorf("a@, claimed by a live process: %s, want still sending (not unknown)", d.State)
		}
		var later []workers.DeliveryJob
		for _, j := range e.jobs()[before:] {
			later = append(later, j.job)
		}
		if len(later) != 1 || later[0].Recipients[0] != "a@example.org" || later[0].NotBefore.Before(time.Now().Add(50*time.Second)) {
			t.Errorf("jobs added %+v, want one for a@ after the other's lease", later)
		}
	})
}

// A job that names a recipient twice mails it once and counts it once.
func TestRepeatedRecipientInOneJob(t *testing.T) {
	forEachAPI(t, func(t *testing.T, e *env) {
		e.list("bedrijven", "a@example.org", "b@example.org")
		ed := e.publish("bedrijven")
		e.fanOut(ed)
		if err := e.send.Run(e.ctx, workers.DeliveryJob{EditionID: ed.ID, Recipients: []string{"a@example.org", "b@example.org", "a@example.org"}}); err != nil {
			t.Fatal(err)
		}
		if got := e.sender.to(); len(got) != 2 {
			t.Errorf("SES got %v, want a@ and b@ once each", got)
		}
		n, err := e.store.Counts(e.ctx, ed.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n["sent"] != 2 || n["sending"] != 0 || n["queued"] != 0 {
			t.Errorf("counts %v, want 2 sent", n)
		}
	})
}

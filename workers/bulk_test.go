package workers_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/render"
	"newsletter/internal/sesfake"
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
		if _, err := e.store.Claim(e.ctx, ed.ID, nil, true, "other-host/xyz", time.Minute, []string{"a@example.org"}); err != nil {
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

// tokenLinks are links of the form the app makes, base + "/u/" + token,
// except for addresses starting with "odd": theirs begin elsewhere.
type tokenLinks struct{ testLinks }

func (tokenLinks) token(email string) string {
	return strings.NewReplacer("@", "-at-").Replace(email)
}

func (l tokenLinks) Unsubscribe(email, editionID string) string {
	if strings.HasPrefix(email, "odd") {
		return "https://elsewhere.example/unsubscribe?who=" + email
	}
	return "https://example.org/u/" + l.token(email)
}

func (l tokenLinks) Preferences(email string) string {
	return "https://example.org/p/" + l.token(email)
}

// renderingBulk fills every entry's template the way SES does and keeps
// the emails, and which link variables each call's content had.
type renderingBulk struct {
	t      *testing.T
	mu     sync.Mutex
	emails map[string][2]string // to → HTML, text
	forms  []string
}

func (b *renderingBulk) SendBulk(ctx context.Context, m *newsletter.BulkEmail) ([]newsletter.BulkResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	form := "urls"
	if strings.Contains(m.HTML, "{{unsubscribe_token}}") {
		form = "tokens"
	}
	b.forms = append(b.forms, form)
	out := make([]newsletter.BulkResult, len(m.Entries))
	for i, en := range m.Entries {
		var data map[string]string
		if err := json.Unmarshal(en.Data, &data); err != nil {
			b.t.Fatalf("%s: template data %s: %v", en.To, en.Data, err)
		}
		html, err := sesfake.RenderTemplate(m.HTML, data)
		if err != nil {
			b.t.Fatal(err)
		}
		text, err := sesfake.RenderTemplate(m.Text, data)
		if err != nil {
			b.t.Fatal(err)
		}
		b.emails[en.To] = [2]string{html, text}
		out[i].MessageID = "m-" + en.To
	}
	return out, nil
}

// A call whose recipients' links share their beginnings carries only each
// recipient's tokens; a call with one recipient whose links begin
// elsewhere carries whole URLs for all. Either way every recipient gets
// exactly the email the single path would send, with their own links.
func TestBulkLinksAsTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	links := tokenLinks{}
	e.send.Links = links
	bulk := &renderingBulk{t: t, emails: map[string][2]string{}}
	e.send.Bulk = bulk
	e.fan.Chunk = 10
	lists := map[string][]string{"bedrijven": {"a@example.org", "b@example.org"}, "scholen": {"c@example.org", "odd@example.org"}}
	for _, l := range []string{"bedrijven", "scholen"} {
		e.list(l, lists[l]...)
		ed := e.publish(l)
		e.fanOut(ed)
		e.runJobs(e.jobs())
		tmpl, err := e.send.Template(ed)
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range lists[l] {
			got, ok := bulk.emails[to]
			if !ok {
				t.Fatalf("no email to %s", to)
			}
			html, text := tmpl.Personalise(render.Personal{UnsubscribeURL: links.Unsubscribe(to, ed.ID), PreferencesURL: links.Preferences(to),
				WebURL: links.WebVersion(ed.ID)})
			if got[0] != string(html) || got[1] != string(text) {
				t.Errorf("%s: the email SES renders differs from the single path's", to)
			}
			if !strings.Contains(got[1], links.Unsubscribe(to, ed.ID)) {
				t.Errorf("%s: the text part lacks the recipient's own unsubscribe link", to)
			}
		}
	}
	if strings.Join(bulk.forms, ",") != "tokens,urls" {
		t.Errorf("the calls' link forms %v, want tokens for bedrijven, whole URLs for scholen", bulk.forms)
	}
}

package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"newsletter"
	"newsletter/internal/render"
)

// Sender sends one email and returns the provider's message id. It must not
// keep m.HTML or m.Text after returning (the caller reuses them). Errors:
// newsletter.IsPermanent → do not retry; newsletter.ErrUnknownOutcome → it
// may have been accepted; anything else → retry later.
type Sender interface {
	Send(ctx context.Context, m *newsletter.Email) (messageID string, err error)
}

// Limiter paces sends across all processes.
type Limiter interface {
	Wait(ctx context.Context, n int) error
}

// Links builds the per-recipient URLs.
type Links interface {
	Unsubscribe(email, editionID string) string
	Preferences(email string) string
	WebVersion(editionID string) string
	Confirm(email, list string) string
}

// Send mails delivery jobs: claim, re-check, pace, personalise, send, record.
type Send struct {
	Store    Store
	Sender   Sender
	Renderer *render.Renderer
	Links    Links
	Limiter  Limiter
	// NoticeLimiter paces service emails (confirmations, fresh links) on
	// their own share of the account's rate, so that however many arrive
	// they never take an edition's; nil: they share Limiter.
	NoticeLimiter Limiter
	From          string
	ListID        string // List-Id header value, e.g. "Nieuwsbrief <nieuwsbrief.example.org>"
	// Concurrency bounds SES calls in flight in this process.
	Concurrency int
	MaxAttempts int
	Logger      *slog.Logger
	Now         func() time.Time

	once  sync.Once
	sem   chan struct{}
	mu    sync.Mutex
	cache map[string]*render.Template // edition id+hash → rendered once
}

func (s *Send) init() {
	s.once.Do(func() {
		if s.Concurrency <= 0 {
			s.Concurrency = 32
		}
		if s.MaxAttempts <= 0 {
			s.MaxAttempts = 8
		}
		if s.Now == nil {
			s.Now = time.Now
		}
		s.sem = make(chan struct{}, s.Concurrency)
		s.cache = map[string]*render.Template{}
	})
}

// Handle is the Watermill handler.
func (s *Send) Handle(msg *message.Message) error {
	var job DeliveryJob
	if err := decode(msg, &job); err != nil {
		return err
	}
	return s.Run(msg.Context(), job)
}

// Template returns the edition's rendered template, rendering it at most
// once per process (editions are frozen once published).
func (s *Send) Template(e *newsletter.Edition) (*render.Template, error) {
	s.init()
	key := e.ID + "/" + e.Hash
	s.mu.Lock()
	t, ok := s.cache[key]
	s.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := s.Renderer.Render(e)
	if err != nil {
		return nil, newsletter.Permanent(fmt.Errorf("render edition %s: %w", e.ID, err))
	}
	s.mu.Lock()
	if len(s.cache) > 64 {
		clear(s.cache)
	}
	s.cache[key] = t
	s.mu.Unlock()
	return t, nil
}

type buffers struct{ html, text []byte }

var bufPool = sync.Pool{New: func() any { return new(buffers) }}

type outcome struct {
	email string
	msgID string
	err   error
}

// Run processes one job: wait until it is due, claim its deliveries, mark
// orphans, re-check the claimed addresses, send, record.
func (s *Send) Run(ctx context.Context, job DeliveryJob) error {
	s.init()
	switch job.Kind {
	case JobConfirm:
		return s.runConfirm(ctx, job)
	case JobPreferencesLink:
		return s.runPreferencesLink(ctx, job)
	}
	if len(job.Recipients) == 0 || job.EditionID == "" {
		return newsletter.Permanent(errors.New("delivery job without edition or recipients"))
	}
	if requeued, err := s.waitUntilDue(ctx, job); requeued || err != nil {
		return err
	}
	e, err := s.Store.GetEdition(ctx, job.EditionID)
	if err != nil {
		if newsletter.ErrorCode(err) == newsletter.ENOTFOUND {
			return newsletter.Permanent(err)
		}
		return err
	}
	if held, err := s.holdIfPaused(ctx, e, job); held || err != nil { // issue 11: pause
		return err
	}
	tmpl, err := s.Template(e)
	if err != nil {
		return err
	}
	if job.Test {
		return s.runTest(ctx, e, tmpl, job)
	}
	claimed, orphans, err := s.claim(ctx, e.ID, job.Recipients)
	if err != nil {
		return err
	}
	if err := s.markOrphans(ctx, e.ID, orphans); err != nil {
		return err
	}
	if len(claimed) == 0 {
		return nil
	}
	if e.State == newsletter.EditionCancelled {
		return s.finish(ctx, e, job, nil, claimed, "edition cancelled")
	}
	to, err := s.recheck(ctx, e.ID, claimed)
	if err != nil {
		return err
	}
	outs := s.sendAll(ctx, e, tmpl, to)
	return s.finish(ctx, e, job, outs, nil, "")
}

// waitUntilDue waits until the job's NotBefore. It never waits into the
// handler's deadline: a timed-out job is nacked and redelivered in a loop
// (holding a slot, and idle long enough for other consumers to claim it too)
// or poisoned. It waits at most half the time left, then puts the job back
// on the stream and reports requeued: the caller is done with this copy.
func (s *Send) waitUntilDue(ctx context.Context, job DeliveryJob) (requeued bool, err error) {
	d := job.NotBefore.Sub(s.Now())
	if d <= 0 {
		return false, nil
	}
	if dl, ok := ctx.Deadline(); ok {
		if half := time.Until(dl) / 2; d > half {
			d, requeued = max(half, 0), true
		}
	}
	if err := sleep(ctx, d); err != nil {
		return false, err
	}
	if !requeued {
		return false, nil
	}
	m, err := NewMessage(job)
	if err != nil {
		return true, err
	}
	return true, s.Store.Append(ctx, TopicDeliveries, m)
}

// claim moves the recipients' deliveries queued → sending, atomically. It
// returns the ones this job now owns, and the orphans: deliveries still
// "sending", which means the job was redelivered after a worker died
// mid-call. Recipients in any other state (already sent, skipped, ...) are
// neither: this job leaves them alone.
func (s *Send) claim(ctx context.Context, id string, recipients []string) (claimed, orphans []string, err error) {
	ts := make([]newsletter.Transition, len(recipients))
	for i, r := range recipients {
		ts[i] = newsletter.Transition{Email: r, From: []newsletter.DeliveryState{newsletter.DeliveryQueued}, To: newsletter.DeliverySending}
	}
	res, err := s.Store.Transition(ctx, id, ts)
	if err != nil {
		return nil, nil, err
	}
	for i, r := range res {
		switch {
		case r.Done:
			claimed = append(claimed, recipients[i])
		case r.Current == newsletter.DeliverySending:
			orphans = append(orphans, recipients[i])
		}
	}
	return claimed, orphans, nil
}

// markOrphans turns deliveries left in "sending" by a stopped worker into
// "unknown": nobody knows whether SES accepted them, so they are not resent.
func (s *Send) markOrphans(ctx context.Context, id string, orphans []string) error {
	if len(orphans) == 0 {
		return nil
	}
	ts := make([]newsletter.Transition, len(orphans))
	for i, o := range orphans {
		ts[i] = newsletter.Transition{Email: o, From: []newsletter.DeliveryState{newsletter.DeliverySending}, To: newsletter.DeliveryUnknown,
			Reason: "a worker stopped during the SES call; not resent automatically to avoid a duplicate"}
	}
	if _, err := s.Store.Transition(ctx, id, ts); err != nil {
		return err
	}
	s.Logger.Warn("deliveries left in sending by a stopped worker marked unknown", "edition_id", id, "count", len(orphans))
	return nil
}

// recipient is one claimed address that may still be mailed.
type recipient struct{ email, name string }

// recheck asks again whether the claimed addresses may be mailed: an
// unsubscribe or suppression since fan-out wins. Those that may not become
// skipped with the reason. On a storage error every claimed delivery goes
// back to queued and the error is returned.
func (s *Send) recheck(ctx context.Context, id string, claimed []string) ([]recipient, error) {
	info, err := s.Store.Deliverable(ctx, claimed)
	if err != nil {
		return nil, s.release(ctx, id, claimed, err)
	}
	var to []recipient
	var skipped []newsletter.Transition
	for i, em := range claimed {
		if info[i].Why != "" {
			skipped = append(skipped, newsletter.Transition{Email: em, From: claimedStates, To: newsletter.DeliverySkipped, Reason: info[i].Why})
			continue
		}
		to = append(to, recipient{email: em, name: info[i].Name})
	}
	if _, err := s.Store.Transition(ctx, id, skipped); err != nil {
		// The script is atomic: the skipped ones are still ours too.
		return nil, s.release(ctx, id, claimed, err)
	}
	return to, nil
}

// sendAll mails to, at most Concurrency at a time, each call after a free
// slot and then a rate-limiter permit: a permit taken while waiting for a
// slot would be spent late, and permits piled up that way leave together,
// above the rate. When a slot or a permit cannot be had (the context
// ended), the rest are not sent and get that error as their outcome.
//
// A call once started is not cancelled with ctx (the handler's deadline):
// cancelling it mid-flight would only leave in doubt whether SES accepted
// the email. It keeps the Sender's own timeout.
func (s *Send) sendAll(ctx context.Context, e *newsletter.Edition, tmpl *render.Template, to []recipient) []outcome {
	m := s.mailFor(e, tmpl.Subject, "newsletter")
	outs := make([]outcome, len(to))
	inFlight := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for i, r := range to {
		var err error
		select {
		case s.sem <- struct{}{}:
			// Both may be ready at once: a slot taken after the end is
			// not used.
			if err = ctx.Err(); err == nil {
				err = s.Limiter.Wait(ctx, 1)
			}
			if err != nil {
				<-s.sem
			}
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil { // never sent: the rest go back to queued
			for j := i; j < len(to); j++ {
				outs[j] = outcome{email: to[j].email, err: err}
			}
			break
		}
		wg.Add(1)
		go func(i int, r recipient) {
			defer wg.Done()
			defer func() { <-s.sem }()
			id, err := s.sendOne(inFlight, tmpl, m, r.email, r.name)
			outs[i] = outcome{email: r.email, msgID: id, err: err}
		}(i, r)
	}
	wg.Wait()
	return outs
}

// jobMail is what every email of one job shares, built once per job.
type jobMail struct {
	subject, webURL string
	tags            map[string]string
}

func (s *Send) mailFor(e *newsletter.Edition, subject, kind string) jobMail {
	return jobMail{subject: subject, webURL: s.Links.WebVersion(e.ID),
		tags: map[string]string{"edition_id": e.ID, "kind": kind}}
}

// listHeaders are the RFC 2369/8058 headers of every email we send.
func (s *Send) listHeaders(unsub string) [][2]string {
	h := make([][2]string, 0, 3)
	h = append(h, [2]string{"List-Unsubscribe", "<" + unsub + ">"}, [2]string{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"})
	if s.ListID != "" {
		h = append(h, [2]string{"List-Id", s.ListID})
	}
	return h
}

// sendOne personalises and sends one email. The unsubscribe URL is signed
// once and used in both the body and the List-Unsubscribe header.
func (s *Send) sendOne(ctx context.Context, tmpl *render.Template, m jobMail, to, name string) (string, error) {
	p := render.Personal{
		Name:           name,
		UnsubscribeURL: s.Links.Unsubscribe(to, m.tags["edition_id"]),
		PreferencesURL: s.Links.Preferences(to),
		WebURL:         m.webURL,
	}
	// Reuse buffers: the Sender copies what it needs before returning.
	b := bufPool.Get().(*buffers)
	defer bufPool.Put(b)
	b.html = tmpl.AppendHTML(b.html[:0], p)
	b.text = tmpl.AppendText(b.text[:0], p)
	return s.Sender.Send(ctx, &newsletter.Email{From: s.From, To: to, Subject: m.subject, HTML: b.html, Text: b.text,
		Headers: s.listHeaders(p.UnsubscribeURL), Tags: m.tags})
}

// claimedStates are the states a delivery this job claimed can be in: its
// own "sending", or "unknown" set meanwhile by a duplicate job (fan-out
// resuming after a crash re-enqueues recipients; a job read but not yet
// handled can be claimed by another consumer) that took the live send for an
// orphan. The job that made the SES call knows the real outcome, so it wins:
// otherwise a refused send would stay "unknown" and never be retried.
var claimedStates = []newsletter.DeliveryState{newsletter.DeliverySending, newsletter.DeliveryUnknown}

// finish records outcomes. Retryable failures go back to queued and into a
// new job with backoff; cancelled recipients are skipped.
func (s *Send) finish(ctx context.Context, e *newsletter.Edition, job DeliveryJob, outs []outcome, cancelled []string, why string) error {
	sending := claimedStates
	var ts []newsletter.Transition
	var retry []string
	ids := map[string]string{}
	for _, c := range cancelled {
		ts = append(ts, newsletter.Transition{Email: c, From: sending, To: newsletter.DeliverySkipped, Reason: why})
	}
	for _, o := range outs {
		switch {
		case o.err == nil:
			ids[o.email] = o.msgID
			ts = append(ts, newsletter.Transition{Email: o.email, From: sending, To: newsletter.DeliverySent, MessageID: o.msgID})
		case newsletter.IsPermanent(o.err):
			ts = append(ts, newsletter.Transition{Email: o.email, From: sending, To: newsletter.DeliveryFailed, Reason: o.err.Error()})
		case errors.Is(o.err, newsletter.ErrUnknownOutcome):
			ts = append(ts, newsletter.Transition{Email: o.email, From: sending, To: newsletter.DeliveryUnknown, Reason: o.err.Error()})
		case job.Attempt+1 >= s.MaxAttempts:
			ts = append(ts, newsletter.Transition{Email: o.email, From: sending, To: newsletter.DeliveryFailed,
				Reason: fmt.Sprintf("gave up after %d attempts: %v", job.Attempt+1, o.err)})
		default:
			retry = append(retry, o.email)
			ts = append(ts, newsletter.Transition{Email: o.email, From: sending, To: newsletter.DeliveryQueued, Reason: "retrying: " + o.err.Error()})
		}
	}
	// Record even if the handler's context ended: the sends happened.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := s.Store.Transition(rctx, e.ID, ts); err != nil {
		return fmt.Errorf("record outcomes of edition %s: %w", e.ID, err)
	}
	if err := s.Store.IndexMessageIDs(rctx, e.ID, ids); err != nil {
		s.Logger.Warn("index SES message ids", "edition_id", e.ID, "err", err)
	}
	if len(retry) > 0 {
		wait := backoff(job.Attempt)
		m, err := NewMessage(DeliveryJob{EditionID: e.ID, Recipients: retry, Attempt: job.Attempt + 1, NotBefore: s.Now().Add(wait)})
		if err != nil {
			return err
		}
		if err := s.Store.Append(rctx, TopicDeliveries, m); err != nil {
			return fmt.Errorf("re-enqueue %d deliveries of edition %s: %w", len(retry), e.ID, err)
		}
		s.Logger.Info("deliveries will be retried", "edition_id", e.ID, "count", len(retry), "attempt", job.Attempt+1, "after", wait)
	}
	return nil
}

// release puts claimed deliveries back to queued when the job must be
// retried as a whole (e.g. Redis hiccup before any send).
func (s *Send) release(ctx context.Context, id string, emails []string, cause error) error {
	ts := make([]newsletter.Transition, len(emails))
	for i, em := range emails {
		ts[i] = newsletter.Transition{Email: em, From: claimedStates, To: newsletter.DeliveryQueued}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := s.Store.Transition(rctx, id, ts); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// runTest sends a test: no state machine, not counted. Addresses that
// failed for a passing reason go into a new test job with backoff, so the
// ones that got it are not mailed twice.
func (s *Send) runTest(ctx context.Context, e *newsletter.Edition, tmpl *render.Template, job DeliveryJob) error {
	m := s.mailFor(e, "[TEST] "+tmpl.Subject, "test")
	var retry []string
	for i, to := range job.Recipients {
		if err := s.Limiter.Wait(ctx, 1); err != nil {
			retry = append(retry, job.Recipients[i:]...)
			break
		}
		id, err := s.sendOne(ctx, tmpl, m, to, "")
		switch {
		case err == nil:
			if err := s.Store.RecordTestSend(ctx, e.ID, to, id); err != nil {
				s.Logger.Warn("record test send", "edition_id", e.ID, "err", err)
			}
		case newsletter.IsPermanent(err), errors.Is(err, newsletter.ErrUnknownOutcome), job.Attempt+1 >= s.MaxAttempts:
			s.Logger.Error("test send failed", "edition_id", e.ID, "to", to, "err", err)
		default:
			retry = append(retry, to)
		}
	}
	if len(retry) == 0 {
		return nil
	}
	next := job
	next.Recipients, next.Attempt, next.NotBefore = retry, job.Attempt+1, s.Now().Add(backoff(job.Attempt))
	msg, err := NewMessage(next)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return s.Store.Append(rctx, TopicDeliveries, msg)
}

// backoff is the wait before retry attempt n+1: exponential, capped at five
// minutes, with jitter so retries of many deliveries spread out.
func backoff(attempt int) time.Duration {
	d := min(time.Duration(1<<min(attempt, 8))*time.Second, 5*time.Minute)
	return d + time.Duration(rand.Int64N(int64(d/2)))
}

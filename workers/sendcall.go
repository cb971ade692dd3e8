package workers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"newsletter"
	"newsletter/internal/address"
	"newsletter/internal/render"
)

// recipient is one claimed address that may be mailed now; hash is
// address.Hash(email), list the list its delivery is attributed to.
type recipient struct{ email, name, hash, list string }

// call is one SES call's worth of a job: the recipients to mail, and the
// outcomes already known without mailing (skipped at the re-check,
// orphans, claims handed back).
type call struct {
	emails []string // the whole batch, claimed or not: the slot weight
	to     []recipient
	outs   []newsletter.SendOutcome
}

// later collects the recipients of a job that go into new jobs: retried
// after a backoff (one more attempt), or waiting, at the same attempt,
// until a time (the daily quota frees, someone else's claim expires).
type later struct {
	mu    sync.Mutex
	retry []string
	wait  map[time.Time][]string
}

func (l *later) addRetry(emails ...string) {
	l.mu.Lock()
	l.retry = append(l.retry, emails...)
	l.mu.Unlock()
}

func (l *later) addWait(until time.Time, emails ...string) {
	l.mu.Lock()
	if l.wait == nil {
		l.wait = map[time.Time][]string{}
	}
	until = until.Truncate(time.Second).Add(time.Second)
	l.wait[until] = append(l.wait[until], emails...)
	l.mu.Unlock()
}

// sendJob sends a job's recipients call by call. Each call takes a
// concurrency slot per recipient, then the rate permits for them, then
// claims them; recipients never reached stay queued, and an error hands
// the job back for redelivery.
func (s *Send) sendJob(ctx context.Context, e *newsletter.Edition, p *prepared, job DeliveryJob) error {
	size := s.callSize()
	inFlight := context.WithoutCancel(ctx) // a call once started is not cancelled
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		l    later
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	rest := distinct(job.Recipients) // the claim and record scripts need distinct emails per call
	// A job shares the rate with every other job of every process, so it
	// may need longer than its handler's deadline. A quarter of the time
	// before it, no more calls start: the rest goes on as a new job of the
	// same attempt, due now, instead of failing the job into a backoff.
	wctx, stopWaiting := ctx, context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		wctx, stopWaiting = context.WithDeadline(ctx, dl.Add(-time.Until(dl)/4))
	}
	defer stopWaiting()
	handOn := func(err error) bool {
		if ctx.Err() == nil && wctx.Err() != nil {
			l.addWait(s.Now(), rest...)
			return true
		}
		fail(err)
		return false
	}
	for len(rest) > 0 {
		n := min(size, len(rest))
		if until, paused := s.quotaPaused(ctx, n); paused {
			l.addWait(until, rest...)
			break
		}
		if err := s.sem.Acquire(wctx, int64(n)); err != nil {
			handOn(err)
			break
		}
		c, err := s.claim(ctx, wctx, e.ID, e.Lists, p.tmpl.UsesName(), rest[:n], &l)
		if err != nil {
			s.sem.Release(int64(n))
			handOn(err)
			break
		}
		rest = rest[n:]
		wg.Add(1)
		s.pool.Go(func() {
			defer wg.Done()
			defer s.sem.Release(int64(n))
			if err := s.run(inFlight, e, p, c, job.Attempt, &l); err != nil {
				fail(err)
			}
		})
	}
	wg.Wait()
	if err := s.requeue(context.WithoutCancel(ctx), e.ID, job, &l); err != nil {
		fail(err)
	}
	return errors.Join(errs...)
}

// distinct returns emails without repeats, in order.
func distinct(emails []string) []string {
	seen := make(map[string]struct{}, len(emails))
	out := emails[:0:0]
	for _, e := range emails {
		if _, ok := seen[e]; !ok {
			seen[e] = struct{}{}
			out = append(out, e)
		}
	}
	return out
}

// claim waits for the rate permits of batch (no longer than wctx), claims
// it and sorts the answers; lists are the edition's, names whether its
// emails greet by name.
func (s *Send) claim(ctx, wctx context.Context, id string, lists []string, names bool, batch []string, l *later) (*call, error) {
	if err := s.Limiter.Wait(wctx, len(batch)); err != nil {
		return nil, err
	}
	claims, err := s.Store.Claim(ctx, id, lists, names, s.owner, s.Lease, batch)
	for wait := 250 * time.Millisecond; err != nil && ctx.Err() == nil && wait <= 4*time.Second; wait *= 2 {
		// The claim may have been made and only its reply lost (Redis went
		// away during the round trip). Asked again from this process, such
		// claims come back under this process's name, and it knows it sent
		// nothing for them: it hands them back. Left to the job's retry,
		// another worker could meet them after their lease and would have
		// to call them unknown.
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		claims, err = s.Store.Claim(ctx, id, lists, names, s.owner, s.Lease, batch)
	}
	if err != nil {
		return nil, err
	}
	c := &call{emails: batch}
	now := s.Now()
	for i, cl := range claims {
		em := batch[i]
		switch {
		case cl.Claimed:
			s.book.hold(id, em)
			if cl.Why != "" {
				c.outs = append(c.outs, newsletter.SendOutcome{Email: em, To: newsletter.DeliverySkipped, Reason: cl.Why, List: cl.List})
			} else {
				c.to = append(c.to, recipient{email: em, name: cl.Name, hash: cl.Hash, list: cl.List})
			}
		case cl.Current != newsletter.DeliverySending:
			// Sent, skipped, ... already: nothing to do.
		case cl.Owner == s.owner:
			if s.book.holds(id, em) {
				continue // a call of this process has it and will record it
			}
			// Claimed by this process, but the claim's reply was lost (the
			// Redis round trip failed): it was never sent. Hand it back.
			s.book.hold(id, em)
			c.outs = append(c.outs, newsletter.SendOutcome{Email: em, To: newsletter.DeliveryQueued, Reason: "claim handed back: its Redis reply was lost before any SES call"})
			l.addRetry(em)
		case cl.Owner != "" && cl.LeaseUntil.After(now):
			// Another live process may still be recording it.
			l.addWait(cl.LeaseUntil, em)
		default:
			s.book.hold(id, em)
			c.outs = append(c.outs, newsletter.SendOutcome{Email: em, To: newsletter.DeliveryUnknown,
				Reason: "a worker stopped during the SES call; not resent automatically to avoid a duplicate"})
		}
	}
	return c, nil
}

// run makes the call and records every outcome.
func (s *Send) run(ctx context.Context, e *newsletter.Edition, p *prepared, c *call, attempt int, l *later) error {
	if len(c.to) > 0 {
		var errs []error
		if s.Bulk != nil {
			errs = s.sendBulk(ctx, e, p, c.to)
		} else {
			errs = s.sendSingle(ctx, e, p, c.to)
		}
		for i, r := range c.to {
			o := s.outcome(r.email, errs[i], attempt, l)
			o.List = r.list
			c.outs = append(c.outs, o)
		}
	}
	return s.record(ctx, e.ID, c.outs)
}

// outcome maps one send's result into the state machine (an accepted
// send's "error" carries its message id).
func (s *Send) outcome(email string, err error, attempt int, l *later) newsletter.SendOutcome {
	var ok *accepted
	switch {
	case errors.As(err, &ok):
		return newsletter.SendOutcome{Email: email, To: newsletter.DeliverySent, MessageID: ok.id}
	case newsletter.IsPermanent(err):
		return newsletter.SendOutcome{Email: email, To: newsletter.DeliveryFailed, Reason: err.Error()}
	case errors.Is(err, newsletter.ErrUnknownOutcome):
		return newsletter.SendOutcome{Email: email, To: newsletter.DeliveryUnknown, Reason: err.Error()}
	case errors.Is(err, newsletter.ErrDailyQuota):
		until := s.pauseForQuota(err)
		l.addWait(until, email)
		return newsletter.SendOutcome{Email: email, To: newsletter.DeliveryQueued, Reason: "waiting for the daily quota: " + err.Error()}
	case attempt+1 >= s.MaxAttempts:
		return newsletter.SendOutcome{Email: email, To: newsletter.DeliveryFailed, Reason: fmt.Sprintf("gave up after %d attempts: %v", attempt+1, err)}
	default:
		l.addRetry(email)
		return newsletter.SendOutcome{Email: email, To: newsletter.DeliveryQueued, Reason: "retrying: " + err.Error()}
	}
}

// accepted is the "error" of a send SES accepted: it carries the message
// id, so that one []error holds every outcome of a call.
type accepted struct{ id string }

func (a *accepted) Error() string { return "accepted as " + a.id }

// sendBulk sends one SendBulkEmail to; one result per recipient.
func (s *Send) sendBulk(ctx context.Context, e *newsletter.Edition, p *prepared, to []recipient) []error {
	m := &newsletter.BulkEmail{From: s.From, Entries: make([]newsletter.BulkEntry, len(to))}
	if s.ListID != "" {
		m.Headers = [][2]string{{"List-Id", s.ListID}}
	}
	people := make([]render.Personal, len(to))
	for i, r := range to {
		people[i] = render.Personal{Name: r.name, UnsubscribeURL: s.Links.Unsubscribe(r.email, e.ID), PreferencesURL: s.Links.Preferences(r.email)}
	}
	// The links' beginnings in the template and only tokens per
	// recipient; if one recipient's links are not of that form, the whole
	// call has whole URLs as variables.
	c, links := &p.ses, p.links
	data, ok := appendSESData(p.tmpl, people, links)
	if !ok {
		c, links = p.urlContent(), render.SESLinks{}
		data, _ = appendSESData(p.tmpl, people, links)
	}
	m.Subject, m.HTML, m.Text = c.Subject, c.HTML, c.Text
	for i, r := range to {
		m.Entries[i] = newsletter.BulkEntry{To: r.email, Data: data[i],
			Headers: [][2]string{{"List-Unsubscribe", "<" + people[i].UnsubscribeURL + ">"}, {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}},
			Tags:    editionTags(e.ID, r.recipientTag())}
	}
	errs := make([]error, len(to))
	res, err := s.Bulk.SendBulk(ctx, m)
	for i := range to {
		switch {
		case err != nil:
			errs[i] = err
		case res[i].Err != nil:
			errs[i] = res[i].Err
		default:
			errs[i] = &accepted{res[i].MessageID}
		}
	}
	return errs
}

// appendSESData is the template data of each of people, in one
// allocation; false when a recipient's links are not of the form links
// says.
func appendSESData(t *render.Template, people []render.Personal, links render.SESLinks) ([][]byte, bool) {
	buf := make([]byte, 0, len(people)*512)
	out := make([][]byte, len(people))
	for i, p := range people {
		start := len(buf)
		var ok bool
		if buf, ok = t.AppendSESData(buf, p, links); !ok {
			return nil, false
		}
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out, true
}

// sendSingle sends one SendEmail per recipient of to, all at once.
func (s *Send) sendSingle(ctx context.Context, e *newsletter.Edition, p *prepared, to []recipient) []error {
	m := s.mailFor(e, p.tmpl.Subject, "newsletter")
	errs := make([]error, len(to))
	var wg sync.WaitGroup
	for i, r := range to {
		wg.Add(1)
		s.pool.Go(func() {
			defer wg.Done()
			mi := m
			mi.tags = editionTags(e.ID, r.recipientTag())
			id, err := s.sendOne(ctx, p.tmpl, mi, r.email, r.name)
			if err == nil {
				err = &accepted{id}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errs
}

// editionTags are the SES tags of an edition's email: SES events come back
// with them, matched to the edition and, by the recipient tag (the hash of
// the address: tag values allow no "@"), to the recipient.
func editionTags(id, recipientTag string) map[string]string {
	return map[string]string{"edition_id": id, "kind": "newsletter", TagRecipient: recipientTag}
}

// RecipientTag is the value of the "recipient" tag of emails to email:
// the first 32 hex digits of the SHA-256 of the normalised address.
func RecipientTag(email string) string { return address.Hash(email)[:32] }

// recipientTag is RecipientTag(r.email), from the hash the re-check made
// when it has one.
func (r recipient) recipientTag() string {
	if len(r.hash) >= 32 {
		return r.hash[:32]
	}
	return RecipientTag(r.email)
}

// record writes outs, retrying while Redis is away (the outcomes are
// facts: losing them would leave deliveries in doubt). Past the budget
// they stay in memory, recorded before this process's next job, and the
// error hands this job back.
func (s *Send) record(ctx context.Context, id string, outs []newsletter.SendOutcome) error {
	if len(outs) == 0 {
		return nil
	}
	err := retryRedis(ctx, s.RecordBudget, func() error { return s.write(ctx, id, outs) })
	if err != nil {
		s.book.keep(id, outs)
		return fmt.Errorf("record %d outcomes of edition %s: %w (kept in memory; recorded when Redis answers)", len(outs), id, err)
	}
	return nil
}

// write records outs in one round trip and logs every unknown and failed
// delivery once.
func (s *Send) write(ctx context.Context, id string, outs []newsletter.SendOutcome) error {
	res, err := s.Store.Record(ctx, id, outs)
	if err != nil {
		return err
	}
	for i, o := range outs {
		s.book.release(id, o.Email)
		if !res[i].Done {
			continue
		}
		switch o.To {
		case newsletter.DeliveryUnknown, newsletter.DeliveryFailed:
			s.Logger.Warn("delivery "+string(o.To), "edition_id", id, "address_hash", address.Hash(o.Email)[:16], "reason", o.Reason)
		}
	}
	return nil
}

// retryRedis calls fn until it succeeds, with doubling waits, for at most
// budget; errors other than Redis being unavailable are not retried.
func retryRedis(ctx context.Context, budget time.Duration, fn func() error) error {
	deadline := time.Now().Add(budget)
	wait := 50 * time.Millisecond
	for {
		err := fn()
		if err == nil || newsletter.ErrorCode(err) != newsletter.EUNAVAILABLE || time.Now().Add(wait).After(deadline) {
			return err
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// flush records the outcomes kept in memory.
func (s *Send) flush(ctx context.Context) error {
	for id, outs := range s.book.take() {
		if err := s.record(ctx, id, outs); err != nil {
			return err
		}
	}
	return nil
}

// requeue puts the job's retried and waiting recipients into new jobs.
func (s *Send) requeue(ctx context.Context, id string, job DeliveryJob, l *later) error {
	var jobs []DeliveryJob
	if len(l.retry) > 0 {
		wait := backoff(job.Attempt)
		jobs = append(jobs, DeliveryJob{EditionID: id, Recipients: l.retry, Attempt: job.Attempt + 1, NotBefore: s.Now().Add(wait)})
		s.Logger.Info("deliveries will be retried", "edition_id", id, "count", len(l.retry), "attempt", job.Attempt+1, "after", wait)
	}
	for at, emails := range l.wait {
		jobs = append(jobs, DeliveryJob{EditionID: id, Recipients: emails, Attempt: job.Attempt, NotBefore: at})
	}
	for _, j := range jobs {
		m, err := NewMessage(j)
		if err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = retryRedis(rctx, s.RecordBudget, func() error { return s.Store.Append(rctx, TopicDeliveries, m) })
		cancel()
		if err != nil {
			return fmt.Errorf("re-enqueue %d deliveries of edition %s: %w", len(j.Recipients), id, err)
		}
	}
	return nil
}

// ledger is what this process knows about its claims: the deliveries it
// claimed and has not recorded yet (a claim of this process found in Redis
// is never taken for an orphan while it is here), and the outcomes it
// could not record yet.
type ledger struct {
	mu      sync.Mutex
	held    map[heldKey]struct{}
	pending map[string][]newsletter.SendOutcome
}

func (b *ledger) init() {
	b.held = map[heldKey]struct{}{}
	b.pending = map[string][]newsletter.SendOutcome{}
}

// heldKey names one delivery: edition id and email.
type heldKey struct{ id, email string }

func (b *ledger) hold(id, email string) {
	b.mu.Lock()
	b.held[heldKey{id, email}] = struct{}{}
	b.mu.Unlock()
}

func (b *ledger) holds(id, email string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.held[heldKey{id, email}]
	return ok
}

func (b *ledger) release(id, email string) {
	b.mu.Lock()
	delete(b.held, heldKey{id, email})
	b.mu.Unlock()
}

func (b *ledger) keep(id string, outs []newsletter.SendOutcome) {
	b.mu.Lock()
	b.pending[id] = append(b.pending[id], outs...)
	b.mu.Unlock()
}

func (b *ledger) take() map[string][]newsletter.SendOutcome {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) == 0 {
		return nil
	}
	p := b.pending
	b.pending = map[string][]newsletter.SendOutcome{}
	return p
}

// quotaGate pauses this process's sending while the daily quota is used
// up, known from SES's answers or from GetAccount.
type quotaGate struct {
	mu        sync.Mutex
	until     time.Time
	checked   time.Time
	remaining float64 // from GetAccount, less what was sent since; < 0: no limit
}

// QuotaMark is the store mark (MarkOnce/GetMark key) that holds why and
// until when sending is paused for the SES daily quota; status shows it.
const QuotaMark = "ses:daily-quota-paused"

// quotaPaused reports whether sending n more is paused, and until when.
func (s *Send) quotaPaused(ctx context.Context, n int) (time.Time, bool) {
	now := s.Now()
	q := &s.quota
	q.mu.Lock()
	until, stale := q.until, s.Quota != nil && now.Sub(q.checked) > time.Minute
	if stale {
		q.checked = now // one process-wide check per minute
	}
	q.mu.Unlock()
	if now.Before(until) {
		return until, true
	}
	if stale {
		left, err := s.Quota.DailyQuota(ctx)
		q.mu.Lock()
		if err == nil {
			q.remaining = left
		} else {
			q.remaining = -1
			s.Logger.Warn("SES GetAccount for the daily quota", "err", err)
		}
		q.mu.Unlock()
	}
	if s.Quota == nil {
		return time.Time{}, false
	}
	q.mu.Lock()
	left := q.remaining
	if left < 0 || left >= float64(n) {
		if left >= 0 {
			q.remaining -= float64(n)
		}
		q.mu.Unlock()
		return time.Time{}, false
	}
	q.mu.Unlock()
	return s.pauseForQuota(fmt.Errorf("%w: GetAccount: %.0f left of Max24HourSend", newsletter.ErrDailyQuota, left)), true
}

// pauseForQuota pauses sending for QuotaPause and shows it in status.
func (s *Send) pauseForQuota(cause error) time.Time {
	now := s.Now()
	q := &s.quota
	q.mu.Lock()
	first := !now.Before(q.until)
	if first {
		q.until = now.Add(s.QuotaPause)
		q.checked = time.Time{} // ask GetAccount again when the pause ends
	}
	until := q.until
	q.mu.Unlock()
	if first {
		why := fmt.Sprintf("sending paused until %s: %s", until.UTC().Format(time.RFC3339), strings.TrimSpace(cause.Error()))
		s.Logger.Warn("SES daily quota used up; sending paused", "until", until, "err", cause)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.Store.SetMark(ctx, QuotaMark, why, s.QuotaPause); err != nil {
			s.Logger.Warn("mark the quota pause", "err", err)
		}
		cancel()
	}
	return until
}

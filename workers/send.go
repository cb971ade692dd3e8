package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"golang.org/x/sync/semaphore"

	"newsletter"
	"newsletter/internal/render"
)

// Sender sends one email and returns the provider's message id. It must not
// keep m.HTML or m.Text after returning (the caller reuses them). Errors:
// newsletter.IsPermanent → do not retry; newsletter.ErrUnknownOutcome → it
// may have been accepted; newsletter.ErrDailyQuota → pause sending;
// anything else → retry later.
type Sender interface {
	Send(ctx context.Context, m *newsletter.Email) (messageID string, err error)
}

// BulkSender sends one SendBulkEmail: a result per entry, or an error for
// the whole call classified like Sender's.
type BulkSender interface {
	SendBulk(ctx context.Context, m *newsletter.BulkEmail) ([]newsletter.BulkResult, error)
}

// QuotaSource tells how many more emails the account may send in the
// current 24 hours (negative: no limit).
type QuotaSource interface {
	DailyQuota(ctx context.Context) (float64, error)
}

// Limiter paces sends across all processes.
type Limiter interface {
	Wait(ctx context.Context, n int) error
}

// burster is a Limiter that grants at most Burst permits at once; calls
// are sized to it, so that a call's recipients are paid for together.
type burster interface{ Burst() int }

// Links builds the per-recipient URLs.
type Links interface {
	Unsubscribe(email, editionID string) string
	Preferences(email string) string
	WebVersion(editionID string) string
	Confirm(email, list string) string
}

// Send mails delivery jobs. An edition's job is cut into SES calls (a
// SendBulkEmail of up to 50 destinations, or a group of SendEmail calls);
// for each call, in turn: a concurrency slot, rate permits for its
// recipients, the claim of exactly those deliveries with the re-check of
// their addresses (one Redis round trip), the SES call, and the recording
// of every outcome as soon as it returns (one more round trip). A crash
// leaves in doubt only calls really in flight; recipients not reached stay
// queued for the job's redelivery.
type Send struct {
	Store  Store
	Sender Sender
	// Bulk, when set, sends editions with SendBulkEmail; Sender still
	// sends test and service emails.
	Bulk     BulkSender
	Renderer *render.Renderer
	Links    Links
	Limiter  Limiter
	// NoticeLimiter paces service emails (confirmations, fresh links) on
	// their own share of the account's rate, so that however many arrive
	// they never take an edition's; nil: they share Limiter.
	NoticeLimiter Limiter
	// Quota, when set, is asked for the account's remaining daily quota;
	// sending pauses before it is used up.
	Quota  QuotaSource
	From   string
	ListID string // List-Id header value, e.g. "Nieuwsbrief <nieuwsbrief.example.org>"
	// Concurrency bounds the recipients of SES calls in flight in this
	// process.
	Concurrency int
	// CallSize is the most recipients per SES call (bulk; default and at
	// most 50) or per group of concurrent SendEmail calls (single; default
	// 50, so claiming and recording stay one round trip per group); never
	// more than the limiter's burst.
	CallSize    int
	MaxAttempts int
	// Consumer names this process in claims (with a random nonce per
	// Send, so a restart under the same name is another owner).
	Consumer string
	// Lease is how long other processes leave a claim of this one alone
	// before they take it for an orphan (default 20 s: the SES call's
	// timeout and a margin).
	Lease time.Duration
	// RecordBudget is how long recording outcomes is retried while Redis
	// is away before the job fails, its outcomes kept in memory (default
	// 30 s).
	RecordBudget time.Duration
	// QuotaPause is how long sending pauses when the daily quota is used
	// up (default 10 minutes).
	QuotaPause time.Duration
	Logger     *slog.Logger
	Now        func() time.Time

	once  sync.Once
	sem   *semaphore.Weighted
	owner string
	mu    sync.Mutex
	cache map[string]*prepared // edition id+hash → rendered once
	book  ledger
	quota quotaGate
	pool  *goroutines
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
		if s.Lease <= 0 {
			s.Lease = 20 * time.Second
		}
		if s.RecordBudget <= 0 {
			s.RecordBudget = 30 * time.Second
		}
		if s.QuotaPause <= 0 {
			s.QuotaPause = 10 * time.Minute
		}
		s.sem = semaphore.NewWeighted(int64(s.Concurrency))
		s.pool = newGoroutines(10 * time.Second)
		s.owner = s.Consumer + "/" + watermill.NewShortUUID()
		s.cache = map[string]*prepared{}
		s.book.init()
		s.quota.remaining = -1 // unknown until GetAccount answers
	})
}

// callSize is the number of recipients per SES call.
func (s *Send) callSize() int {
	n := s.CallSize
	if s.Bulk != nil {
		if n <= 0 || n > maxBulk {
			n = maxBulk
		}
	} else if n <= 0 {
		n = 50
	}
	// At most half the limiter's burst: a call whose permits are the whole
	// burst must wait for a full bucket, and every moment it is full and
	// nobody is asking is lost rate; with two calls' worth in the bucket
	// the next one can always go.
	if b, ok := s.Limiter.(burster); ok && b.Burst() > 0 {
		n = min(n, max(1, b.Burst()/2))
	}
	return max(1, min(n, s.Concurrency))
}

// maxBulk is the most destinations of one SendBulkEmail.
const maxBulk = 50

// Handle is the Watermill handler.
func (s *Send) Handle(msg *message.Message) error {
	var job DeliveryJob
	if err := decode(msg, &job); err != nil {
		return err
	}
	return s.Run(msg.Context(), job)
}

// prepared is an edition rendered once: the template of single sends, and
// the SES template content of bulk sends.
type prepared struct {
	tmpl *render.Template
	// ses is the SES template with the links' shared beginnings written
	// in (each recipient's data holds only its tokens); urls, made when a
	// call first needs it, has whole URLs as variables, for recipients whose
	// links are not of that form.
	ses   render.SESContent
	links render.SESLinks
	web   string
	once  sync.Once
	urls  render.SESContent
}

// urlContent is the SES template with whole link URLs as variables.
func (p *prepared) urlContent() *render.SESContent {
	p.once.Do(func() { p.urls = p.tmpl.SES(p.web, render.SESLinks{}) })
	return &p.urls
}

// linkBase is u up to and with its last "/": the part of a link URL that
// every recipient shares when the rest is the signed token.
func linkBase(u string) string {
	if i := strings.LastIndexByte(u, '/'); i >= 0 {
		return u[:i+1]
	}
	return ""
}

// Template returns the edition's rendered template, rendering it at most
// once per process (editions are frozen once published).
func (s *Send) Template(e *newsletter.Edition) (*render.Template, error) {
	p, err := s.prepare(e)
	if err != nil {
		return nil, err
	}
	return p.tmpl, nil
}

func (s *Send) prepare(e *newsletter.Edition) (*prepared, error) {
	s.init()
	key := e.ID + "/" + e.Hash
	s.mu.Lock()
	p, ok := s.cache[key]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	t, err := s.Renderer.Render(e)
	if err != nil {
		return nil, newsletter.Permanent(fmt.Errorf("render edition %s: %w", e.ID, err))
	}
	// The beginnings are taken from one probe address's links; a recipient
	// whose links begin otherwise is sent with whole URLs instead.
	const probe = "probe@example.invalid"
	p = &prepared{tmpl: t, web: s.Links.WebVersion(e.ID), links: render.SESLinks{
		Unsubscribe: linkBase(s.Links.Unsubscribe(probe, e.ID)), Preferences: linkBase(s.Links.Preferences(probe))}}
	p.ses = t.SES(p.web, p.links)
	s.mu.Lock()
	if len(s.cache) > 64 {
		clear(s.cache)
	}
	s.cache[key] = p
	s.mu.Unlock()
	return p, nil
}

type buffers struct{ html, text []byte }

var bufPool = sync.Pool{New: func() any { return new(buffers) }}

// Run processes one job: wait until it is due, then send it call by call.
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
	// Outcomes an earlier attempt could not record (Redis away) go first.
	if err := s.flush(ctx); err != nil {
		return err
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
	p, err := s.prepare(e)
	if err != nil {
		return err
	}
	if job.Test {
		return s.runTest(ctx, e, p.tmpl, job)
	}
	if e.State == newsletter.EditionCancelled {
		return s.skipAll(ctx, e.ID, job.Recipients, "edition cancelled")
	}
	return s.sendJob(ctx, e, p, job)
}

// skipAll skips the job's recipients that are still queued.
func (s *Send) skipAll(ctx context.Context, id string, emails []string, why string) error {
	ts := make([]newsletter.Transition, len(emails))
	for i, em := range emails {
		ts[i] = newsletter.Transition{Email: em, From: []newsletter.DeliveryState{newsletter.DeliveryQueued}, To: newsletter.DeliverySkipped, Reason: why}
	}
	_, err := s.Store.Transition(ctx, id, ts)
	return err
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

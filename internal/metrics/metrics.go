package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"newsletter"
)

// Metrics holds one process's instruments and their registry.
type Metrics struct {
	Registry *prometheus.Registry
	// Deliveries counts recorded delivery outcomes by state and reason.
	Deliveries *prometheus.CounterVec
	// SESCalls counts SES SendEmail and SendBulkEmail calls by outcome.
	SESCalls *prometheus.CounterVec
	// SESEmails counts the emails of those calls by outcome (a bulk call
	// carries up to 50, each with its own).
	SESEmails  *prometheus.CounterVec
	SESLatency prometheus.Histogram
	RateWait   prometheus.Histogram

	mu     sync.Mutex
	sesAt  time.Time
	sesErr error // last SES call's "unreachable" error, nil once answered
}

// New returns instruments registered with a fresh registry that also has
// the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newsletter_deliveries_total",
			Help: "Delivery outcomes this process recorded, by state (sent, failed, skipped, unknown, bounced, complained, delivered, queued for retry) and reason.",
		}, []string{"state", "reason"}),
		SESCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newsletter_ses_calls_total",
			Help: "SES SendEmail and SendBulkEmail calls by outcome: sent, refused (permanent), unknown (outcome in doubt), error (retried).",
		}, []string{"outcome"}),
		SESEmails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newsletter_ses_emails_total",
			Help: "Emails handed to SES by outcome: sent, refused (permanent), unknown (outcome in doubt), error (retried).",
		}, []string{"outcome"}),
		SESLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "newsletter_ses_call_seconds",
			Help:    "Duration of SES SendEmail calls.",
			Buckets: []float64{.005, .01, .02, .05, .1, .2, .5, 1, 2, 5, 15},
		}),
		RateWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "newsletter_rate_limiter_wait_seconds",
			Help:    "Time a send waited for the shared SES rate limiter.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 30},
		}),
	}
	m.Registry.MustRegister(m.Deliveries, m.SESCalls, m.SESEmails, m.SESLatency, m.RateWait,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// CountTransitions counts the transitions that happened (res[i].Done).
func (m *Metrics) CountTransitions(ts []newsletter.Transition, res []newsletter.TransitionResult) {
	for i, t := range ts {
		if i < len(res) && res[i].Done {
			state := string(t.To)
			if t.To == newsletter.DeliveryQueued && len(t.From) > 0 {
				state = "retry"
			}
			m.Deliveries.WithLabelValues(state, ReasonLabel(t.Reason)).Inc()
		}
	}
}

// CountOutcomes counts the recorded outcomes of SES calls (those that
// took effect), by state and reason.
func (m *Metrics) CountOutcomes(outs []newsletter.SendOutcome, res []newsletter.TransitionResult) {
	// A call's outcomes are mostly alike: add them up first and look each
	// series up once per call, not per email.
	type series struct {
		state, reason string
		n             float64
	}
	var seen []series
	for i, o := range outs {
		if i >= len(res) || !res[i].Done {
			continue
		}
		st, why := string(o.To), ReasonLabel(o.Reason)
		j := 0
		for j < len(seen) && (seen[j].state != st || seen[j].reason != why) {
			j++
		}
		if j == len(seen) {
			seen = append(seen, series{state: st, reason: why})
		}
		seen[j].n++
	}
	for _, c := range seen {
		m.Deliveries.WithLabelValues(c.state, c.reason).Add(c.n)
	}
}

// ReasonLabel maps a free-text reason to one of a few label values, so
// the number of series stays bounded whatever SES answers.
func ReasonLabel(reason string) string {
	if reason == "" {
		return "none"
	}
	r := strings.ToLower(reason)
	switch {
	case strings.Contains(r, "gave up"):
		return "gave_up"
	case strings.Contains(r, "worker stopped"):
		return "worker_stopped"
	case strings.Contains(r, "throttl"):
		return "throttled"
	case strings.Contains(r, "refused") || strings.Contains(r, "rejected"):
		return "ses_refused"
	case strings.Contains(r, "unreachable"):
		return "ses_unreachable"
	case strings.Contains(r, "outcome"):
		return "outcome_unknown"
	}
	for _, known := range []string{"unsubscribed", "blocklisted", "suppressed", "not a subscriber", "left the list", "cancelled", "erased", "bounce", "complaint", "duplicate"} {
		if strings.Contains(r, known) {
			return strings.ReplaceAll(known, " ", "_")
		}
	}
	return "other"
}

// Sender is the SES sender's shape (workers.Sender).
type Sender interface {
	Send(ctx context.Context, m *newsletter.Email) (string, error)
}

// InstrumentSender wraps next so every call is timed and counted, and the
// last call's reachability is known to /readyz.
func (m *Metrics) InstrumentSender(next Sender) Sender { return &sender{next: next, m: m} }

type sender struct {
	next Sender
	m    *Metrics
}

func (s *sender) Send(ctx context.Context, e *newsletter.Email) (string, error) {
	start := time.Now()
	id, err := s.next.Send(ctx, e)
	s.m.SESLatency.Observe(time.Since(start).Seconds())
	outcome := outcomeOf(err)
	s.m.SESCalls.WithLabelValues(outcome).Inc()
	s.m.SESEmails.WithLabelValues(outcome).Inc()
	s.m.noteSES(err)
	return id, err
}

// outcomeOf is the label of an SES answer.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return "sent"
	case newsletter.IsPermanent(err):
		return "refused"
	case errors.Is(err, newsletter.ErrUnknownOutcome):
		return "unknown"
	}
	return "error"
}

// BulkSender is what InstrumentBulk wraps (workers.BulkSender).
type BulkSender interface {
	SendBulk(ctx context.Context, m *newsletter.BulkEmail) ([]newsletter.BulkResult, error)
}

// InstrumentBulk wraps next like InstrumentSender: the call is timed and
// counted, and each of its emails by its own outcome.
func (m *Metrics) InstrumentBulk(next BulkSender) BulkSender { return &bulkSender{next: next, m: m} }

type bulkSender struct {
	next BulkSender
	m    *Metrics
}

func (s *bulkSender) SendBulk(ctx context.Context, e *newsletter.BulkEmail) ([]newsletter.BulkResult, error) {
	start := time.Now()
	res, err := s.next.SendBulk(ctx, e)
	s.m.SESLatency.Observe(time.Since(start).Seconds())
	s.m.SESCalls.WithLabelValues(outcomeOf(err)).Inc()
	if err != nil {
		s.m.SESEmails.WithLabelValues(outcomeOf(err)).Add(float64(len(e.Entries)))
	} else {
		for _, r := range res {
			s.m.SESEmails.WithLabelValues(outcomeOf(r.Err)).Inc()
		}
	}
	s.m.noteSES(err)
	return res, err
}

func (m *Metrics) noteSES(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sesAt = time.Now()
	m.sesErr = nil
	if unreachable(err) {
		m.sesErr = err
	}
}

// SESStatus says what the last SES call showed: when it was, and an error
// when SES could not be reached (zero time: no call yet).
func (m *Metrics) SESStatus() (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sesAt, m.sesErr
}

func unreachable(err error) bool {
	if err == nil {
		return false
	}
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) || strings.Contains(err.Error(), "unreachable")
}

// Limiter is the rate limiter's shape (workers.Limiter).
type Limiter interface {
	Wait(ctx context.Context, n int) error
}

// InstrumentLimiter wraps next so every wait is timed.
func (m *Metrics) InstrumentLimiter(next Limiter) Limiter { return &limiter{next: next, m: m} }

type limiter struct {
	next Limiter
	m    *Metrics
}

// Burst passes the wrapped limiter's burst on (the send step sizes its
// calls by it: a call never needs more permits than one burst).
func (l *limiter) Burst() int {
	if b, ok := l.next.(interface{ Burst() int }); ok {
		return b.Burst()
	}
	return 0
}

func (l *limiter) Wait(ctx context.Context, n int) error {
	start := time.Now()
	err := l.next.Wait(ctx, n)
	l.m.RateWait.Observe(time.Since(start).Seconds())
	return err
}

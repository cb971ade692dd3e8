package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/metrics"
)

func TestReasonLabel(t *testing.T) {
	for reason, want := range map[string]string{
		"":                                   "none",
		"unsubscribed":                       "unsubscribed",
		"left the list":                      "left_the_list",
		"suppressed: complaint":              "suppressed",
		"gave up after 5 attempts: SES 500":  "gave_up",
		"SES refused the email: bad address": "ses_refused",
		"a worker stopped during the SES call; not resent automatically to avoid a duplicate": "worker_stopped",
		"retrying: SES throttled the send": "throttled",
		"something nobody foresaw 1234":    "other",
	} {
		if got := metrics.ReasonLabel(reason); got != want {
			t.Errorf("ReasonLabel(%q) = %q, want %q", reason, got, want)
		}
	}
}

type fakeSender struct{ err error }

func (f fakeSender) Send(context.Context, *newsletter.Email) (string, error) { return "id", f.err }

// The sender decorator counts each outcome once and remembers whether SES
// could be reached.
func TestInstrumentSender(t *testing.T) {
	m := metrics.New()
	for _, err := range []error{nil, nil, newsletter.Permanent(errors.New("no")), newsletter.ErrUnknownOutcome, errors.New("SES endpoint unreachable: dial")} {
		_, _ = m.InstrumentSender(fakeSender{err}).Send(context.Background(), &newsletter.Email{})
	}
	body := scrapeBody(t, m.Handler(), "")
	for _, line := range []string{`newsletter_ses_calls_total{outcome="sent"} 2`, `newsletter_ses_calls_total{outcome="refused"} 1`,
		`newsletter_ses_calls_total{outcome="unknown"} 1`, `newsletter_ses_calls_total{outcome="error"} 1`, "newsletter_ses_call_seconds_count 5"} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
	if at, err := m.SESStatus(); at.IsZero() || err == nil {
		t.Errorf("SESStatus after an unreachable SES = %v, %v; want the error", at, err)
	}
	_, _ = m.InstrumentSender(fakeSender{}).Send(context.Background(), &newsletter.Email{})
	if _, err := m.SESStatus(); err != nil {
		t.Errorf("SESStatus after an answer = %v, want nil", err)
	}
}

// A failing Redis read shows as newsletter_redis_up 0, and the scrape
// still answers.
func TestCollectorRedisDown(t *testing.T) {
	m := metrics.New()
	m.Register(func(context.Context) (*metrics.Snapshot, error) { return nil, errors.New("down") })
	if body := scrapeBody(t, m.Handler(), ""); !strings.Contains(body, "newsletter_redis_up 0\n") {
		t.Errorf("no newsletter_redis_up 0 in:\n%s", body)
	}
	m = metrics.New()
	m.Register(func(context.Context) (*metrics.Snapshot, error) {
		return &metrics.Snapshot{Streams: []metrics.StreamStat{{Topic: "d", Length: 7, Groups: []metrics.GroupStat{{Group: "send", Pending: 2, Lag: 5}}}},
			DeadLetters: 3, Editions: map[string]int{"sending": 1}, Sending: map[string]map[string]int64{"e1": {"queued": 4}}}, nil
	})
	body := scrapeBody(t, m.Handler(), "")
	for _, line := range []string{"newsletter_redis_up 1", `newsletter_stream_length{stream="d"} 7`, `newsletter_stream_pending{group="send",stream="d"} 2`,
		`newsletter_stream_lag{group="send",stream="d"} 5`, "newsletter_dead_letters 3", `newsletter_editions{state="sending"} 1`,
		`newsletter_edition_deliveries{edition_id="e1",state="queued"} 4`} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
}

// /metrics on the public address needs the token; without one configured
// it is off and says how to open it.
func TestProtect(t *testing.T) {
	h := metrics.New().Handler()
	for _, c := range []struct {
		token, auth string
		want        int
	}{
		{"", "", http.StatusNotFound},
		{"", "Bearer x", http.StatusNotFound},
		{"secret-token-0123456789", "", http.StatusUnauthorized},
		{"secret-token-0123456789", "Bearer wrong", http.StatusUnauthorized},
		{"secret-token-0123456789", "Bearer secret-token-0123456789", http.StatusOK},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		metrics.Protect(c.token, h).ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("token %q auth %q: %d, want %d", c.token, c.auth, rec.Code, c.want)
		}
	}
}

func scrapeBody(t *testing.T, h http.Handler, auth string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// CountOutcomes counts each outcome that moved once, under its state and
// reason label, and none that did not.
func TestCountOutcomes(t *testing.T) {
	m := metrics.New()
	outs := []newsletter.SendOutcome{
		{Email: "a", To: newsletter.DeliverySent}, {Email: "b", To: newsletter.DeliverySent},
		{Email: "c", To: newsletter.DeliverySkipped, Reason: "unsubscribed"}, {Email: "d", To: newsletter.DeliverySent},
		{Email: "e", To: newsletter.DeliveryFailed, Reason: "SES refused the email: bad address"},
		{Email: "f", To: newsletter.DeliverySkipped, Reason: "left the list"}, {Email: "g", To: newsletter.DeliverySent},
	}
	res := []newsletter.TransitionResult{{Done: true}, {Done: true}, {Done: true}, {Done: false}, {Done: true}, {Done: true}}
	m.CountOutcomes(outs, res) // g has no result: not counted
	m.CountOutcomes(outs[:1], []newsletter.TransitionResult{{Done: true}})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`newsletter_deliveries_total{reason="none",state="sent"} 3`,
		`newsletter_deliveries_total{reason="unsubscribed",state="skipped"} 1`,
		`newsletter_deliveries_total{reason="ses_refused",state="failed"} 1`,
		`newsletter_deliveries_total{reason="left_the_list",state="skipped"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(body, "newsletter_deliveries_total"))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}

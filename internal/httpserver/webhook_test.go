package httpserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"newsletter/internal/app"
	"newsletter/internal/redistest"
	"newsletter/internal/snsverify"
	"newsletter/workers"
)

// A certificate URL on a real SNS host name, so the production CertHost
// check applies unchanged.
const certURL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"

// certTransport answers the certificate fetch locally: the only thing
// the tests change in the verifier `serve` builds.
type certTransport struct {
	pem     []byte
	fetches atomic.Int64
}

func (c *certTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp := &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("not found")), Request: r}
	if r.Method == http.MethodGet && r.URL.String() == certURL {
		c.fetches.Add(1)
		resp.StatusCode = http.StatusOK
		resp.Body = io.NopCloser(bytes.NewReader(c.pem))
	}
	return resp, nil
}

type webhookEnv struct {
	a      *app.App
	h      http.Handler
	signer *snsverify.Signer
	certs  *certTransport
	stream string
}

func newWebhookEnv(t *testing.T, maxAge time.Duration) *webhookEnv {
	t.Helper()
	a := openApp(t, func(c *app.Config) { c.SNSMaxAge = maxAge })
	s, err := snsverify.NewSigner(certURL, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v := a.SNSVerifier()
	if v.MaxAge != maxAge || !slices.Equal(v.TopicARNs, []string{testTopic}) {
		t.Errorf("SNSVerifier() = MaxAge %s TopicARNs %v, want %s and the configured topics", v.MaxAge, v.TopicARNs, maxAge)
	}
	ct := &certTransport{pem: s.CertPEM()}
	v.HTTPClient = &http.Client{Transport: ct}
	return &webhookEnv{a: a, h: serve(a, v), signer: s, certs: ct,
		stream: a.Cfg.RedisPrefix + workers.TopicSESEvents}
}

const sesDelivery = `{"eventType":"Delivery","mail":{"timestamp":"2026-03-14T09:00:00.000Z","source":"nieuwsbrief@example.org",
"messageId":"0100018e-ses-1","destination":["jan@example.org"],"tags":{"edition_id":["ed-7"]}},
"delivery":{"timestamp":"2026-03-14T09:00:02.000Z","recipients":["jan@example.org"],"smtpResponse":"250 ok"}}`

// notification is a correctly signed SES notification stamped at.
func (e *webhookEnv) notification(t *testing.T, at time.Time) []byte {
	t.Helper()
	e.signer.Now = func() time.Time { return at }
	m, err := e.signer.Notification(testTopic, "Amazon SES Email Event Notification", sesDelivery)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *webhookEnv) post(body []byte) (int, string) {
	rec := do(e.h, "POST", "/webhooks/ses", string(body), func(r *http.Request) {
		r.Header.Set("Content-Type", "text/plain; charset=UTF-8")
		r.Header.Set("X-Amz-Sns-Message-Type", "Notification")
	})
	return rec.Code, rec.Body.String()
}

func (e *webhookEnv) xlen(t *testing.T) int64 {
	t.Helper()
	n, err := redistest.Client(t).XLen(context.Background(), e.stream).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The verifier `serve` builds applies NEWSLETTER_SNS_MAX_AGE: a correctly
// signed notification older than the window (a stale capture) is refused
// and enqueues nothing; one inside it is accepted.
func TestSESWebhookReplayWindow(t *testing.T) {
	t.Parallel()
	const maxAge = 10 * time.Minute
	e := newWebhookEnv(t, maxAge)
	now := time.Now()
	for _, at := range []time.Time{now.Add(-maxAge - time.Minute), now.Add(-2 * maxAge), now.Add(maxAge + time.Minute)} {
		if code, body := e.post(e.notification(t, at)); code != http.StatusForbidden || !strings.Contains(body, "Timestamp") {
			t.Errorf("notification stamped %s (now %s): %d %q, want 403 naming the Timestamp", at.Format(time.RFC3339), now.Format(time.RFC3339), code, body)
		}
	}
	if n := e.xlen(t); n != 0 {
		t.Fatalf("%d entries on %s after refused notifications, want 0", n, e.stream)
	}
	for i, at := range []time.Time{now.Add(-maxAge + time.Minute), now} {
		if code, body := e.post(e.notification(t, at)); code != http.StatusOK {
			t.Errorf("notification stamped %s: %d %q, want 200", at.Format(time.RFC3339), code, body)
		}
		if n := e.xlen(t); n != int64(i+1) {
			t.Errorf("%d entries on %s, want %d", n, e.stream, i+1)
		}
	}
	if e.certs.fetches.Load() == 0 {
		t.Error("the certificate was never fetched through the verifier's HTTP client")
	}
}

// SNS delivers at least once: the same signed notification posted twice
// puts exactly one entry on the SES events stream.
func TestSESWebhookDuplicateEnqueuedOnce(t *testing.T) {
	t.Parallel()
	e := newWebhookEnv(t, time.Hour)
	b := e.notification(t, time.Now())
	for i := range 3 {
		if code, body := e.post(b); code != http.StatusOK {
			t.Fatalf("delivery %d: %d %q, want 200", i+1, code, body)
		}
	}
	if n := e.xlen(t); n != 1 {
		t.Errorf("%d entries on %s after three deliveries of one message, want 1", n, e.stream)
	}
	// The stream read is the one the app writes.
	if got := e.a.Cfg.RedisPrefix + workers.TopicSESEvents; got != e.stream || !strings.HasSuffix(got, "newsletter.ses.events.v1") {
		t.Errorf("stream %s", got)
	}
	// A different message is not a duplicate.
	if code, _ := e.post(e.notification(t, time.Now())); code != http.StatusOK {
		t.Errorf("second message: %d", code)
	}
	if n := e.xlen(t); n != 2 {
		t.Errorf("%d entries after a second message, want 2", n)
	}
}

// An unsigned or re-signed-by-someone-else notification is refused by the
// production wiring too.
func TestSESWebhookRefusesForeignSignature(t *testing.T) {
	t.Parallel()
	e := newWebhookEnv(t, time.Hour)
	other, err := snsverify.NewSigner(certURL, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m, err := other.Notification(testTopic, "", sesDelivery)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	if code, _ := e.post(b); code != http.StatusForbidden {
		t.Errorf("foreign signature: %d, want 403", code)
	}
	m, _ = e.signer.Notification("arn:aws:sns:eu-west-1:123456789012:other-topic", "", sesDelivery)
	b, _ = json.Marshal(m)
	if code, _ := e.post(b); code != http.StatusForbidden {
		t.Errorf("topic not configured: %d, want 403", code)
	}
	if n := e.xlen(t); n != 0 {
		t.Errorf("%d entries after refused notifications, want 0", n)
	}
}

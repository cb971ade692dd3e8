package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"newsletter/internal/sesevent"
	"newsletter/internal/snsverify"
)

const topic = "arn:aws:sns:eu-west-1:123456789012:ses-events"

var now = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// memSink is an in-memory Sink that records calls and can be made to fail.
type memSink struct {
	mu         sync.Mutex
	seen       map[string]string
	events     []*sesevent.Event
	raws       [][]byte
	calls      int
	seenErr    error
	enqueueErr error
	markErr    error
	// When held > 0, the first held calls of Enqueue each tell entered
	// and then wait for gate to close: a test holds claims pending for as
	// long as it likes. Later calls go straight through.
	held    int
	entered chan struct{}
	gate    chan struct{}
}

// Claim keeps the marks in seen: "pending" or "done".
func (s *memSink) Claim(_ context.Context, id string) (Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.seenErr != nil {
		return ClaimNew, s.seenErr
	}
	if s.seen == nil {
		s.seen = map[string]string{}
	}
	switch s.seen[id] {
	case "pending":
		return ClaimPending, nil
	case "done":
		return ClaimDone, nil
	}
	s.seen[id] = "pending"
	return ClaimNew, nil
}

func (s *memSink) Done(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.markErr != nil {
		return s.markErr
	}
	s.seen[id] = "done"
	return nil
}

func (s *memSink) Release(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.seen, id)
	return nil
}

func (s *memSink) Enqueue(_ context.Context, ev *sesevent.Event, raw []byte) error {
	s.mu.Lock()
	hold := s.held > 0
	s.held--
	s.mu.Unlock()
	if hold {
		s.entered <- struct{}{}
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.enqueueErr != nil {
		return s.enqueueErr
	}
	s.events = append(s.events, ev)
	s.raws = append(s.raws, raw)
	return nil
}

func (s *memSink) snapshot() (calls, enqueued int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, len(s.events)
}

type fixture struct {
	t        *testing.T
	srv      *httptest.Server // serves the certificate and SubscribeURL
	confirms atomic.Int64
	signer   *snsverify.Signer
	sink     *memSink
	handler  *Handler
	logs     *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, sink: &memSink{}, logs: &bytes.Buffer{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cert.pem":
			w.Write(f.signer.CertPEM())
		case "/confirm":
			f.confirms.Add(1)
			w.Write([]byte("<ConfirmSubscriptionResponse/>"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	s, err := snsverify.NewSigner(f.srv.URL+"/cert.pem", now)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return now }
	f.signer = s
	f.handler = &Handler{
		Verifier: &snsverify.Verifier{
			TopicARNs:  []string{topic},
			CertHost:   regexp.MustCompile(`^127\.0\.0\.1:[0-9]+$`),
			HTTPClient: f.srv.Client(),
			Now:        func() time.Time { return now },
		},
		Sink:   f.sink,
		Logger: slog.New(slog.NewTextHandler(f.logs, nil)),
	}
	return f
}

const sesBounce = `{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General",
"bouncedRecipients":[{"emailAddress":"jan@school.nl","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],
"timestamp":"2026-03-14T09:00:02.669Z","feedbackId":"fb"},
"mail":{"timestamp":"2026-03-14T09:00:00.000Z","source":"nieuwsbrief@example.org","messageId":"ses-1","destination":["jan@school.nl"],"tags":{"edition_id":["ed-7"]}}}`

func (f *fixture) notification(version, message string) *snsverify.Message {
	f.t.Helper()
	m, err := f.signer.Notification(topic, "Amazon SES Email Event Notification", message)
	if err != nil {
		f.t.Fatal(err)
	}
	if version != "2" {
		if err := f.signer.Sign(m, version); err != nil {
			f.t.Fatal(err)
		}
	}
	return m
}

func (f *fixture) confirmation(typ, version string) *snsverify.Message {
	f.t.Helper()
	m := &snsverify.Message{
		Type: typ, MessageId: "c-" + typ + version, TopicArn: topic, Token: "tok",
		Message:      "You have chosen to subscribe to the topic " + topic,
		Timestamp:    "2026-03-14T09:26:53.000Z",
		SubscribeURL: f.srv.URL + "/confirm?Action=ConfirmSubscription&TopicArn=" + topic + "&Token=tok",
	}
	if err := f.signer.Sign(m, version); err != nil {
		f.t.Fatal(err)
	}
	return m
}

func encode(t *testing.T, m *snsverify.Message) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) post(body []byte) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/webhooks/ses", bytes.NewReader(body))
	r.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	return w
}

func TestNotificationEnqueued(t *testing.T) {
	for _, version := range []string{"1", "2"} {
		t.Run("v"+version, func(t *testing.T) {
			f := newFixture(t)
			w := f.post(encode(t, f.notification(version, sesBounce)))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if len(f.sink.events) != 1 {
				t.Fatalf("enqueued %d events, want 1", len(f.sink.events))
			}
			ev := f.sink.events[0]
			if ev.Kind != sesevent.KindBounce || !ev.Permanent() || ev.MessageID != "ses-1" ||
				len(ev.Recipients) != 1 || ev.Recipients[0].Email != "jan@school.nl" {
				t.Errorf("event %+v", ev)
			}
			if string(f.sink.raws[0]) != sesBounce {
				t.Errorf("raw = %s, want the SES notification", f.sink.raws[0])
			}
		})
	}
}

func TestConfirmations(t *testing.T) {
	for _, version := range []string{"1", "2"} {
		t.Run("subscribe v"+version, func(t *testing.T) {
			f := newFixture(t)
			w := f.post(encode(t, f.confirmation(snsverify.TypeSubscriptionConfirmation, version)))
			if w.Code != http.StatusOK || f.confirms.Load() != 1 {
				t.Fatalf("status %d, %d confirmations: %s", w.Code, f.confirms.Load(), w.Body)
			}
			if calls, _ := f.sink.snapshot(); calls != 0 {
				t.Errorf("%d sink calls for a confirmation", calls)
			}
		})
		t.Run("unsubscribe v"+version, func(t *testing.T) {
			f := newFixture(t)
			w := f.post(encode(t, f.confirmation(snsverify.TypeUnsubscribeConfirmation, version)))
			if w.Code != http.StatusOK || f.confirms.Load() != 0 {
				t.Fatalf("status %d, %d confirmations: %s", w.Code, f.confirms.Load(), w.Body)
			}
			if calls, _ := f.sink.snapshot(); calls != 0 {
				t.Errorf("%d sink calls for an unsubscribe", calls)
			}
			if !strings.Contains(f.logs.String(), "subscription ended") {
				t.Errorf("unsubscribe not logged: %s", f.logs)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	tests := []struct {
		name   string
		req    func(f *fixture) *http.Request
		status int
		reason string
	}{
		{"altered Message", func(f *fixture) *http.Request {
			m := f.notification("2", sesBounce)
			m.Message = strings.Replace(m.Message, "Permanent", "Transient", 1)
			return postReq(encode(f.t, m))
		}, http.StatusForbidden, "signature does not match"},
		{"altered Signature", func(f *fixture) *http.Request {
			m := f.notification("1", sesBounce)
			// Change the first character, never to itself.
			c := "A"
			if m.Signature[0] == 'A' {
				c = "B"
			}
			m.Signature = c + m.Signature[1:]
			return postReq(encode(f.t, m))
		}, http.StatusForbidden, "signature does not match"},
		{"wrong cert host", func(f *fixture) *http.Request {
			m := f.notification("2", sesBounce)
			m.SigningCertURL = "https://evil.com/cert.pem"
			return postReq(encode(f.t, m))
		}, http.StatusForbidden, "SigningCertURL host evil.com is not an SNS host"},
		{"http cert URL", func(f *fixture) *http.Request {
			m := f.notification("2", sesBounce)
			m.SigningCertURL = strings.Replace(m.SigningCertURL, "https:", "http:", 1)
			return postReq(encode(f.t, m))
		}, http.StatusForbidden, "must use https"},
		{"cert URL not .pem", func(f *fixture) *http.Request {
			m := f.notification("2", sesBounce)
			m.SigningCertURL = strings.TrimSuffix(m.SigningCertURL, ".pem") + ".crt"
			return postReq(encode(f.t, m))
		}, http.StatusForbidden, "does not end in .pem"},
		{"unknown topic", func(f *fixture) *http.Request {
			m, err := f.signer.Notification("arn:aws:sns:eu-west-1:666:evil", "", sesBounce)
			if err != nil {
				f.t.Fatal(err)
			}
			return postReq(encode(f.t, m))
		}, http.StatusForbidden, "is not allowed"},
		{"subscription for foreign SubscribeURL", func(f *fixture) *http.Request {
			m := f.confirmation(snsverify.TypeSubscriptionConfirmation, "2")
			m.SubscribeURL = "https://evil.com/confirm"
			if err := f.signer.Sign(m, "2"); err != nil {
				f.t.Fatal(err)
			}
			return postReq(encode(f.t, m))
		}, http.StatusForbidden, "SubscribeURL host evil.com is not an SNS host"},
		{"malformed JSON", func(f *fixture) *http.Request {
			return postReq([]byte(`{"Type": "Notification", "Message": `))
		}, http.StatusBadRequest, "not valid JSON"},
		{"malformed SES payload", func(f *fixture) *http.Request {
			return postReq(encode(f.t, f.notification("2", "this is not JSON")))
		}, http.StatusBadRequest, "SES notification is not a JSON object"},
		{"type header mismatch", func(f *fixture) *http.Request {
			r := postReq(encode(f.t, f.notification("2", sesBounce)))
			r.Header.Set("X-Amz-Sns-Message-Type", "SubscriptionConfirmation")
			return r
		}, http.StatusBadRequest, "does not match"},
		{"1 MB body", func(f *fixture) *http.Request {
			return postReq(bytes.Repeat([]byte("x"), 1<<20))
		}, http.StatusRequestEntityTooLarge, "too large"},
		{"1 MB body without Content-Length", func(f *fixture) *http.Request {
			r := postReq(nil)
			r.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"Type":"`), bytes.NewReader(bytes.Repeat([]byte("x"), 1<<20))))
			r.ContentLength = -1
			return r
		}, http.StatusRequestEntityTooLarge, "too large"},
		{"GET", func(f *fixture) *http.Request {
			return httptest.NewRequest(http.MethodGet, "/webhooks/ses", nil)
		}, http.StatusMethodNotAllowed, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			w := httptest.NewRecorder()
			f.handler.ServeHTTP(w, tt.req(f))
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.reason) {
				t.Errorf("got %d %q, want %d containing %q", w.Code, w.Body, tt.status, tt.reason)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q", ct)
			}
			if calls, _ := f.sink.snapshot(); calls != 0 {
				t.Errorf("%d sink calls for a refused message", calls)
			}
			if n := f.confirms.Load(); n != 0 {
				t.Errorf("%d subscription confirmations for a refused message", n)
			}
		})
	}
}

func postReq(body []byte) *http.Request {
	return httptest.NewRequest(http.MethodPost, "/webhooks/ses", bytes.NewReader(body))
}

// Reading stops at the limit: a huge streamed body is not read to the end.
func TestBodyNotReadToEnd(t *testing.T) {
	f := newFixture(t)
	var read atomic.Int64
	r := postReq(nil)
	r.ContentLength = -1
	r.Body = io.NopCloser(countingReader{&read, 64 << 20})
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", w.Code)
	}
	if n := read.Load(); n > 2*DefaultMaxBody {
		t.Errorf("read %d bytes of a 64 MiB body", n)
	}
}

type countingReader struct {
	n   *atomic.Int64
	max int64
}

func (c countingReader) Read(p []byte) (int, error) {
	if c.n.Load() >= c.max {
		return 0, io.EOF
	}
	for i := range p {
		p[i] = 'x'
	}
	c.n.Add(int64(len(p)))
	return len(p), nil
}

func TestReplay(t *testing.T) {
	f := newFixture(t)
	body := encode(t, f.notification("2", sesBounce))
	for i := range 3 {
		if w := f.post(body); w.Code != http.StatusOK {
			t.Fatalf("delivery %d: status %d %s", i+1, w.Code, w.Body)
		}
	}
	if _, n := f.sink.snapshot(); n != 1 {
		t.Errorf("enqueued %d times, want 1", n)
	}
	// A new SNS message about the same SES event is a new delivery.
	if w := f.post(encode(t, f.notification("2", sesBounce))); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if _, n := f.sink.snapshot(); n != 2 {
		t.Errorf("enqueued %d times, want 2", n)
	}
}

func TestSinkFailure(t *testing.T) {
	boom := errors.New("redis: connection refused")
	t.Run("enqueue fails, retry succeeds", func(t *testing.T) {
		f := newFixture(t)
		body := encode(t, f.notification("2", sesBounce))
		f.sink.enqueueErr = boom
		if w := f.post(body); w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "redis") {
			t.Fatalf("status %d %q, want 503 without internals", w.Code, w.Body)
		}
		if len(f.sink.seen) != 0 {
			t.Fatalf("marked seen after a failed enqueue: %v", f.sink.seen)
		}
		f.sink.enqueueErr = nil
		if w := f.post(body); w.Code != http.StatusOK {
			t.Fatalf("retry: status %d", w.Code)
		}
		if _, n := f.sink.snapshot(); n != 1 {
			t.Errorf("retry enqueued %d events, want 1: the failure lost the event", n)
		}
	})
	t.Run("replay check fails", func(t *testing.T) {
		f := newFixture(t)
		f.sink.seenErr = boom
		if w := f.post(encode(t, f.notification("2", sesBounce))); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", w.Code)
		}
		if _, n := f.sink.snapshot(); n != 0 {
			t.Errorf("enqueued %d events", n)
		}
	})
	t.Run("mark fails after enqueue", func(t *testing.T) {
		f := newFixture(t)
		f.sink.markErr = boom
		if w := f.post(encode(t, f.notification("2", sesBounce))); w.Code != http.StatusOK {
			t.Fatalf("status %d, want 200: the event is already safe", w.Code)
		}
		if _, n := f.sink.snapshot(); n != 1 {
			t.Errorf("enqueued %d events, want 1", n)
		}
	})
	t.Run("certificate unreachable", func(t *testing.T) {
		f := newFixture(t)
		body := encode(t, f.notification("2", sesBounce))
		f.srv.Close()
		if w := f.post(body); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", w.Code)
		}
		if calls, _ := f.sink.snapshot(); calls != 0 {
			t.Errorf("%d sink calls", calls)
		}
	})
}

func TestUnknownSESTypes(t *testing.T) {
	f := newFixture(t)
	w := f.post(encode(t, f.notification("2", `{"notificationType":"AmazonSnsSubscriptionSucceeded","message":"ok"}`)))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if calls, _ := f.sink.snapshot(); calls != 0 {
		t.Errorf("%d sink calls for a notice without a message", calls)
	}
	w = f.post(encode(t, f.notification("2", `{"eventType":"Teleport","mail":{"messageId":"m"}}`)))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if _, n := f.sink.snapshot(); n != 1 || f.sink.events[0].Kind != sesevent.KindUnknown {
		t.Errorf("unknown event type not enqueued for the tracker to see")
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	f := newFixture(t)
	var bodies [][]byte
	for range 8 {
		bodies = append(bodies, encode(t, f.notification("2", sesBounce)))
	}
	f.sink.held, f.sink.entered, f.sink.gate = len(bodies), make(chan struct{}), make(chan struct{})
	serve := func(body []byte) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, postReq(body))
		return w
	}
	// One delivery of each notification claims it and is held inside
	// Enqueue, so its claim is certainly pending.
	var wg sync.WaitGroup
	for _, body := range bodies {
		wg.Go(func() {
			if w := serve(body); w.Code != http.StatusOK || w.Body.String() != "ok\n" {
				t.Errorf("first delivery: status %d %q, want 200 ok", w.Code, w.Body)
			}
		})
	}
	for range bodies {
		<-f.sink.entered
	}
	// Three more of each arrive at once meanwhile: each is told to
	// retry, and none is enqueued beside the one in progress.
	var again sync.WaitGroup
	for i := range 3 * len(bodies) {
		again.Go(func() {
			if w := serve(bodies[i%len(bodies)]); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "in progress") {
				t.Errorf("delivery during a pending claim: status %d %q, want 503 in progress", w.Code, w.Body)
			}
		})
	}
	again.Wait()
	close(f.sink.gate)
	wg.Wait()
	// SNS's retries of the ones told to wait find them done.
	for _, body := range bodies {
		if w := serve(body); w.Code != http.StatusOK || w.Body.String() != "duplicate\n" {
			t.Errorf("retry: status %d %q, want 200 duplicate", w.Code, w.Body)
		}
	}
	if _, n := f.sink.snapshot(); n != len(bodies) {
		t.Errorf("enqueued %d, want each of the %d notifications once", n, len(bodies))
	}
}

var _ Sink = (*memSink)(nil)

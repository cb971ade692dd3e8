package sesfake

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// OutboxDir, if set, receives every accepted email as <MessageId>.eml.
	OutboxDir string
	// Notify, if set, receives SES event-publishing JSON (what an SNS notification
	// would carry as its Message) for simulator and suppressed addresses. It runs
	// in a goroutine, never blocking SendEmail, and is retried with backoff.
	Notify func(ctx context.Context, eventJSON []byte) error
	// EmitDelivery also publishes a Delivery event for ordinary recipients.
	EmitDelivery bool
	// EmitSend publishes a Send event for every accepted email, first, as
	// SES does for a configuration set whose event destination includes
	// Send events; with it, a send whose reply was lost can be settled.
	EmitSend bool
	// NotifyAttempts is how often one event is tried (default 5).
	NotifyAttempts int
	// NotifyBackoff is the wait after the first failure, doubled each time
	// (default 200ms).
	NotifyBackoff time.Duration

	// MaxSendRate is reported by GetAccount (default 14 per second).
	MaxSendRate float64
	// Max24HourSend is reported by GetAccount (default 50000).
	Max24HourSend float64
	// EnforceRate makes SendEmail answer TooManyRequestsException when
	// recipients per second exceed MaxSendRate, as SES does (wall clock, burst
	// of one second's worth).
	EnforceRate bool

	// EnforceDailyQuota refuses recipients beyond Max24HourSend within 24
	// hours: ACCOUNT_DAILY_QUOTA_EXCEEDED per bulk entry, a
	// LimitExceededException ("Daily message quota exceeded.") for SendEmail.
	EnforceDailyQuota bool
	// Discard keeps no accepted email (no .eml is built; Messages is empty,
	// Count still counts): for benchmarks of a million recipients.
	Discard bool
	// OnAccept, if set, is called for every accepted recipient with the time
	// it was accepted (benchmarks measure latency with it). It must be fast.
	OnAccept func(to string, at time.Time)

	// Now is the clock for timestamps (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Faults are injected into API calls; change them at any time with SetFaults.
// Down and Latency apply to every API call; ThrottleRate, ErrorRate, Reject,
// Paused and Suspended to SendEmail only, so clients can still start up.
type Faults struct {
	Latency      time.Duration // added before every API answer
	ErrorRate    float64       // 0..1: 500 InternalFailure
	ThrottleRate float64       // 0..1: 429 TooManyRequestsException
	// ThrottleEvery and ErrorEvery (n > 0) answer every n-th send call
	// with 429 or 500 (a call that is both is throttled), for tests that
	// must see both faults however few calls they make.
	ThrottleEvery, ErrorEvery int
	Reject                    map[string]string // recipient address → MessageRejected message
	Down                      bool              // 503 ServiceUnavailable for every API call
	Paused                    bool              // 400 SendingPausedException
	Suspended                 bool              // 400 AccountSuspendedException
	// LoseReplyRate (0..1) accepts the email and then closes the
	// connection without answering: the caller cannot know it was sent.
	LoseReplyRate float64
	// LoseReplyEvery (n > 0) does the same to every n-th send call, for
	// tests that must see the fault however few calls they make.
	LoseReplyEvery int
	// EntryStatus fails single entries of a SendBulkEmail: status (e.g.
	// "TRANSIENT_FAILURE", "ACCOUNT_THROTTLED", "MESSAGE_REJECTED") →
	// probability 0..1 per entry.
	EntryStatus map[string]float64
}

// Server is the fake SES endpoint. Use it as an http.Handler.
type Server struct {
	o      Options
	log    *slog.Logger
	mux    *http.ServeMux
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	faults     Faults
	msgs       []Message
	byID       map[string]int
	suppressed map[string]suppression
	tokens     float64
	tokensAt   time.Time
	lost       int
	sendCalls  int         // send calls seen (the Every faults)
	accepted   int         // recipients accepted, kept or discarded
	failures   []Rendering // bulk entries whose template did not render
}

// New returns a Server ready to serve.
func New(o Options) *Server {
	if o.MaxSendRate <= 0 {
		o.MaxSendRate = 14
	}
	if o.Max24HourSend <= 0 {
		o.Max24HourSend = 50000
	}
	if o.NotifyAttempts <= 0 {
		o.NotifyAttempts = 5
	}
	if o.NotifyBackoff <= 0 {
		o.NotifyBackoff = 200 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		// Nothing: not even formatted first (that cost a SendEmail some
		// 10 µs of CPU).
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		o:          o,
		log:        o.Logger.With("component", "sesfake"),
		ctx:        ctx,
		cancel:     cancel,
		byID:       map[string]int{},
		suppressed: map[string]suppression{},
		tokens:     o.MaxSendRate,
		tokensAt:   time.Now(),
	}
	mux := http.NewServeMux()
	api := func(h http.HandlerFunc) http.Handler { return s.apiMiddleware(h) }
	mux.Handle("POST /v2/email/outbound-emails", api(s.sendEmail))
	mux.Handle("POST /v2/email/outbound-bulk-emails", api(s.sendBulkEmail))
	mux.Handle("GET /v2/email/account", api(s.getAccount))
	mux.Handle("PUT /v2/email/suppression/addresses", api(s.putSuppressed))
	mux.Handle("GET /v2/email/suppression/addresses", api(s.listSuppressed))
	mux.Handle("GET /v2/email/suppression/addresses/{email}", api(s.getSuppressed))
	mux.Handle("DELETE /v2/email/suppression/addresses/{email}", api(s.deleteSuppressed))
	mux.Handle("/v2/", api(s.unsupported))
	mux.HandleFunc("GET /outbox", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "outbox/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /outbox/{$}", s.outboxList)
	mux.HandleFunc("GET /outbox/{name}", s.outboxItem)
	s.mux = mux
	return s
}

// ServeHTTP serves the SES v2 API under /v2/email/ and the outbox under /outbox/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// Messages returns every accepted email, in the order accepted.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Message returns one accepted email by its MessageId.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byID[id]
	if !ok {
		return Message{}, false
	}
	return s.msgs[i], true
}

// Count is the number of accepted emails (with Discard too).
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.o.Discard {
		return s.accepted
	}
	return len(s.msgs)
}

// LostReplies is how many accepted emails got no answer (LoseReplyRate).
func (s *Server) LostReplies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

// Wait blocks until every pending Notify call has succeeded or given up.
func (s *Server) Wait() { s.wg.Wait() }

// Close stops retrying notifications and waits for pending ones to return.
func (s *Server) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

func (s *Server) currentFaults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// apiMiddleware applies the faults every API call shares and checks that the
// caller signed the request, as a misconfigured client would fail against SES.
func (s *Server) apiMiddleware(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := s.currentFaults()
		if f.Latency > 0 {
			t := time.NewTimer(f.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.Down {
			writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "Service is unavailable (sesfake: Down fault)")
			return
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			writeError(w, http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token: sign requests with SigV4 (any static credentials work)")
			return
		}
		if r.URL.Path == "/v2/email/outbound-emails" || r.URL.Path == "/v2/email/outbound-bulk-emails" {
			n := s.countSendCall()
			if callFault(w, f, n) {
				return
			}
			if every(n, f.LoseReplyEvery) || chance(f.LoseReplyRate) {
				s.loseReply(w, r, next)
				return
			}
		}
		next(w, r)
	})
}

// countSendCall counts a send call and returns its number (the n of the
// Every faults).
func (s *Server) countSendCall() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendCalls++
	return s.sendCalls
}

// loseReply runs a send and, if it was accepted, drops the connection
// instead of answering; a refusal is answered as usual.
func (s *Server) loseReply(w http.ResponseWriter, r *http.Request, next http.HandlerFunc) {
	rec := &heldReply{header: http.Header{}, status: http.StatusOK}
	next(rec, r)
	if rec.status < 300 {
		accepted := 1
		if r.URL.Path == "/v2/email/outbound-bulk-emails" {
			// Every entry SES took is an email whose sender now cannot know.
			var out struct{ BulkEmailEntryResults []struct{ Status string } }
			accepted = 0
			if json.Unmarshal(rec.body, &out) == nil {
				for _, e := range out.BulkEmailEntryResults {
					if e.Status == "SUCCESS" {
						accepted++
					}
				}
			}
		}
		s.mu.Lock()
		s.lost += accepted
		s.mu.Unlock()
		panic(http.ErrAbortHandler) // the server closes the connection unanswered
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body)
}

// heldReply keeps an answer instead of sending it.
type heldReply struct {
	header http.Header
	status int
	body   []byte
}

func (h *heldReply) Header() http.Header         { return h.header }
func (h *heldReply) WriteHeader(code int)        { h.status = code }
func (h *heldReply) Write(b []byte) (int, error) { h.body = append(h.body, b...); return len(b), nil }

func (s *Server) unsupported(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "NotFoundException",
		"sesfake does not implement "+r.Method+" "+r.URL.Path+
			"; supported: SendEmail, SendBulkEmail, GetAccount, Put/Get/Delete/ListSuppressedDestination(s)")
}

// chance reports true with probability p.
func chance(p float64) bool { return p > 0 && (p >= 1 || rand.Float64() < p) }

// writeError answers in the restJson1 error shape the SDK decodes: the type in
// X-Amzn-ErrorType and in __type, the text in message.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-ErrorType", typ)
	writeJSON(w, status, map[string]string{"__type": typ, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSONBytes(w, status, b)
}

// writeJSONBytes answers with b, JSON.
func writeJSONBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", newUUID())
	w.WriteHeader(status)
	w.Write(b)
}

// apiError is a failure a handler reports; the HTTP edge maps it with writeError.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func badRequest(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "BadRequestException", msg}
}

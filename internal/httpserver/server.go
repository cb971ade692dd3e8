package httpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/webhook"
)

// Server routes every HTTP request.
type Server struct {
	App     *app.App
	Webhook *webhook.Handler
	// Extra handlers mounted by `dev` (e.g. the outbox at /outbox/).
	Extra  map[string]http.Handler
	Logger *slog.Logger
	// BodyTimeout bounds reading a request to the public pages and the
	// webhook (default 10 s): a client trickling its body holds a
	// connection no longer. The API (CSV imports) has the server's own.
	BodyTimeout time.Duration
	// AnswerFloor is the least time the subscribe form and the fresh-link
	// form take to answer (default 100 ms): the work behind them differs
	// with what the store knows of the address, and the answer's timing
	// must not tell. Negative: no floor.
	AnswerFloor time.Duration
	// Sleep waits (time.Sleep when nil; tests replace it).
	Sleep func(time.Duration)

	// Admin serves the admin pages under /admin/ (internal/webui; nil:
	// 404 once signed in), behind the sign-in: GET and HEAD need newsletter.PermRead,
	// other methods PermEditions; it checks finer permissions itself
	// (webctx.From(ctx).Account.Role.Can), or AdminRoutes declares them.
	Admin http.Handler
	// AdminRoutes are further routes, each behind the sign-in with its own
	// permission; they take precedence over Admin where more specific.
	AdminRoutes []Route
}

// Handler returns the routed handler: every route of Routes, behind the
// sign-in where it needs a permission, and the whole behind Go's
// cross-origin protection.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		h := rt.Handler
		if rt.Perm != Public {
			h = s.require(rt.Perm, h)
		}
		mux.Handle(rt.Pattern, h)
	}
	for p, h := range s.Extra {
		mux.Handle(p, h)
	}
	return s.recoverer(securityHeaders(s.crossOrigin(s.boundBody(s.publicNotFound(mux)))))
}

// padded answers h's response no sooner than AnswerFloor after the request
// came in. The response is held in a buffer meanwhile, so not even its
// first byte leaves early.
func (s *Server) padded(h http.HandlerFunc) http.HandlerFunc {
	floor := s.AnswerFloor
	if floor == 0 {
		floor = 100 * time.Millisecond
	}
	sleep := s.Sleep
	if sleep == nil {
		sleep = time.Sleep
	}
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		buf := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		h(buf, r)
		if d := floor - time.Since(start); d > 0 {
			sleep(d)
		}
		maps.Copy(w.Header(), buf.header)
		w.WriteHeader(buf.status)
		_, _ = w.Write(buf.body.Bytes())
	}
}

// bufferedResponse keeps a whole response in memory.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }

// boundBody sets a read deadline on every request outside the API.
func (s *Server) boundBody(h http.Handler) http.Handler {
	d := s.BodyTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			// Not every ResponseWriter supports it (httptest's recorder).
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		}
		h.ServeHTTP(w, r)
	})
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.Error("panic in HTTP handler", "path", r.URL.Path, "panic", v)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// StatusOf maps an application error to an HTTP status.
func StatusOf(err error) int {
	switch newsletter.ErrorCode(err) {
	case newsletter.EINVALID:
		return http.StatusBadRequest
	case newsletter.ENOTFOUND:
		return http.StatusNotFound
	case newsletter.ECONFLICT:
		return http.StatusConflict
	case newsletter.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case newsletter.EFORBIDDEN:
		return http.StatusForbidden
	case newsletter.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, err error) {
	status := StatusOf(err)
	msg := err.Error()
	var e *newsletter.Error
	if status == http.StatusInternalServerError && !errors.As(err, &e) {
		msg = "internal error"
	}
	writeJSON(w, status, map[string]string{"error": msg, "code": newsletter.ErrorCode(err)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

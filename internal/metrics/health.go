package metrics

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Readiness is one /readyz answer.
type Readiness interface {
	Ready() bool
	String() string
}

// Healthz answers 200 while the process runs: it needs nothing else, so a
// liveness probe never restarts a process for a Redis outage.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// Readyz answers 200 when ready says so, else 503; the body has one line
// per check.
func Readyz(ready func(ctx context.Context) Readiness) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		res := ready(r.Context())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if !res.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(res.String()))
	}
}

// Protect answers h only to a request bearing token; with no token
// configured it answers 404 and says how to open it. For /metrics on the
// public HTTP server.
func Protect(token string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			http.Error(w, "metrics are off on this address: set NEWSLETTER_METRICS_TOKEN and scrape with Authorization: Bearer <token>", http.StatusNotFound)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <NEWSLETTER_METRICS_TOKEN>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Mux returns the handler of `work`'s metrics address: /metrics (open:
// bind it to an internal address), /healthz and /readyz.
func (m *Metrics) Mux(ready func(ctx context.Context) Readiness) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", Healthz)
	mux.HandleFunc("GET /readyz", Readyz(ready))
	return mux
}

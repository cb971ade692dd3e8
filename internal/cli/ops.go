package cli

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"newsletter"
	"newsletter/internal/app"
)

// newLogger builds the logger of NEWSLETTER_LOG_FORMAT (text or json).
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	o := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// serveMetrics serves /metrics, /healthz and /readyz of a worker process
// on NEWSLETTER_METRICS_ADDR until ctx ends. No address: nothing.
func (r *root) serveMetrics(ctx context.Context, a *app.App) error {
	if a.Cfg.MetricsAddr == "" {
		r.log.Info("NEWSLETTER_METRICS_ADDR is not set: no /metrics, /healthz or /readyz for this worker")
		return nil
	}
	l, err := net.Listen("tcp", a.Cfg.MetricsAddr)
	if err != nil {
		return newsletter.Errorf(newsletter.EUNAVAILABLE, "cannot listen on %s (%v): set NEWSLETTER_METRICS_ADDR to a free address, e.g. NEWSLETTER_METRICS_ADDR=127.0.0.1:9091", a.Cfg.MetricsAddr, err)
	}
	srv := &http.Server{Handler: a.Metrics().Mux(a.Readiness(true)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	r.log.Info("metrics listening", "addr", l.Addr().String())
	return nil
}

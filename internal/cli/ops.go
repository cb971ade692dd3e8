package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/sesfake"
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
		r.log.Debug("NEWSLETTER_METRICS_ADDR is not set: no /metrics, /healthz or /readyz for this worker")
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

// sesEmulatorCmd serves the embedded SES v2 endpoint on its own, for a
// staging setup without AWS (compose's staging profile): every email lands
// in its outbox (/outbox/ and .eml files). It posts no SNS notifications.
func (r *root) sesEmulatorCmd() *cobra.Command {
	var addr, outbox string
	var rate float64
	c := &cobra.Command{Use: "ses-emulator", Short: "Serve an SES v2-compatible endpoint with an outbox (staging without AWS)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fake := sesfake.New(sesfake.Options{OutboxDir: outbox, MaxSendRate: rate})
			defer fake.Close()
			if _, _, err := fake.LoadOutbox(devOutboxKeep); err != nil {
				r.log.Warn("outbox of earlier runs not loaded", "err", err)
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return newsletter.Errorf(newsletter.EUNAVAILABLE, "cannot listen on %s (%v): pass --addr with a free address", addr, err)
			}
			srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-cmd.Context().Done()
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(sctx)
			}()
			r.log.Info("SES emulator listening", "addr", l.Addr().String(), "outbox", outbox)
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8025", "listen address")
	c.Flags().StringVar(&outbox, "outbox", "outbox", "folder for the .eml files")
	c.Flags().Float64Var(&rate, "rate", 200, "sending rate GetAccount reports (emails/s)")
	return c
}

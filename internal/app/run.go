package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"newsletter"
	"newsletter/internal/ratelimit"
	"newsletter/internal/redisstore"
	"newsletter/internal/ses"
	"newsletter/workers"
)

// SESClient builds the SES v2 client from the AWS SDK's configuration chain
// (AWS_REGION, credentials, AWS_ENDPOINT_URL_SESV2). staticCreds is for the
// embedded dev endpoint.
func (a *App) SESClient(ctx context.Context, endpoint string, staticCreds bool) (*sesv2.Client, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if staticCreds {
		opts = append(opts, awsconfig.WithRegion("eu-west-1"),
			awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("dev", "dev", "")))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, newsletter.Errorf(newsletter.EINVALID, "AWS configuration: %v: set AWS_REGION and credentials (see the AWS SDK docs)", err)
	}
	if cfg.Region == "" {
		cfg.Region = "eu-west-1"
	}
	// Keep a connection per concurrent send: the SDK's default of 10 idle
	// connections per host means a new TLS handshake for most emails.
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 0
		t.MaxIdleConnsPerHost = max(64, a.Cfg.SendConcurrency+16)
	})
	return ses.NewClient(cfg, endpoint), nil
}

// The adapters satisfy the interfaces the handlers declare.
var (
	_ workers.Store             = (*redisstore.Store)(nil)
	_ workers.Sender            = (*ses.Sender)(nil)
	_ workers.AccountSuppressor = (*ses.AccountSuppression)(nil)
)

// WorkOptions wire the workers.
type WorkOptions struct {
	Sender workers.Sender
	// Rate is emails per second across all workers (<= 0: unlimited).
	Rate     float64
	Consumer string
	// Account, when set, syncs suppressions with the SES account list.
	Account *ses.AccountSuppression
}

// ResolveRate returns the configured rate, or asks SES for the account's.
// It is also the start-up check that SES answers: an unreachable endpoint
// stops the start; an SES that answers GetAccount with an error (an IAM
// policy that only allows ses:SendEmail, an emulator) is fine when the rate
// is configured.
func (a *App) ResolveRate(ctx context.Context, c *sesv2.Client) (float64, error) {
	rate, err := ses.MaxSendRate(ctx, c)
	if err != nil {
		switch {
		case !errors.Is(err, ses.ErrRefused):
			return 0, newsletter.Errorf(newsletter.EUNAVAILABLE, "SES is not reachable (%v): check AWS_REGION, credentials and AWS_ENDPOINT_URL_SESV2", err)
		case a.Cfg.SESRate <= 0:
			return 0, newsletter.Errorf(newsletter.EUNAVAILABLE, "SES refused GetAccount (%v): set NEWSLETTER_SES_RATE to the account's sending rate, or allow ses:GetAccount", err)
		}
		a.Logger.Warn("SES GetAccount failed; using NEWSLETTER_SES_RATE", "rate", a.Cfg.SESRate, "err", err)
		return a.Cfg.SESRate, nil
	}
	if a.Cfg.SESRate > 0 {
		if a.Cfg.SESRate > rate && rate > 0 {
			a.Logger.Warn("NEWSLETTER_SES_RATE is above the SES account's maximum; SES will throttle", "configured", a.Cfg.SESRate, "account_max", rate)
		}
		return a.Cfg.SESRate, nil
	}
	return rate, nil
}

// Router builds the Watermill router with all handlers.
func (a *App) Router(o WorkOptions) (*message.Router, error) {
	if o.Consumer == "" {
		o.Consumer = ConsumerName()
	}
	// A job's recipients are all claimed before the first is sent; at a low
	// account rate keep chunks to about a second of sending, so a worker
	// killed mid-job leaves few deliveries "unknown".
	chunk := a.Cfg.Chunk
	if o.Rate > 0 {
		chunk = max(1, min(chunk, int(o.Rate)/max(1, a.Cfg.SendSubscribers)))
	}
	fan := &workers.FanOut{Store: a.store, Chunk: chunk, Logger: a.Logger}
	send := &workers.Send{
		Store: a.store, Sender: o.Sender, Renderer: a.Renderer, Links: a.Links,
		Limiter: ratelimit.New(a.NewRedisClient(), a.store.Prefix()+"ratelimit:ses", o.Rate),
		From:    a.Cfg.From, ListID: a.Cfg.ListID, Concurrency: a.Cfg.SendConcurrency, Logger: a.Logger,
	}
	track := &workers.Track{Store: a.store, Logger: a.Logger, Rules: workers.TrackRules{
		SuppressPermanentBounce: a.Cfg.SuppressHardBounces, SoftBounceLimit: a.Cfg.SoftBounceLimit,
		SoftBounceWindow: a.Cfg.SoftBounceWindow, ComplaintUnsubscribes: a.Cfg.ComplaintUnsubscribes,
	}}
	if o.Account != nil {
		track.Account = o.Account
	}
	return workers.NewRouter(workers.RouterConfig{
		NewClient: a.NewRedisClient, Stream: a.store.Stream, Consumer: o.Consumer,
		SendSubscribers: a.Cfg.SendSubscribers, MaxIdle: a.Cfg.ClaimIdle, HandlerTimeout: a.Cfg.ClaimIdle / 2,
		Logger: a.Logger,
	}, fan, send, track)
}

// ConsumerName is this process's stable consumer name: the host name plus
// NEWSLETTER_WORKER_ID (set per instance, e.g. by the systemd template),
// else the process id.
func ConsumerName() string {
	host, _ := os.Hostname()
	if id := os.Getenv("NEWSLETTER_WORKER_ID"); id != "" {
		return host + "-" + id
	}
	return fmt.Sprintf("%s-pid%d", host, os.Getpid())
}

// RunWork runs the workers until ctx ends: the router, the scheduler and
// the stream trimmer.
func (a *App) RunWork(ctx context.Context, o WorkOptions) error {
	if o.Consumer == "" {
		o.Consumer = ConsumerName()
	}
	router, err := a.Router(o)
	if err != nil {
		return err
	}
	go a.every(ctx, time.Second, func(ctx context.Context) {
		if _, err := a.FireDue(ctx); err != nil {
			a.Logger.Error("scheduler", "err", err)
		}
	})
	go a.every(ctx, time.Minute, func(ctx context.Context) {
		for _, t := range []string{workers.TopicEditionsPublished, workers.TopicDeliveries, workers.TopicSESEvents} {
			if n, err := a.store.Trim(ctx, t); err != nil {
				a.Logger.Error("trim stream", "topic", t, "err", err)
			} else if n > 0 {
				a.Logger.Debug("trimmed stream", "topic", t, "entries", n)
			}
		}
	})
	if o.Account != nil {
		go a.every(ctx, 10*time.Minute, func(ctx context.Context) {
			if n, err := a.PullAccountSuppressions(ctx, o.Account); err != nil {
				a.Logger.Error("pull SES account suppressions", "err", err)
			} else if n > 0 {
				a.Logger.Info("suppressed addresses from the SES account list", "count", n)
			}
		})
	}
	a.Logger.Info("workers running", "consumer", o.Consumer, "rate_per_s", o.Rate, "concurrency", a.Cfg.SendConcurrency, "jobs", a.Cfg.SendSubscribers)
	if err := router.Run(ctx); err != nil {
		return fmt.Errorf("workers: %w", err)
	}
	return nil
}

func (a *App) every(ctx context.Context, d time.Duration, fn func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// SESSender returns the production sender for c.
func (a *App) SESSender(c *sesv2.Client) *ses.Sender {
	return &ses.Sender{Client: c, ConfigurationSet: a.Cfg.SESConfigurationSet}
}

// PullAccountSuppressions copies addresses SES suppressed at the account
// level (since the last pull, or the last 30 days) into our suppression
// list. It returns how many were new here.
func (a *App) PullAccountSuppressions(ctx context.Context, acct *ses.AccountSuppression) (int, error) {
	since := time.Now().Add(-30 * 24 * time.Hour)
	if v, err := a.store.GetMark(ctx, "ses-suppression-pull"); err == nil && v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			since = t.Add(-time.Minute)
		}
	}
	started := time.Now().UTC()
	n := 0
	err := acct.Since(ctx, since, func(email, reason string, at time.Time) error {
		if _, err := a.store.Suppression(ctx, email); err == nil {
			return nil
		}
		n++
		return a.store.Suppress(ctx, email, "ses-account-"+strings.ToLower(reason), "on the SES account suppression list since "+at.Format(time.RFC3339))
	})
	if err != nil {
		return n, err
	}
	return n, a.store.SetMark(ctx, "ses-suppression-pull", started.Format(time.RFC3339), 0)
}

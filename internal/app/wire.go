package app

// Wiring: everything here builds parts from the one validated Config. The
// use cases live in the other files.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/ratelimit"
	"newsletter/internal/redisstore"
	"newsletter/internal/render"
	"newsletter/internal/ses"
	"newsletter/internal/snsverify"
	"newsletter/internal/token"
	"newsletter/workers"
)

// The adapters satisfy the interfaces the handlers declare.
var (
	_ workers.Store             = (*redisstore.Store)(nil)
	_ workers.Sender            = (*ses.Sender)(nil)
	_ workers.BulkSender        = (*ses.Sender)(nil)
	_ workers.QuotaSource       = (*ses.Sender)(nil)
	_ workers.AccountSuppressor = (*ses.AccountSuppression)(nil)
)

// Open connects to Redis and builds the renderer and link signer.
func Open(ctx context.Context, cfg Config, need Need, logger *slog.Logger, skipPolicy bool) (*App, error) {
	if err := cfg.Validate(need); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	a := &App{Cfg: cfg, Logger: logger, Now: time.Now}
	if cfg.RedisURL != "" {
		if err := a.parseRedisURL(cfg.RedisURL); err != nil {
			return nil, err
		}
		a.store = redisstore.New(a.NewRedisClient(), cfg.RedisPrefix)
		// One clock: a test that sets a.Now moves the store's time too.
		a.store.Now = func() time.Time { return a.Now() }
		a.store.UnconfirmedTTL = cfg.UnconfirmedTTL
		quotas := a.store.Prefix() + "quota:form:"
		a.formOverall = ratelimit.NewQuota(a.store.Client(), quotas, cfg.SubscribeRate, time.Hour)
		a.formPerClient = ratelimit.NewQuota(a.store.Client(), quotas+"client:", cfg.SubscribeRatePerClient, time.Hour)
		a.loginPerAccount = ratelimit.NewQuota(a.store.Client(), a.store.Prefix()+"quota:login:account:", cfg.LoginRate, time.Hour)
		a.loginPerClient = ratelimit.NewQuota(a.store.Client(), a.store.Prefix()+"quota:login:client:", cfg.LoginRatePerClient, time.Hour)
		if !skipPolicy {
			if err := a.store.CheckPolicy(ctx); err != nil {
				_ = a.store.Client().Close()
				return nil, err
			}
		} else if err := a.store.Client().Ping(ctx).Err(); err != nil {
			return nil, newsletter.Errorf(newsletter.EUNAVAILABLE, "Redis at %s is not reachable (%v): start it or fix NEWSLETTER_REDIS_URL", RedactURL(cfg.RedisURL), err)
		}
	}
	// Commands that only validate or preview may run without a base URL;
	// `work` and `serve` require one (Validate), so sent emails never carry
	// the placeholder.
	if cfg.ResolveBrand() == "" && !need.Send && !need.HTTP {
		cfg.BrandName = "example.org" // a preview without settings; say so where it shows
	}
	if cfg.BrandName == "" {
		return nil, newsletter.Errorf(newsletter.EINVALID, "no programme name for the emails: set NEWSLETTER_BRAND_NAME (e.g. NEWSLETTER_BRAND_NAME=Leerwerkakkoord), or give NEWSLETTER_FROM a name ('Leerwerkakkoord <nieuwsbrief@example.org>')")
	}
	a.Cfg = cfg
	r, err := render.New(render.Brand{ProductName: cfg.BrandName, ProductLink: or(cfg.BrandLink, or(cfg.BaseURL, "https://example.org")),
		LogoURL: cfg.BrandLogo, FooterAddress: cfg.FooterAddress, PrimaryColor: cfg.BrandColor, ButtonColor: cfg.BrandColor,
		NeutralGreeting: map[string]string{"nl": cfg.NeutralGreeting, "en": cfg.NeutralGreetingEN}})
	if err != nil {
		return nil, fmt.Errorf("brand settings (NEWSLETTER_BRAND_*): %w", err)
	}
	a.Renderer = r
	if len(cfg.Secret) >= 32 {
		signer, err := token.NewSigner([]byte(cfg.Secret))
		if err != nil {
			return nil, err
		}
		a.Links = &Links{Base: cfg.BaseURL, Signer: signer, Now: func() time.Time { return a.Now() }, PreferencesAge: cfg.PreferencesLinkAge}
	}
	return a, nil
}

// NewRedisClient returns a fresh client to the configured Redis: a
// cluster client for go-redis's cluster URL form.
func (a *App) NewRedisClient() redis.UniversalClient {
	if a.clusterOpts != nil {
		o := *a.clusterOpts
		return redis.NewClusterClient(&o)
	}
	o := *a.redisOpts
	return redis.NewClient(&o)
}

// parseRedisURL reads NEWSLETTER_REDIS_URL: a single Redis, or a cluster
// when the URL lists more nodes (redis://h:7000?addr=h:7001&addr=h:7002).
func (a *App) parseRedisURL(u string) error {
	bad := func(err error) error {
		return newsletter.Errorf(newsletter.EINVALID, "NEWSLETTER_REDIS_URL %q: %v: write e.g. redis://user:password@127.0.0.1:6379/0, or for a Redis Cluster redis://h:7000?addr=h:7001&addr=h:7002", RedactURL(u), err)
	}
	if IsClusterURL(u) {
		opt, err := redis.ParseClusterURL(u)
		if err != nil {
			return bad(err)
		}
		a.clusterOpts = opt
		return nil
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		return bad(err)
	}
	a.redisOpts = opt
	return nil
}

// IsClusterURL reports whether u is go-redis's cluster form: it names
// further nodes with addr= query parameters.
func IsClusterURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Query().Has("addr")
}

// Close releases the Redis client.
func (a *App) Close() error {
	if a.store != nil {
		return a.store.Client().Close()
	}
	return nil
}

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
	if !staticCreds {
		if err := checkCredentials(ctx, cfg); err != nil {
			return nil, err
		}
	}
	return ses.NewClient(cfg, endpoint), nil
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
		o.Consumer = a.ConsumerName()
	}
	// Recipients are claimed call by call, just before their SES call. A
	// job shares the rate with every other job of every process, so at a
	// limited rate keep it to about a second of the whole rate per job
	// slot: a larger job outlives its handler deadline and is handed on in
	// pieces, which measurably loses rate (185 instead of 198/s at 200/s
	// over three processes with 500-recipient jobs; 198 with 50).
	chunk := a.Cfg.Chunk
	if o.Rate > 0 {
		chunk = max(1, min(chunk, int(o.Rate)/max(1, a.Cfg.SendSubscribers)))
	}
	editionRate, noticeRate := splitRate(o.Rate)
	m := a.Metrics()
	store := countingStore{Store: a.store, m: m}
	fan := &workers.FanOut{Store: store, Batch: 2000, Chunk: chunk, Logger: a.Logger}
	send := &workers.Send{
		Store: store, Sender: m.InstrumentSender(o.Sender), Renderer: a.Renderer, Links: a.Links,
		Limiter:       m.InstrumentLimiter(ratelimit.New(a.NewRedisClient(), a.store.Prefix()+"ratelimit:ses", editionRate)),
		NoticeLimiter: m.InstrumentLimiter(ratelimit.New(a.NewRedisClient(), a.store.Prefix()+"ratelimit:ses-notices", noticeRate)),
		From:          a.Cfg.From, ListID: a.Cfg.ListID, Concurrency: a.Cfg.SendConcurrency, Logger: a.Logger,
		Consumer: o.Consumer, Now: func() time.Time { return a.Now() },
	}
	if b, ok := o.Sender.(workers.BulkSender); ok && a.Cfg.SESAPI != "single" {
		send.Bulk = m.InstrumentBulk(b)
	}
	if q, ok := o.Sender.(workers.QuotaSource); ok {
		send.Quota = q
	}
	track := &workers.Track{Store: store, Logger: a.Logger, Rules: workers.TrackRules{
		SuppressPermanentBounce: a.Cfg.SuppressHardBounces, SoftBounceLimit: a.Cfg.SoftBounceLimit,
		SoftBounceWindow: a.Cfg.SoftBounceWindow, ComplaintUnsubscribes: a.Cfg.ComplaintUnsubscribes,
	}}
	if o.Account != nil {
		track.Account = o.Account
	}
	return workers.NewRouter(a.routerConfig(o), fan, send, track)
}

// routerConfig is how the router reads the streams. Stopping waits for
// handlers at most three quarters of the shutdown bound; handing back the
// jobs not started gets the rest.
func (a *App) routerConfig(o WorkOptions) workers.RouterConfig {
	if o.Consumer == "" {
		o.Consumer = a.ConsumerName()
	}
	shutdown := a.Cfg.ShutdownTimeout
	if shutdown <= 0 {
		shutdown = 30 * time.Second
	}
	return workers.RouterConfig{
		NewClient: a.NewRedisClient, Stream: a.store.Stream, Consumer: o.Consumer,
		SendSubscribers: a.Cfg.SendSubscribers, MaxIdle: a.Cfg.ClaimIdle, HandlerTimeout: a.Cfg.ClaimIdle / 2,
		Delayer: a.store, CloseTimeout: shutdown * 3 / 4, Logger: a.Logger,
	}
}

// ConsumerName is this process's stable consumer name: the host name plus
// the configured worker id (NEWSLETTER_WORKER_ID, set per instance, e.g. by
// the systemd template), else the process id.
func (a *App) ConsumerName() string {
	host, _ := os.Hostname()
	if a.Cfg.WorkerID != "" {
		return host + "-" + a.Cfg.WorkerID
	}
	return fmt.Sprintf("%s-pid%d", host, os.Getpid())
}

// SESSender returns the production sender for c.
func (a *App) SESSender(c *sesv2.Client) *ses.Sender {
	return &ses.Sender{Client: c, ConfigurationSet: a.Cfg.SESConfigurationSet}
}

// SNSVerifier is the webhook's verifier for `serve`: the configured topic
// allow-list and replay window.
func (a *App) SNSVerifier() *snsverify.Verifier {
	return &snsverify.Verifier{TopicARNs: a.Cfg.SNSTopicARNs, MaxAge: a.Cfg.SNSMaxAge}
}

// noticeShare is the part of the account's rate kept for service emails
// (confirmations, fresh links); editions get the rest, so a flood of
// sign-ups never slows an edition and the two together stay within the
// account's rate.
const noticeShare = 0.01

// splitRate divides rate (emails/s; <= 0 unlimited) between editions and
// service emails: 1 %, at least one service email every two seconds,
// never more than half the rate.
func splitRate(rate float64) (editions, notices float64) {
	if rate <= 0 {
		return 0, 0
	}
	notices = min(max(rate*noticeShare, 0.5), rate/2)
	return rate - notices, notices
}

package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/redisstore"
	"newsletter/internal/render"
	"newsletter/internal/ses"
	"newsletter/internal/token"
)

// App is the program's core, built once from a Config.
type App struct {
	Cfg      Config
	store    *redisstore.Store
	Renderer *render.Renderer
	Links    *Links
	Logger   *slog.Logger
	// SkipPolicyCheck is set by `dev` for its in-process Redis.
	SkipPolicyCheck bool

	// Account is the SES account-level suppression list, when suppressions
	// are synced with it; built on first use when nil.
	Account  *ses.AccountSuppression
	acctOnce sync.Once
	acctErr  error

	redisOpts *redis.Options
}

// Open connects to Redis and builds the renderer and link signer.
func Open(ctx context.Context, cfg Config, need Need, logger *slog.Logger, skipPolicy bool) (*App, error) {
	if err := cfg.Validate(need); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	a := &App{Cfg: cfg, Logger: logger, SkipPolicyCheck: skipPolicy}
	if cfg.RedisURL != "" {
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, newsletter.Errorf(newsletter.EINVALID, "NEWSLETTER_REDIS_URL %q: %v", cfg.RedisURL, err)
		}
		a.redisOpts = opt
		a.store = redisstore.New(a.NewRedisClient(), cfg.RedisPrefix)
		if !skipPolicy {
			if err := a.store.CheckPolicy(ctx); err != nil {
				_ = a.store.Client().Close()
				return nil, err
			}
		} else if err := a.store.Client().Ping(ctx).Err(); err != nil {
			return nil, newsletter.Errorf(newsletter.EUNAVAILABLE, "Redis at %s is not reachable (%v): start it or fix NEWSLETTER_REDIS_URL", cfg.RedisURL, err)
		}
	}
	// Commands that only validate or preview may run without a base URL;
	// `work` and `serve` require one (Validate), so sent emails never carry
	// the placeholder.
	r, err := render.New(render.Brand{ProductName: cfg.BrandName, ProductLink: or(cfg.BrandLink, or(cfg.BaseURL, "https://example.org")),
		LogoURL: cfg.BrandLogo, FooterAddress: cfg.FooterAddress, PrimaryColor: cfg.BrandColor, ButtonColor: cfg.BrandColor})
	if err != nil {
		return nil, fmt.Errorf("brand settings (NEWSLETTER_BRAND_*): %w", err)
	}
	a.Renderer = r
	if len(cfg.Secret) >= 32 {
		signer, err := token.NewSigner([]byte(cfg.Secret))
		if err != nil {
			return nil, err
		}
		a.Links = &Links{Base: cfg.BaseURL, Signer: signer}
	}
	return a, nil
}

// NewRedisClient returns a fresh client to the configured Redis.
func (a *App) NewRedisClient() redis.UniversalClient {
	o := *a.redisOpts
	return redis.NewClient(&o)
}

// Close releases the Redis client.
func (a *App) Close() error {
	if a.store != nil {
		return a.store.Client().Close()
	}
	return nil
}

// Links builds and reads the signed per-recipient URLs.
type Links struct {
	Base   string
	Signer *token.Signer
}

// Unsubscribe is the one-click (RFC 8058) and confirmation-page URL.
func (l *Links) Unsubscribe(email, editionID string) string {
	return l.Base + "/u/" + l.Signer.Sign(token.Claims{Purpose: token.Unsubscribe, Email: email, Edition: editionID})
}

// Preferences is the page where a partner changes lists.
func (l *Links) Preferences(email string) string {
	return l.Base + "/p/" + l.Signer.Sign(token.Claims{Purpose: token.Preferences, Email: email})
}

// Confirm is the double opt-in confirmation link for email on list.
func (l *Links) Confirm(email, list string) string {
	return l.Base + "/c/" + l.Signer.Sign(token.Claims{Purpose: token.Confirm, Email: email, List: list, Expires: time.Now().Add(7 * 24 * time.Hour)})
}

// WebVersion is the public archive page of an edition: no personal data.
func (l *Links) WebVersion(editionID string) string {
	return l.Base + "/archive/" + url.PathEscape(editionID)
}

// ArchiveURL is the archive index.
func (l *Links) ArchiveURL() string { return l.Base + "/archive/" }

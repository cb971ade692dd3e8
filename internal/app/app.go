package app

import (
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/redis/go-redis/v9"

	"newsletter/internal/metrics"
	"newsletter/internal/password"
	"newsletter/internal/ratelimit"
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
	// Now is the clock of every use case (time.Now unless a test sets it).
	Now func() time.Time

	// Account is the SES account-level suppression list, when suppressions
	// are synced with it; built on first use when nil.
	Account  *ses.AccountSuppression
	acctOnce sync.Once
	acctErr  error

	// The public forms' hourly quotas (Cfg.SubscribeRate, per client
	// Cfg.SubscribeRatePerClient).
	formOverall, formPerClient *ratelimit.Quota
	// Sign-in attempts' hourly quotas (Cfg.LoginRate per account,
	// Cfg.LoginRatePerClient per client address).
	loginPerAccount, loginPerClient *ratelimit.Quota
	// PasswordParams is the cost of new password hashes (nil:
	// password.Default; tests lower it).
	PasswordParams *password.Params

	redisOpts   *redis.Options
	clusterOpts *redis.ClusterOptions // set instead of redisOpts for a Redis Cluster

	archiveState // the public archive's cache (archive.go)
	// SESAPI is the SES client of a process that has one (set by the
	// wiring), for the dashboard's quota (SESQuota).
	SESAPI  *sesv2.Client
	quotaMu sync.Mutex
	quota   ses.Quota
	quotaAt time.Time

	// metrics are this process's Prometheus instruments (Metrics).
	metrics     *metrics.Metrics
	metricsOnce sync.Once
	// workersUp is set once RunWork's router has subscribed to its streams.
	workersUp atomic.Bool
}

// Links builds and reads the signed per-recipient URLs.
type Links struct {
	Base   string
	Signer *token.Signer
	Now    func() time.Time
	// PreferencesAge is how long a preferences link works; then its page
	// offers to email a fresh one (0: for ever). One-click unsubscribe
	// links never expire.
	PreferencesAge time.Duration
}

// Unsubscribe is the one-click (RFC 8058) and confirmation-page URL.
func (l *Links) Unsubscribe(email, editionID string) string {
	return l.Base + "/u/" + l.Signer.Sign(token.Claims{Purpose: token.Unsubscribe, Email: email, Edition: editionID})
}

// Preferences is the page where a partner changes lists.
func (l *Links) Preferences(email string) string {
	c := token.Claims{Purpose: token.Preferences, Email: email}
	if l.PreferencesAge > 0 {
		c.Expires = l.Now().Add(l.PreferencesAge)
	}
	return l.Base + "/p/" + l.Signer.Sign(c)
}

// Confirm is the double opt-in confirmation link for email on list.
func (l *Links) Confirm(email, list string) string {
	return l.Base + "/c/" + l.Signer.Sign(token.Claims{Purpose: token.Confirm, Email: email, List: list, Expires: l.Now().Add(7 * 24 * time.Hour)})
}

// WebVersion is the public archive page of an edition: no personal data.
func (l *Links) WebVersion(editionID string) string {
	return l.Base + "/archive/" + url.PathEscape(editionID)
}

// ArchiveURL is the archive index.
func (l *Links) ArchiveURL() string { return l.Base + "/archive/" }

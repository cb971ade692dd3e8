package app

import (
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"newsletter"
)

// Config is everything the program reads from its environment (each also a
// flag on the command line).
type Config struct {
	RedisURL    string // NEWSLETTER_REDIS_URL
	RedisPrefix string // NEWSLETTER_REDIS_PREFIX
	HTTPAddr    string // NEWSLETTER_HTTP_ADDR
	From        string // NEWSLETTER_FROM
	BaseURL     string // NEWSLETTER_BASE_URL
	Secret      string // NEWSLETTER_SECRET
	AdminToken  string // NEWSLETTER_ADMIN_TOKEN

	SESRate             float64 // NEWSLETTER_SES_RATE; 0 = ask SES GetAccount
	SESConfigurationSet string  // NEWSLETTER_SES_CONFIGURATION_SET
	SESEndpoint         string  // AWS_ENDPOINT_URL_SESV2 (the SDK reads it too)
	SNSTopicARNs        []string

	SendConcurrency int           // NEWSLETTER_SEND_CONCURRENCY (default 200 = 4 jobs × 50 recipients in flight)
	SendSubscribers int           // NEWSLETTER_SEND_JOBS
	Chunk           int           // recipients per delivery job
	ClaimIdle       time.Duration // NEWSLETTER_CLAIM_IDLE
	OverdueAfter    time.Duration // NEWSLETTER_OVERDUE_AFTER: scheduled sends later than this need confirmation

	// Tracking rules (see workers.TrackRules).
	SuppressHardBounces   bool          // NEWSLETTER_SUPPRESS_HARD_BOUNCES (default true)
	SoftBounceLimit       int           // NEWSLETTER_SOFT_BOUNCE_LIMIT (default 3; 0 = never)
	SoftBounceWindow      time.Duration // NEWSLETTER_SOFT_BOUNCE_WINDOW (default 720h)
	ComplaintUnsubscribes bool          // NEWSLETTER_COMPLAINT_UNSUBSCRIBES (default true)
	// SESSuppressionSync mirrors suppressions with the SES account-level
	// list in both directions (NEWSLETTER_SES_SUPPRESSION_SYNC=true).
	SESSuppressionSync bool

	BrandName     string
	BrandLink     string
	BrandLogo     string
	BrandColor    string
	FooterAddress string
	ListID        string // List-Id header; derived from From when empty
}

// Env names of the settings, for flags and messages.
var Env = map[string]string{
	"redis-url": "NEWSLETTER_REDIS_URL", "redis-prefix": "NEWSLETTER_REDIS_PREFIX", "http-addr": "NEWSLETTER_HTTP_ADDR",
	"from": "NEWSLETTER_FROM", "base-url": "NEWSLETTER_BASE_URL", "secret": "NEWSLETTER_SECRET",
	"admin-token": "NEWSLETTER_ADMIN_TOKEN", "ses-rate": "NEWSLETTER_SES_RATE",
	"ses-configuration-set": "NEWSLETTER_SES_CONFIGURATION_SET", "sns-topic-arns": "NEWSLETTER_SNS_TOPIC_ARNS",
	"send-concurrency": "NEWSLETTER_SEND_CONCURRENCY", "send-jobs": "NEWSLETTER_SEND_JOBS",
	"claim-idle": "NEWSLETTER_CLAIM_IDLE", "overdue-after": "NEWSLETTER_OVERDUE_AFTER",
	"brand-name": "NEWSLETTER_BRAND_NAME", "brand-link": "NEWSLETTER_BRAND_LINK", "brand-logo": "NEWSLETTER_BRAND_LOGO",
	"brand-color": "NEWSLETTER_BRAND_COLOR", "footer-address": "NEWSLETTER_FOOTER_ADDRESS", "list-id": "NEWSLETTER_LIST_ID",
}

// FromEnv reads the environment into a Config with defaults.
func FromEnv() Config {
	g := os.Getenv
	c := Config{
		RedisURL: g("NEWSLETTER_REDIS_URL"), RedisPrefix: or(g("NEWSLETTER_REDIS_PREFIX"), "nl:"),
		HTTPAddr: or(g("NEWSLETTER_HTTP_ADDR"), "127.0.0.1:8080"), From: g("NEWSLETTER_FROM"),
		BaseURL: g("NEWSLETTER_BASE_URL"), Secret: g("NEWSLETTER_SECRET"), AdminToken: g("NEWSLETTER_ADMIN_TOKEN"),
		SESConfigurationSet: g("NEWSLETTER_SES_CONFIGURATION_SET"), SESEndpoint: g("AWS_ENDPOINT_URL_SESV2"),
		BrandName: or(g("NEWSLETTER_BRAND_NAME"), "Nieuwsbrief"), BrandLink: g("NEWSLETTER_BRAND_LINK"),
		BrandLogo: g("NEWSLETTER_BRAND_LOGO"), BrandColor: g("NEWSLETTER_BRAND_COLOR"),
		FooterAddress: g("NEWSLETTER_FOOTER_ADDRESS"), ListID: g("NEWSLETTER_LIST_ID"),
		SendConcurrency: 200, SendSubscribers: 4, Chunk: 50, ClaimIdle: 2 * time.Minute, OverdueAfter: 6 * time.Hour,
		SuppressHardBounces: g("NEWSLETTER_SUPPRESS_HARD_BOUNCES") != "false", SoftBounceLimit: 3,
		SoftBounceWindow: 30 * 24 * time.Hour, ComplaintUnsubscribes: g("NEWSLETTER_COMPLAINT_UNSUBSCRIBES") != "false",
		SESSuppressionSync: g("NEWSLETTER_SES_SUPPRESSION_SYNC") == "true",
	}
	if v, err := strconv.Atoi(g("NEWSLETTER_SOFT_BOUNCE_LIMIT")); err == nil {
		c.SoftBounceLimit = v
	}
	if v, err := time.ParseDuration(g("NEWSLETTER_SOFT_BOUNCE_WINDOW")); err == nil {
		c.SoftBounceWindow = v
	}
	if v := g("NEWSLETTER_SES_RATE"); v != "" {
		c.SESRate, _ = strconv.ParseFloat(v, 64)
	}
	if v := g("NEWSLETTER_SNS_TOPIC_ARNS"); v != "" {
		c.SNSTopicARNs = strings.Split(v, ",")
	}
	if v, err := strconv.Atoi(g("NEWSLETTER_SEND_CONCURRENCY")); err == nil {
		c.SendConcurrency = v
	}
	if v, err := strconv.Atoi(g("NEWSLETTER_SEND_JOBS")); err == nil {
		c.SendSubscribers = v
	}
	if v, err := time.ParseDuration(g("NEWSLETTER_CLAIM_IDLE")); err == nil {
		c.ClaimIdle = v
	}
	if v, err := time.ParseDuration(g("NEWSLETTER_OVERDUE_AFTER")); err == nil {
		c.OverdueAfter = v
	}
	return c
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Need lists what a command needs from the Config.
type Need struct {
	Redis, Send, HTTP bool
}

// Validate checks the settings a command needs, with messages that say
// which variable to set.
func (c *Config) Validate(n Need) error {
	bad := func(format string, args ...any) error {
		return newsletter.Errorf(newsletter.EINVALID, format, args...)
	}
	if n.Redis && c.RedisURL == "" {
		return bad("NEWSLETTER_REDIS_URL is not set: point it at your Redis (e.g. redis://127.0.0.1:6379/0), or run `newsletter dev`")
	}
	if c.RedisURL != "" {
		if _, err := url.Parse(c.RedisURL); err != nil || !strings.HasPrefix(c.RedisURL, "redis") {
			return bad("NEWSLETTER_REDIS_URL %q is not a redis:// or rediss:// URL", c.RedisURL)
		}
	}
	if n.Send || n.HTTP {
		if len(c.Secret) < 32 {
			return bad("NEWSLETTER_SECRET must be at least 32 characters (it signs unsubscribe links): generate one with `openssl rand -hex 32`")
		}
		if c.BaseURL == "" {
			return bad("NEWSLETTER_BASE_URL is not set: the public https URL of `newsletter serve`, used in every link")
		}
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bad("NEWSLETTER_BASE_URL %q is not an absolute http(s) URL", c.BaseURL)
		}
		c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	}
	if n.Send {
		if c.From == "" {
			return bad("NEWSLETTER_FROM is not set: the sender, e.g. NEWSLETTER_FROM='Leerwerkakkoord <nieuwsbrief@example.org>' (a verified SES identity)")
		}
		a, err := mail.ParseAddress(c.From)
		if err != nil {
			return bad("NEWSLETTER_FROM %q is not an address: write it as 'Name <address@domain>'", c.From)
		}
		if c.ListID == "" {
			_, domain, _ := strings.Cut(a.Address, "@")
			c.ListID = fmt.Sprintf("%s <newsletter.%s>", listIDName(c.BrandName), domain)
		}
		if c.SendConcurrency < 1 || c.SendConcurrency > 1000 {
			return bad("NEWSLETTER_SEND_CONCURRENCY %d is out of range: use 1 to 1000", c.SendConcurrency)
		}
	}
	if n.HTTP && c.AdminToken != "" && len(c.AdminToken) < 16 {
		return bad("NEWSLETTER_ADMIN_TOKEN is too short: use at least 16 random characters (`openssl rand -hex 16`)")
	}
	return nil
}

func listIDName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '<' || r == '>' || r == '"' || r < ' ' {
			return -1
		}
		return r
	}, s)
}

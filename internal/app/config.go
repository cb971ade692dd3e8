package app

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // NEWSLETTER_TIME_ZONE works without the system's zone files

	"github.com/realclientip/realclientip-go"

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
	// SESAPI chooses how editions are sent (NEWSLETTER_SES_API): "bulk"
	// (default: SendBulkEmail, up to 50 destinations a call) or "single"
	// (one SendEmail per recipient).
	SESAPI       string
	SNSTopicARNs []string
	// TrustedProxies are the reverse proxies in front of the HTTP server
	// (NEWSLETTER_TRUSTED_PROXIES: addresses and CIDR ranges, comma
	// separated). A request from one of them is attributed to the client
	// its X-Forwarded-For names (the rightmost address that is not a
	// trusted proxy), for the per-client quotas of the public forms and
	// the sign-in; any other request to its own address, whatever headers
	// it sends. Empty: every request to its own address.
	TrustedProxies []net.IPNet

	SendConcurrency int           // NEWSLETTER_SEND_CONCURRENCY: recipients of SES calls in flight per process (default 400 = 8 bulk calls)
	SendSubscribers int           // NEWSLETTER_SEND_JOBS
	Chunk           int           // NEWSLETTER_JOB_SIZE: recipients per delivery job (default 500; at most a second of the rate per job slot)
	ClaimIdle       time.Duration // NEWSLETTER_CLAIM_IDLE (default 20s): a stopped worker's jobs are taken over after this
	// ShutdownTimeout bounds how long `work` takes to stop on SIGTERM
	// (NEWSLETTER_SHUTDOWN_TIMEOUT, default 30s): calls in flight finish and
	// are recorded, jobs not started are handed back at once.
	ShutdownTimeout time.Duration
	// UnknownGrace is how long after a delivery became unknown an SES Send
	// event may still settle it (NEWSLETTER_UNKNOWN_GRACE, default 15m):
	// resend-unknown leaves younger ones alone.
	UnknownGrace time.Duration
	// SendEvents says that the configuration set's event destination
	// publishes Send events to this installation's webhook
	// (NEWSLETTER_SES_SEND_EVENTS; default true when
	// NEWSLETTER_SES_CONFIGURATION_SET is set).
	SendEvents   bool
	OverdueAfter time.Duration // NEWSLETTER_OVERDUE_AFTER: scheduled sends later than this need confirmation
	// WorkerID names this worker instance (NEWSLETTER_WORKER_ID, set per
	// instance e.g. by the systemd template) in its stable consumer name.
	WorkerID string
	// SNSMaxAge is the webhook's replay window (NEWSLETTER_SNS_MAX_AGE).
	SNSMaxAge time.Duration
	// The public subscribe form's limits: one confirmation email per
	// address and list per ConfirmCooldown (NEWSLETTER_CONFIRM_COOLDOWN,
	// default 24h); at most SubscribeRate requests an hour in all
	// (NEWSLETTER_SUBSCRIBE_RATE, default 300) and SubscribeRatePerClient
	// per client address (NEWSLETTER_SUBSCRIBE_RATE_PER_CLIENT, default
	// 20). 0 lifts a limit.
	ConfirmCooldown        time.Duration
	SubscribeRate          int
	SubscribeRatePerClient int
	// PreferencesLinkAge is how long a preferences link works
	// (NEWSLETTER_PREFERENCES_LINK_AGE, default 2160h = 90 days); an older
	// one offers to email a fresh link. 0: for ever.
	PreferencesLinkAge time.Duration
	// UnconfirmedTTL is how long a request from the public form waits for
	// its confirmation before it, and a record the form created for it,
	// is dropped (NEWSLETTER_UNCONFIRMED_TTL, default 168h = 7 days, as
	// long as the confirmation link works).
	UnconfirmedTTL time.Duration

	// Signed-in sessions end after SessionIdle without a request
	// (NEWSLETTER_SESSION_IDLE, default 2h) and SessionMax after sign-in
	// whatever happens (NEWSLETTER_SESSION_MAX, default 12h). Sign-in
	// attempts are limited to LoginRate an hour per account
	// (NEWSLETTER_LOGIN_RATE, default 20) and LoginRatePerClient an hour
	// per client address (NEWSLETTER_LOGIN_RATE_PER_CLIENT, default 100);
	// 0 lifts a rate limit; a session limit of 0 is the default.
	SessionIdle        time.Duration
	SessionMax         time.Duration
	LoginRate          int
	LoginRatePerClient int

	// Tracking rules (see workers.TrackRules).
	SuppressHardBounces   bool          // NEWSLETTER_SUPPRESS_HARD_BOUNCES (default true)
	SoftBounceLimit       int           // NEWSLETTER_SOFT_BOUNCE_LIMIT (default 3; 0 = never)
	SoftBounceWindow      time.Duration // NEWSLETTER_SOFT_BOUNCE_WINDOW (default 720h)
	ComplaintUnsubscribes bool          // NEWSLETTER_COMPLAINT_UNSUBSCRIBES (default true)
	// SESSuppressionSync mirrors suppressions with the SES account-level
	// list in both directions (NEWSLETTER_SES_SUPPRESSION_SYNC=true).
	SESSuppressionSync bool

	// Operations: the metrics and health address of `work`
	// (NEWSLETTER_METRICS_ADDR; empty: none), the bearer token that opens
	// /metrics on serve's HTTP address (NEWSLETTER_METRICS_TOKEN), and the
	// log format (NEWSLETTER_LOG_FORMAT: text or json).
	MetricsAddr  string
	MetricsToken string
	LogFormat    string

	BrandName     string
	BrandLink     string
	BrandLogo     string
	BrandColor    string
	FooterAddress string
	ListID        string // List-Id header; derived from From when empty
	// ContactEmail is the address the public pages name for questions
	// (NEWSLETTER_CONTACT_EMAIL); the From address when empty.
	ContactEmail string
	// NeutralGreeting replaces a greeting that uses the recipient's name
	// when the recipient has none (NEWSLETTER_NEUTRAL_GREETING, default
	// "Beste partner,"; NEWSLETTER_NEUTRAL_GREETING_EN for English
	// editions, default "Dear partner,").
	NeutralGreeting, NeutralGreetingEN string

	// TimeZone is the zone the admin pages show times in and read
	// scheduled times in (NEWSLETTER_TIME_ZONE, an IANA name, default
	// Europe/Amsterdam).
	TimeZone string
}

// Contact is the address partners can write to: ContactEmail, or the
// address part of From.
func (c *Config) Contact() string {
	if c.ContactEmail != "" {
		return c.ContactEmail
	}
	if a, err := mail.ParseAddress(c.From); err == nil {
		return a.Address
	}
	return ""
}

// brandName is the programme's name in emails and pages: BrandName, else
// the display name of From ("Leerwerkakkoord <nieuwsbrief@…>"), else the
// host of the brand link or base URL. Never a made-up word like
// "Nieuwsbrief", which would make the footer read "partner is van
// Nieuwsbrief".
func (c *Config) brandName() (name, source string) {
	if n := strings.TrimSpace(c.BrandName); n != "" {
		return n, "NEWSLETTER_BRAND_NAME"
	}
	if a, err := mail.ParseAddress(c.From); err == nil && strings.TrimSpace(a.Name) != "" {
		return strings.TrimSpace(a.Name), "the name in NEWSLETTER_FROM"
	}
	for _, u := range []string{c.BrandLink, c.BaseURL} {
		if p, err := url.Parse(u); err == nil && p.Hostname() != "" {
			return p.Hostname(), "the host of " + map[bool]string{true: "NEWSLETTER_BRAND_LINK", false: "NEWSLETTER_BASE_URL"}[u == c.BrandLink]
		}
	}
	return "", ""
}

// ResolveBrand fills BrandName from brandName and returns where it came
// from, for `dev` to say.
func (c *Config) ResolveBrand() string {
	name, source := c.brandName()
	c.BrandName = name
	return source
}

// FromEnv reads the settings from getenv (os.Getenv in production) into a
// Config with defaults. A malformed number, duration or switch is an error
// that names the variable and shows a valid value: never a silent zero.
func FromEnv(getenv func(string) string) (Config, error) {
	g := getenv
	c := Config{
		RedisURL: g("NEWSLETTER_REDIS_URL"), RedisPrefix: or(g("NEWSLETTER_REDIS_PREFIX"), "nl:"),
		HTTPAddr: or(g("NEWSLETTER_HTTP_ADDR"), "127.0.0.1:8080"), From: g("NEWSLETTER_FROM"),
		BaseURL: g("NEWSLETTER_BASE_URL"), Secret: g("NEWSLETTER_SECRET"), AdminToken: g("NEWSLETTER_ADMIN_TOKEN"),
		SESConfigurationSet: g("NEWSLETTER_SES_CONFIGURATION_SET"), SESEndpoint: g("AWS_ENDPOINT_URL_SESV2"),
		BrandName: g("NEWSLETTER_BRAND_NAME"), BrandLink: g("NEWSLETTER_BRAND_LINK"),
		ContactEmail:    g("NEWSLETTER_CONTACT_EMAIL"),
		NeutralGreeting: g("NEWSLETTER_NEUTRAL_GREETING"), NeutralGreetingEN: g("NEWSLETTER_NEUTRAL_GREETING_EN"),
		BrandLogo: g("NEWSLETTER_BRAND_LOGO"), BrandColor: g("NEWSLETTER_BRAND_COLOR"),
		FooterAddress: g("NEWSLETTER_FOOTER_ADDRESS"),
		MetricsAddr:   g("NEWSLETTER_METRICS_ADDR"), MetricsToken: g("NEWSLETTER_METRICS_TOKEN"), LogFormat: or(strings.TrimSpace(g("NEWSLETTER_LOG_FORMAT")), "text"), ListID: g("NEWSLETTER_LIST_ID"), WorkerID: g("NEWSLETTER_WORKER_ID"),
		SESAPI:          strings.ToLower(or(strings.TrimSpace(g("NEWSLETTER_SES_API")), "bulk")),
		SendConcurrency: 400, SendSubscribers: 4, Chunk: 500, ClaimIdle: 20 * time.Second, ShutdownTimeout: 30 * time.Second, UnknownGrace: 15 * time.Minute, OverdueAfter: 6 * time.Hour,
		SuppressHardBounces: true, SoftBounceLimit: 3, SoftBounceWindow: 30 * 24 * time.Hour, ComplaintUnsubscribes: true,
		// SNS retries for hours; replays are also dropped by MessageId for
		// 7 days, so a day-long window refuses only stale captures.
		SNSMaxAge:       24 * time.Hour,
		ConfirmCooldown: 24 * time.Hour, SubscribeRate: 300, SubscribeRatePerClient: 20,
		PreferencesLinkAge: 90 * 24 * time.Hour, UnconfirmedTTL: 7 * 24 * time.Hour,
		SessionIdle: 2 * time.Hour, SessionMax: 12 * time.Hour, LoginRate: 20, LoginRatePerClient: 100,
		TimeZone: or(g("NEWSLETTER_TIME_ZONE"), "Europe/Amsterdam"),
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return c, newsletter.Errorf(newsletter.EINVALID, "NEWSLETTER_TIME_ZONE=%q is not a time zone: use an IANA name such as Europe/Amsterdam", c.TimeZone)
	}
	if v := g("NEWSLETTER_SNS_TOPIC_ARNS"); v != "" {
		for _, arn := range strings.Split(v, ",") {
			if arn = strings.TrimSpace(arn); arn != "" {
				c.SNSTopicARNs = append(c.SNSTopicARNs, arn)
			}
		}
	}
	for _, r := range strings.Split(g("NEWSLETTER_TRUSTED_PROXIES"), ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		nets, err := realclientip.AddressesAndRangesToIPNets(r)
		if err != nil {
			return c, newsletter.Errorf(newsletter.EINVALID, "NEWSLETTER_TRUSTED_PROXIES has %q, which is not an IP address or CIDR range: list your reverse proxies, e.g. NEWSLETTER_TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1", r)
		}
		c.TrustedProxies = append(c.TrustedProxies, nets...)
	}
	p := envParser{get: g}
	p.float("NEWSLETTER_SES_RATE", "14", &c.SESRate)
	p.int("NEWSLETTER_SEND_CONCURRENCY", "400", &c.SendConcurrency)
	p.int("NEWSLETTER_SEND_JOBS", "4", &c.SendSubscribers)
	p.int("NEWSLETTER_JOB_SIZE", "500", &c.Chunk)
	p.int("NEWSLETTER_SOFT_BOUNCE_LIMIT", "3", &c.SoftBounceLimit)
	p.duration("NEWSLETTER_SOFT_BOUNCE_WINDOW", "720h", &c.SoftBounceWindow)
	p.duration("NEWSLETTER_CLAIM_IDLE", "20s", &c.ClaimIdle)
	p.duration("NEWSLETTER_SHUTDOWN_TIMEOUT", "30s", &c.ShutdownTimeout)
	p.duration("NEWSLETTER_UNKNOWN_GRACE", "15m", &c.UnknownGrace)
	c.SendEvents = c.SESConfigurationSet != ""
	p.bool("NEWSLETTER_SES_SEND_EVENTS", &c.SendEvents)
	p.duration("NEWSLETTER_OVERDUE_AFTER", "6h", &c.OverdueAfter)
	p.duration("NEWSLETTER_SNS_MAX_AGE", "24h", &c.SNSMaxAge)
	p.duration("NEWSLETTER_CONFIRM_COOLDOWN", "24h", &c.ConfirmCooldown)
	p.int("NEWSLETTER_SUBSCRIBE_RATE", "300", &c.SubscribeRate)
	p.duration("NEWSLETTER_PREFERENCES_LINK_AGE", "2160h", &c.PreferencesLinkAge)
	p.duration("NEWSLETTER_UNCONFIRMED_TTL", "168h", &c.UnconfirmedTTL)
	p.int("NEWSLETTER_SUBSCRIBE_RATE_PER_CLIENT", "20", &c.SubscribeRatePerClient)
	p.duration("NEWSLETTER_SESSION_IDLE", "2h", &c.SessionIdle)
	p.duration("NEWSLETTER_SESSION_MAX", "12h", &c.SessionMax)
	p.int("NEWSLETTER_LOGIN_RATE", "20", &c.LoginRate)
	p.int("NEWSLETTER_LOGIN_RATE_PER_CLIENT", "100", &c.LoginRatePerClient)
	p.bool("NEWSLETTER_SUPPRESS_HARD_BOUNCES", &c.SuppressHardBounces)
	p.bool("NEWSLETTER_COMPLAINT_UNSUBSCRIBES", &c.ComplaintUnsubscribes)
	p.bool("NEWSLETTER_SES_SUPPRESSION_SYNC", &c.SESSuppressionSync)
	if p.err != nil {
		return c, p.err
	}
	return c, c.CheckRanges()
}

// envParser reads typed settings and keeps the first error.
type envParser struct {
	get func(string) string
	err error
}

func (p *envParser) parse(name, example string, parse func(string) error) {
	v := strings.TrimSpace(p.get(name))
	if v == "" || p.err != nil {
		return
	}
	if err := parse(v); err != nil {
		p.err = newsletter.Errorf(newsletter.EINVALID, "%s=%q is not valid: write e.g. %s=%s", name, v, name, example)
	}
}

func (p *envParser) int(name, example string, dst *int) {
	p.parse(name, example, func(v string) (err error) { *dst, err = strconv.Atoi(v); return })
}

func (p *envParser) float(name, example string, dst *float64) {
	p.parse(name, example, func(v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			err = errors.New("not a finite number")
		}
		*dst = f
		return err
	})
}

func (p *envParser) duration(name, example string, dst *time.Duration) {
	p.parse(name, example, func(v string) (err error) { *dst, err = time.ParseDuration(v); return })
}

func (p *envParser) bool(name string, dst *bool) {
	p.parse(name, "true", func(v string) (err error) { *dst, err = strconv.ParseBool(v); return })
}

// CheckRanges refuses values that parse but make no sense; flags can set
// them too, so commands check again after parsing their flags.
func (c *Config) CheckRanges() error {
	bad := func(format string, args ...any) error {
		return newsletter.Errorf(newsletter.EINVALID, format, args...)
	}
	switch {
	case c.SESAPI != "" && c.SESAPI != "bulk" && c.SESAPI != "single":
		return bad("NEWSLETTER_SES_API=%q is not an SES API: use bulk (SendBulkEmail, the default) or single (SendEmail per recipient)", c.SESAPI)
	case c.SESRate < 0:
		return bad("NEWSLETTER_SES_RATE=%v is negative: write the account's emails per second, e.g. NEWSLETTER_SES_RATE=14, or leave it unset to ask SES", c.SESRate)
	case c.SendConcurrency < 1 || c.SendConcurrency > 1000:
		return bad("NEWSLETTER_SEND_CONCURRENCY=%d is out of range: use 1 to 1000, e.g. NEWSLETTER_SEND_CONCURRENCY=200", c.SendConcurrency)
	case c.Chunk < 1 || c.Chunk > 10000:
		return bad("NEWSLETTER_JOB_SIZE=%d is out of range: use 1 to 10000 recipients per job, e.g. NEWSLETTER_JOB_SIZE=500", c.Chunk)
	case c.SendSubscribers < 1 || c.SendSubscribers > 64:
		return bad("NEWSLETTER_SEND_JOBS=%d is out of range: use 1 to 64, e.g. NEWSLETTER_SEND_JOBS=4", c.SendSubscribers)
	case c.SoftBounceLimit < 0:
		return bad("NEWSLETTER_SOFT_BOUNCE_LIMIT=%d is negative: use 0 (never suppress for soft bounces) or e.g. NEWSLETTER_SOFT_BOUNCE_LIMIT=3", c.SoftBounceLimit)
	case c.SoftBounceWindow <= 0:
		return bad("NEWSLETTER_SOFT_BOUNCE_WINDOW=%s must be positive, e.g. NEWSLETTER_SOFT_BOUNCE_WINDOW=720h", c.SoftBounceWindow)
	case c.ClaimIdle <= 0:
		return bad("NEWSLETTER_CLAIM_IDLE=%s must be positive, e.g. NEWSLETTER_CLAIM_IDLE=20s", c.ClaimIdle)
	case c.ShutdownTimeout <= 0:
		return bad("NEWSLETTER_SHUTDOWN_TIMEOUT=%s must be positive, e.g. NEWSLETTER_SHUTDOWN_TIMEOUT=30s", c.ShutdownTimeout)
	case c.UnknownGrace < 0:
		return bad("NEWSLETTER_UNKNOWN_GRACE=%s is negative: use e.g. NEWSLETTER_UNKNOWN_GRACE=15m", c.UnknownGrace)
	case c.OverdueAfter <= 0:
		return bad("NEWSLETTER_OVERDUE_AFTER=%s must be positive, e.g. NEWSLETTER_OVERDUE_AFTER=6h", c.OverdueAfter)
	case c.UnconfirmedTTL < 0:
		return bad("NEWSLETTER_UNCONFIRMED_TTL=%s is negative: use e.g. NEWSLETTER_UNCONFIRMED_TTL=168h", c.UnconfirmedTTL)
	case c.PreferencesLinkAge < 0:
		return bad("NEWSLETTER_PREFERENCES_LINK_AGE=%s is negative: use e.g. NEWSLETTER_PREFERENCES_LINK_AGE=2160h (90 days), or 0 for links that never expire", c.PreferencesLinkAge)
	case c.ConfirmCooldown < 0 || c.SubscribeRate < 0 || c.SubscribeRatePerClient < 0:
		return bad("NEWSLETTER_CONFIRM_COOLDOWN, NEWSLETTER_SUBSCRIBE_RATE and NEWSLETTER_SUBSCRIBE_RATE_PER_CLIENT cannot be negative: use 0 to lift a limit, e.g. NEWSLETTER_SUBSCRIBE_RATE=300")
	case c.SessionIdle < 0 || c.SessionMax < 0:
		return bad("NEWSLETTER_SESSION_IDLE and NEWSLETTER_SESSION_MAX cannot be negative: use e.g. NEWSLETTER_SESSION_IDLE=2h and NEWSLETTER_SESSION_MAX=12h")
	case c.LoginRate < 0 || c.LoginRatePerClient < 0:
		return bad("NEWSLETTER_LOGIN_RATE and NEWSLETTER_LOGIN_RATE_PER_CLIENT cannot be negative: use 0 to lift a limit, e.g. NEWSLETTER_LOGIN_RATE=20")
	case c.LogFormat != "" && c.LogFormat != "text" && c.LogFormat != "json":
		return bad("NEWSLETTER_LOG_FORMAT=%q is not a log format: write NEWSLETTER_LOG_FORMAT=text or NEWSLETTER_LOG_FORMAT=json", c.LogFormat)
	case c.MetricsToken != "" && len(c.MetricsToken) < 16:
		return bad("NEWSLETTER_METRICS_TOKEN is too short: use at least 16 random characters (`openssl rand -hex 16`)")
	case c.SNSMaxAge <= 0:
		return bad("NEWSLETTER_SNS_MAX_AGE=%s must be positive, e.g. NEWSLETTER_SNS_MAX_AGE=24h", c.SNSMaxAge)
	}
	return nil
}

// RedactURL returns u fit for logs and messages: a password in it is
// replaced by "xxxxx", also when u does not parse.
func RedactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if at := strings.LastIndex(rest, "@"); ok && at >= 0 {
		user, _, _ := strings.Cut(rest[:at], ":")
		return scheme + "://" + user + ":xxxxx" + rest[at:]
	}
	return u
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
			return bad("NEWSLETTER_REDIS_URL %q is not a redis:// or rediss:// URL: write e.g. redis://127.0.0.1:6379/0", RedactURL(c.RedisURL))
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
			name, _ := c.brandName()
			c.ListID = fmt.Sprintf("%s <newsletter.%s>", listIDName(name), domain)
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

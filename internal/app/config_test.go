package app_test

import (
	"strings"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/app"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestFromEnvDefaults(t *testing.T) {
	c, err := app.FromEnv(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.SendConcurrency != 400 || c.SendSubscribers != 4 || c.SoftBounceLimit != 3 || c.SNSMaxAge != 24*time.Hour ||
		c.ClaimIdle != 20*time.Second || !c.SuppressHardBounces || !c.ComplaintUnsubscribes || c.SESSuppressionSync ||
		c.ShutdownTimeout != 30*time.Second || c.UnknownGrace != 15*time.Minute || c.SendEvents {
		t.Fatalf("defaults: %+v", c)
	}
}

// Send events are assumed to flow where a configuration set is set,
// unless NEWSLETTER_SES_SEND_EVENTS says otherwise; the grace and the
// shutdown bound are read and checked.
func TestFromEnvDeliverySettings(t *testing.T) {
	c, err := app.FromEnv(envOf(map[string]string{"NEWSLETTER_SES_CONFIGURATION_SET": "cs", "NEWSLETTER_UNKNOWN_GRACE": "5m", "NEWSLETTER_SHUTDOWN_TIMEOUT": "10s"}))
	if err != nil || !c.SendEvents || c.UnknownGrace != 5*time.Minute || c.ShutdownTimeout != 10*time.Second {
		t.Fatalf("%+v, %v", c, err)
	}
	c, err = app.FromEnv(envOf(map[string]string{"NEWSLETTER_SES_CONFIGURATION_SET": "cs", "NEWSLETTER_SES_SEND_EVENTS": "false"}))
	if err != nil || c.SendEvents {
		t.Fatalf("NEWSLETTER_SES_SEND_EVENTS=false: %+v, %v", c.SendEvents, err)
	}
	for k, v := range map[string]string{"NEWSLETTER_UNKNOWN_GRACE": "-1m", "NEWSLETTER_SHUTDOWN_TIMEOUT": "0s", "NEWSLETTER_SES_SEND_EVENTS": "maybe"} {
		if _, err := app.FromEnv(envOf(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
		}
	}
}

func TestFromEnvReadsValues(t *testing.T) {
	c, err := app.FromEnv(envOf(map[string]string{
		"NEWSLETTER_SES_RATE": "14.5", "NEWSLETTER_SEND_CONCURRENCY": "50", "NEWSLETTER_SEND_JOBS": "2",
		"NEWSLETTER_SOFT_BOUNCE_LIMIT": "0", "NEWSLETTER_SOFT_BOUNCE_WINDOW": "48h", "NEWSLETTER_CLAIM_IDLE": "30s",
		"NEWSLETTER_OVERDUE_AFTER": "1h", "NEWSLETTER_SNS_MAX_AGE": "1h", "NEWSLETTER_SUPPRESS_HARD_BOUNCES": "false",
		"NEWSLETTER_COMPLAINT_UNSUBSCRIBES": "0", "NEWSLETTER_SES_SUPPRESSION_SYNC": "true",
		"NEWSLETTER_SNS_TOPIC_ARNS": "arn:a, arn:b,", "NEWSLETTER_WORKER_ID": "3",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := app.Config{SESRate: 14.5, SendConcurrency: 50, SendSubscribers: 2, SoftBounceLimit: 0, SoftBounceWindow: 48 * time.Hour,
		ClaimIdle: 30 * time.Second, OverdueAfter: time.Hour, SNSMaxAge: time.Hour, SESSuppressionSync: true, WorkerID: "3"}
	got := app.Config{SESRate: c.SESRate, SendConcurrency: c.SendConcurrency, SendSubscribers: c.SendSubscribers,
		SoftBounceLimit: c.SoftBounceLimit, SoftBounceWindow: c.SoftBounceWindow, ClaimIdle: c.ClaimIdle, OverdueAfter: c.OverdueAfter,
		SNSMaxAge: c.SNSMaxAge, SuppressHardBounces: c.SuppressHardBounces, ComplaintUnsubscribes: c.ComplaintUnsubscribes,
		SESSuppressionSync: c.SESSuppressionSync, WorkerID: c.WorkerID}
	if got.SESRate != want.SESRate || got.SendConcurrency != want.SendConcurrency || got.SendSubscribers != want.SendSubscribers ||
		got.SoftBounceLimit != want.SoftBounceLimit || got.SoftBounceWindow != want.SoftBounceWindow || got.ClaimIdle != want.ClaimIdle ||
		got.OverdueAfter != want.OverdueAfter || got.SNSMaxAge != want.SNSMaxAge || got.SuppressHardBounces || got.ComplaintUnsubscribes ||
		!got.SESSuppressionSync || got.WorkerID != "3" {
		t.Fatalf("got %+v", got)
	}
	if strings.Join(c.SNSTopicARNs, "|") != "arn:a|arn:b" {
		t.Fatalf("topic ARNs %q", c.SNSTopicARNs)
	}
	c, err = app.FromEnv(envOf(map[string]string{"NEWSLETTER_TRUSTED_PROXIES": " 10.0.0.0/8, 127.0.0.1,,2001:db8::/32 "}))
	if err != nil {
		t.Fatal(err)
	}
	var ranges []string
	for _, n := range c.TrustedProxies {
		ranges = append(ranges, n.String())
	}
	if strings.Join(ranges, " ") != "10.0.0.0/8 127.0.0.1/32 2001:db8::/32" {
		t.Fatalf("trusted proxies %q", ranges)
	}
}

// A malformed value is an error naming the variable and a valid example,
// never a silent zero or default.
func TestFromEnvRefusesMalformedValues(t *testing.T) {
	cases := map[string]string{
		"NEWSLETTER_SES_RATE":               "fourteen",
		"NEWSLETTER_SEND_CONCURRENCY":       "2OO",
		"NEWSLETTER_SEND_JOBS":              "4.5",
		"NEWSLETTER_SOFT_BOUNCE_LIMIT":      "three",
		"NEWSLETTER_SOFT_BOUNCE_WINDOW":     "30d",
		"NEWSLETTER_CLAIM_IDLE":             "120",
		"NEWSLETTER_OVERDUE_AFTER":          "6 hours",
		"NEWSLETTER_SNS_MAX_AGE":            "1 day",
		"NEWSLETTER_SUPPRESS_HARD_BOUNCES":  "nee",
		"NEWSLETTER_COMPLAINT_UNSUBSCRIBES": "yes please",
		"NEWSLETTER_SES_SUPPRESSION_SYNC":   "on",
		"NEWSLETTER_TRUSTED_PROXIES":        "10.0.0.0/8, proxy.internal",
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := app.FromEnv(envOf(map[string]string{name: v}))
			if err == nil {
				t.Fatalf("%s=%q accepted", name, v)
			}
			msg := err.Error()
			if newsletter.ErrorCode(err) != newsletter.EINVALID || !strings.Contains(msg, name) || !strings.Contains(msg, "e.g. "+name+"=") {
				t.Fatalf("message does not name the variable and an example: %v", err)
			}
		})
	}
}

func TestFromEnvRefusesOutOfRange(t *testing.T) {
	cases := map[string]string{
		"NEWSLETTER_SES_RATE":           "-1",
		"NEWSLETTER_SEND_CONCURRENCY":   "0",
		"NEWSLETTER_SEND_JOBS":          "0",
		"NEWSLETTER_JOB_SIZE":           "0",
		"NEWSLETTER_SOFT_BOUNCE_LIMIT":  "-2",
		"NEWSLETTER_SOFT_BOUNCE_WINDOW": "-1h",
		"NEWSLETTER_CLAIM_IDLE":         "0s",
		"NEWSLETTER_OVERDUE_AFTER":      "0s",
		"NEWSLETTER_SNS_MAX_AGE":        "-5m",
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := app.FromEnv(envOf(map[string]string{name: v}))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%q: %v", name, v, err)
			}
		})
	}
	if _, err := app.FromEnv(envOf(map[string]string{"NEWSLETTER_SES_RATE": "NaN"})); err == nil {
		t.Fatal("NaN rate accepted")
	}
}

// The webhook `serve` builds enforces the configured replay window.
func TestSNSVerifierUsesConfiguredWindow(t *testing.T) {
	c, err := app.FromEnv(envOf(map[string]string{"NEWSLETTER_SNS_MAX_AGE": "90m", "NEWSLETTER_SNS_TOPIC_ARNS": "arn:aws:sns:eu-west-1:1:ses"}))
	if err != nil {
		t.Fatal(err)
	}
	a := &app.App{Cfg: c}
	v := a.SNSVerifier()
	if v.MaxAge != 90*time.Minute || len(v.TopicARNs) != 1 {
		t.Fatalf("verifier %+v", v)
	}
}

// A password in NEWSLETTER_REDIS_URL never reaches a message or a log.
func TestRedisPasswordNeverPrinted(t *testing.T) {
	const secret = "s3cr3t-pass"
	for _, u := range []string{
		"redis://user:" + secret + "@127.0.0.1:1/0",
		"rediss://:" + secret + "@[::1",               // does not parse
		"redis://default:" + secret + "@host:99999/x", // parses, but go-redis refuses the port
		"http://u:" + secret + "@example.org",         // wrong scheme
	} {
		if got := app.RedactURL(u); strings.Contains(got, secret) {
			t.Errorf("RedactURL(%q) = %q", u, got)
		}
		c := app.Config{RedisURL: u, RedisPrefix: "t:"}
		_, err := app.Open(t.Context(), c, app.Need{Redis: true}, nil, false)
		if err == nil {
			t.Fatalf("%q: opened", u)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error for %q shows the password: %v", u, err)
		}
	}
}

// Service emails get their own small share of the account's rate, and the
// two shares never exceed it.
func TestSplitRate(t *testing.T) {
	for _, rate := range []float64{0, 1, 2, 14, 200, 5000} {
		e, n := app.SplitRate(rate)
		switch {
		case rate <= 0 && (e != 0 || n != 0):
			t.Errorf("unlimited rate split into %v + %v", e, n)
		case rate > 0 && (n <= 0 || e <= 0 || e+n > rate+1e-9 || n > rate/2):
			t.Errorf("rate %v split into editions %v + notices %v", rate, e, n)
		case rate >= 100 && e < rate*0.98:
			t.Errorf("rate %v: editions get only %v", rate, e)
		}
	}
}

// The programme's name comes from configuration, never a made-up
// "Nieuwsbrief": NEWSLETTER_BRAND_NAME, else the name in NEWSLETTER_FROM,
// else the host of the site.
func TestBrandNameFromConfiguration(t *testing.T) {
	for _, tc := range []struct {
		env        map[string]string
		want, from string
	}{
		{map[string]string{"NEWSLETTER_BRAND_NAME": "Leerwerkakkoord", "NEWSLETTER_FROM": "Ander <a@example.org>"}, "Leerwerkakkoord", "NEWSLETTER_BRAND_NAME"},
		{map[string]string{"NEWSLETTER_FROM": "Leerwerkpact Drechtsteden <nieuws@example.org>"}, "Leerwerkpact Drechtsteden", "the name in NEWSLETTER_FROM"},
		{map[string]string{"NEWSLETTER_FROM": "nieuws@example.org", "NEWSLETTER_BASE_URL": "https://nieuws.leerwerkpact.nl"}, "nieuws.leerwerkpact.nl", "the host of NEWSLETTER_BASE_URL"},
		{map[string]string{}, "", ""},
	} {
		c, err := app.FromEnv(func(k string) string { return tc.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if src := c.ResolveBrand(); c.BrandName != tc.want || src != tc.from {
			t.Errorf("%v: brand %q from %q, want %q from %q", tc.env, c.BrandName, src, tc.want, tc.from)
		}
	}
	c, err := app.FromEnv(func(k string) string {
		return map[string]string{"NEWSLETTER_NEUTRAL_GREETING": "Beste relatie,", "NEWSLETTER_NEUTRAL_GREETING_EN": "Dear colleague,",
			"NEWSLETTER_CONTACT_EMAIL": "vragen@example.org", "NEWSLETTER_FROM": "X <x@example.org>"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.NeutralGreeting != "Beste relatie," || c.NeutralGreetingEN != "Dear colleague," || c.Contact() != "vragen@example.org" {
		t.Errorf("config: %q %q %q", c.NeutralGreeting, c.NeutralGreetingEN, c.Contact())
	}
	c.ContactEmail = ""
	if c.Contact() != "x@example.org" {
		t.Errorf("contact without NEWSLETTER_CONTACT_EMAIL: %q, want the From address", c.Contact())
	}
}

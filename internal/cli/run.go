package cli

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/devenv"
	"newsletter/internal/httpserver"
	"newsletter/internal/ses"
	"newsletter/internal/snsverify"
	"newsletter/internal/webhook"
	"newsletter/internal/webui"
	"newsletter/templates"
)

func (r *root) serveCmd() *cobra.Command {
	return &cobra.Command{Use: "serve", Short: "HTTP: admin API, previews, public pages, SES webhook", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := r.open(cmd.Context(), app.Need{HTTP: true})
			if err != nil {
				return err
			}
			defer a.Close()
			if accts, err := a.Accounts(cmd.Context()); err == nil && len(accts) == 0 {
				r.log.Warn("no accounts yet: nobody can sign in to /admin/ until you add one with `newsletter users add EMAIL --role admin --password-stdin`")
			}
			if len(r.cfg.SNSTopicARNs) == 0 {
				r.log.Warn("NEWSLETTER_SNS_TOPIC_ARNS is empty: the SES webhook refuses every notification until you list your SNS topic ARNs")
			}
			// The dashboard shows the SES quota: a client costs no request
			// until it is used, and without AWS configuration the
			// dashboard just says the quota is not known.
			if c, err := a.SESClient(cmd.Context(), r.cfg.SESEndpoint, false); err == nil {
				a.SESAPI = c
			} else {
				r.log.Warn("no SES client: the dashboard will not show the SES quota", "err", err)
			}
			return r.serveHTTP(cmd.Context(), a, a.SNSVerifier(), nil)
		}}
}

func (r *root) serveHTTP(ctx context.Context, a *app.App, v *snsverify.Verifier, extra map[string]http.Handler) error {
	s := &httpserver.Server{App: a, Logger: r.log, Extra: extra, Admin: webui.New(a, webui.Options{Logger: r.log}),
		Webhook: &webhook.Handler{Verifier: v, Sink: app.EventSink{App: a}, Logger: r.log}}
	l := r.listener
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", a.Cfg.HTTPAddr); err != nil {
			return newsletter.Errorf(newsletter.EUNAVAILABLE, "cannot listen on %s (%v): set NEWSLETTER_HTTP_ADDR to a free address", a.Cfg.HTTPAddr, err)
		}
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute, WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	r.log.Info("http listening", "addr", l.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}

func (r *root) workCmd() *cobra.Command {
	return &cobra.Command{Use: "work", Short: "Run the workers: fan-out, send, track, scheduler", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := r.open(cmd.Context(), app.Need{Send: true})
			if err != nil {
				return err
			}
			defer a.Close()
			if err := r.serveMetrics(cmd.Context(), a); err != nil {
				return err
			}
			c, err := a.SESClient(cmd.Context(), r.cfg.SESEndpoint, false)
			if err != nil {
				return err
			}
			rate, err := a.ResolveRate(cmd.Context(), c)
			if err != nil {
				return err
			}
			o := app.WorkOptions{Sender: a.SESSender(c), Rate: rate}
			if r.cfg.SESSuppressionSync {
				o.Account = &ses.AccountSuppression{Client: c}
			}
			return a.RunWork(cmd.Context(), o)
		}}
}

func (r *root) devCmd() *cobra.Command {
	var noSample bool
	c := &cobra.Command{Use: "dev", Short: "Everything in one process on embedded defaults (Redis, SES endpoint, outbox, sample data)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.dev(cmd.Context(), !noSample)
		}}
	c.Flags().BoolVar(&noSample, "no-sample", false, "do not load and publish the sample lists and edition")
	return c
}

func (r *root) dev(ctx context.Context, sample bool) error {
	dir := r.devFile("")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// One dev per folder: a second one leaves the first one's files alone.
	lock, err := devenv.Acquire(dir)
	if errors.Is(err, devenv.ErrRunning) {
		return newsletter.Errorf(newsletter.ECONFLICT, "%v: a `newsletter dev` is already running with its data in %s; use that one (the other commands find it), or stop it (Ctrl-C in its terminal) before starting another", err, dir)
	}
	if err != nil {
		return err
	}
	defer lock.Release()
	// The address first: a taken port is named as such, before anything starts.
	l, err := net.Listen("tcp", r.cfg.HTTPAddr)
	if err != nil {
		return newsletter.Errorf(newsletter.EUNAVAILABLE, "cannot listen on %s (%v): another program uses it; stop it, or start dev on another address, e.g. NEWSLETTER_HTTP_ADDR=127.0.0.1:8081 newsletter dev", r.cfg.HTTPAddr, err)
	}
	r.listener = l
	defer l.Close()
	out := r.env.Stdout
	skipPolicy := false
	if r.cfg.RedisURL == "" {
		rd, err := devenv.StartRedis(dir)
		if err != nil {
			return err
		}
		defer rd.Close()
		r.cfg.RedisURL = rd.URL
		skipPolicy = rd.InProcess
		fmt.Fprintf(out, "Redis:     %s\n", rd.Kind)
	} else {
		fmt.Fprintf(out, "Redis:     %s (NEWSLETTER_REDIS_URL)\n", app.RedactURL(r.cfg.RedisURL))
	}
	if r.cfg.BaseURL == "" {
		r.cfg.BaseURL = "http://" + r.cfg.HTTPAddr
	}
	brandSource := "sample; set NEWSLETTER_BRAND_NAME for your own"
	if r.cfg.BrandName == "" && r.cfg.From == "" {
		r.cfg.BrandName = sampleBrand
	} else if s := r.cfg.ResolveBrand(); s != "" {
		brandSource = s
	}
	if r.cfg.From == "" {
		r.cfg.From = r.cfg.BrandName + " (dev) <nieuwsbrief@example.org>"
	}
	fmt.Fprintf(out, "Brand:     %s (%s); link %s, colour %s, footer address %q (NEWSLETTER_BRAND_LINK, _COLOR, NEWSLETTER_FOOTER_ADDRESS)\n",
		r.cfg.BrandName, brandSource, orDefault(r.cfg.BrandLink, r.cfg.BaseURL+" (the base URL)"),
		orDefault(r.cfg.BrandColor, "#1F4E79 (default)"), r.cfg.FooterAddress)
	// The secret and token of the last run, so its links and scripts still
	// work with the data that was kept.
	prev := readDevEnv(r.devFile("env"))
	if r.cfg.Secret == "" {
		r.cfg.Secret = or(prev["NEWSLETTER_SECRET"], randomHex(32))
	}
	if r.cfg.AdminToken == "" {
		r.cfg.AdminToken = or(prev["NEWSLETTER_ADMIN_TOKEN"], randomHex(16))
	}
	var verifier *snsverify.Verifier
	var extra map[string]http.Handler
	sesEndpoint := r.cfg.SESEndpoint
	if sesEndpoint == "" {
		ses, err := devenv.StartSES(filepath.Join(dir, "outbox"), r.cfg.BaseURL+"/webhooks/ses")
		if err != nil {
			return err
		}
		defer ses.Close()
		if loaded, pruned, err := ses.Server.LoadOutbox(devOutboxKeep); err != nil {
			r.log.Warn("outbox of earlier runs not loaded", "err", err)
		} else if loaded+pruned > 0 {
			fmt.Fprintf(out, "Outbox:    %d emails kept from earlier runs (the newest %d are kept; %d older .eml files deleted)\n", loaded, devOutboxKeep, pruned)
		}
		sesEndpoint = ses.Endpoint
		verifier = ses.Verifier(r.cfg.SNSTopicARNs)
		extra = map[string]http.Handler{"/outbox/": ses.Server}
		fmt.Fprintf(out, "SES:       embedded SES v2 endpoint at %s (mailbox simulator on, SNS events signed locally)\n", sesEndpoint)
	} else {
		verifier = &snsverify.Verifier{TopicARNs: r.cfg.SNSTopicARNs}
		fmt.Fprintf(out, "SES:       %s (AWS_ENDPOINT_URL_SESV2)\n", sesEndpoint)
	}
	a, err := app.Open(ctx, r.cfg, app.Need{Redis: true, Send: true, HTTP: true}, r.log, skipPolicy)
	if err != nil {
		return err
	}
	defer a.Close()
	env := fmt.Sprintf("NEWSLETTER_BASE_URL=%s\nNEWSLETTER_SECRET=%s\nNEWSLETTER_FROM=%s\nNEWSLETTER_ADMIN_TOKEN=%s\n", r.cfg.BaseURL, r.cfg.Secret, r.cfg.From, r.cfg.AdminToken)
	if err := os.WriteFile(r.devFile("env"), []byte(env), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(r.devFile("redis.url"), []byte(r.cfg.RedisURL+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(r.devFile("redis.url"))
	_ = lock.Note(fmt.Sprintf("pid %d, %s", os.Getpid(), r.cfg.BaseURL))
	devenv.Announce(dir)
	client, err := a.SESClient(ctx, sesEndpoint, r.cfg.SESEndpoint == "")
	if err != nil {
		return err
	}
	a.SESAPI = client
	rate, err := a.ResolveRate(ctx, client)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return r.serveHTTP(gctx, a, verifier, extra) })
	g.Go(func() error { return a.RunWork(gctx, app.WorkOptions{Sender: a.SESSender(client), Rate: rate}) })
	fmt.Fprintf(out, "Outbox:    %s/outbox/  (and .eml files in %s)\n", r.cfg.BaseURL, filepath.Join(dir, "outbox"))
	fmt.Fprintf(out, "Archive:   %s/archive/\n", r.cfg.BaseURL)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	fmt.Fprintf(out, "Data:      %s (Redis data, outbox, env with the secret; delete the folder to start afresh)\n", dir)
	fmt.Fprintf(out, "Metrics:   %s/readyz, %s/healthz\n", r.cfg.BaseURL, r.cfg.BaseURL)
	fmt.Fprintf(out, "Admin API: %s/api/v1/lists  (Authorization: Bearer %s)\n", r.cfg.BaseURL, r.cfg.AdminToken)
	if err := r.devAccount(gctx, a); err != nil {
		return err
	}
	if sample {
		id, err := r.loadSample(gctx, a)
		if err != nil {
			return err
		}
		if id != "" {
			fmt.Fprintf(out, "Sample:    edition %s published to bedrijven, onderwijs, overheid; see the outbox\n", id)
			fmt.Fprintf(out, "Try:       newsletter editions status %s   (in another terminal; get the command with go install ./cmd/newsletter)\n", id)
		}
	}
	fmt.Fprintf(out, "Ready. Ctrl-C stops everything.\n")
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// devAccount makes signing in possible on a fresh dev Redis: an admin
// account with a random password, printed (and kept in dev-data/login,
// readable only by you); later runs only say where to sign in.
func (r *root) devAccount(ctx context.Context, a *app.App) error {
	out := r.env.Stdout
	accts, err := a.Accounts(ctx)
	if err != nil {
		return err
	}
	if len(accts) > 0 {
		fmt.Fprintf(out, "Sign in:   %s/admin/login  (accounts: `newsletter users ls`; first password in %s)\n", r.cfg.BaseURL, r.devFile("login"))
		return nil
	}
	const email = "admin@example.org"
	pw := randomHex(12)
	if _, err := a.AddAccount(ctx, email, newsletter.RoleAdmin, pw); err != nil {
		return err
	}
	if err := os.WriteFile(r.devFile("login"), []byte(email+"\n"+pw+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(out, "Sign in:   %s/admin/login  as %s with password %s\n", r.cfg.BaseURL, email, pw)
	return nil
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// sampleBrand is the programme the sample lists and edition belong to.
const sampleBrand = "Leerwerkpact Voorbeeldregio"

// loadSample creates the sample lists and subscribers and publishes the
// sample edition, once: a second `dev` on the same Redis does nothing.
func (r *root) loadSample(ctx context.Context, a *app.App) (string, error) {
	lists := []newsletter.List{
		{Slug: "bedrijven", Name: "Partners uit het bedrijfsleven", Public: true},
		{Slug: "onderwijs", Name: "Partners uit het onderwijs", Public: true},
		{Slug: "overheid", Name: "Partners uit de overheid", Public: true},
	}
	for _, l := range lists {
		if _, err := a.CreateList(ctx, l); err != nil {
			if newsletter.ErrorCode(err) == newsletter.ECONFLICT {
				return "", nil // already loaded
			}
			return "", err
		}
	}
	f, err := templates.Files.Open("sample-subscribers.csv")
	if err != nil {
		return "", err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comma = ';'
	rows, err := cr.ReadAll()
	if err != nil {
		return "", err
	}
	byList := map[string]*strings.Builder{}
	for _, row := range rows[1:] {
		b := byList[row[3]]
		if b == nil {
			b = &strings.Builder{}
			b.WriteString("email;naam;organisatie\n")
			byList[row[3]] = b
		}
		fmt.Fprintf(b, "%s;%s;%s\n", row[0], row[1], row[2])
	}
	for slug, b := range byList {
		if _, err := a.Import(ctx, slug, strings.NewReader(b.String()), newsletter.ImportOptions{}); err != nil {
			return "", err
		}
	}
	md, err := templates.Files.ReadFile("sample-edition.md")
	if err != nil {
		return "", err
	}
	e, _, err := a.CreateEdition(ctx, "sample-edition.md", md)
	if err != nil {
		return "", err
	}
	if _, err := a.Publish(ctx, e.ID, []string{"bedrijven", "onderwijs", "overheid"}, app.PublishOptions{}); err != nil {
		return "", err
	}
	return e.ID, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// devOutboxKeep is how many .eml files dev keeps from earlier runs.
const devOutboxKeep = 500

// readDevEnv reads the KEY=value lines of dev's env file (none: empty).
func readDevEnv(path string) map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

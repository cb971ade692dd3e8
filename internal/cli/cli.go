package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/devenv"
)

// Env is what a command run sees of the outside world.
type Env struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	// DevDir holds `dev`'s files (outbox, redis.url).
	DevDir string
	// Getenv reads the environment (os.Getenv when nil). Only Run reads
	// it, once: every command works from the one validated Config.
	Getenv func(string) string
}

type root struct {
	env    Env
	cfg    app.Config
	cfgErr error
	json   bool
	log    *slog.Logger
	verb   bool
	// listener is the HTTP address dev took before starting anything.
	listener net.Listener
}

// Run executes the command line args and returns the error to print.
func Run(ctx context.Context, args []string, env Env) error {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	r := &root{env: env}
	r.cfg, r.cfgErr = app.FromEnv(env.Getenv)
	cmd := r.command()
	cmd.SetArgs(args)
	cmd.SetOut(env.Stdout)
	cmd.SetErr(env.Stderr)
	return cmd.ExecuteContext(ctx)
}

func (r *root) command() *cobra.Command {
	c := &cobra.Command{
		Use:           "newsletter",
		Short:         "Newsletter mailing pipeline: Redis streams, Watermill workers, hermes, Amazon SES v2",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			level := slog.LevelInfo
			if r.verb {
				level = slog.LevelDebug
			}
			r.log = newLogger(r.env.Stderr, r.cfg.LogFormat, level)
			if r.cfgErr != nil {
				return r.cfgErr
			}
			r.setActor(cmd)
			return r.cfg.CheckRanges() // flags may have changed values
		},
	}
	f := c.PersistentFlags()
	f.StringVar(&r.cfg.RedisURL, "redis-url", r.cfg.RedisURL, "Redis URL ($NEWSLETTER_REDIS_URL)")
	f.StringVar(&r.cfg.RedisPrefix, "redis-prefix", r.cfg.RedisPrefix, "key prefix ($NEWSLETTER_REDIS_PREFIX)")
	f.StringVar(&r.cfg.HTTPAddr, "http-addr", r.cfg.HTTPAddr, "listen address ($NEWSLETTER_HTTP_ADDR)")
	f.StringVar(&r.cfg.From, "from", r.cfg.From, "sender, 'Name <addr>' ($NEWSLETTER_FROM)")
	f.StringVar(&r.cfg.BaseURL, "base-url", r.cfg.BaseURL, "public URL for links ($NEWSLETTER_BASE_URL)")
	f.Float64Var(&r.cfg.SESRate, "ses-rate", r.cfg.SESRate, "emails/s; default from SES GetAccount ($NEWSLETTER_SES_RATE)")
	f.StringVar(&r.cfg.SESConfigurationSet, "ses-configuration-set", r.cfg.SESConfigurationSet, "SES configuration set ($NEWSLETTER_SES_CONFIGURATION_SET)")
	f.IntVar(&r.cfg.SendConcurrency, "send-concurrency", r.cfg.SendConcurrency, "SES calls in flight per process ($NEWSLETTER_SEND_CONCURRENCY)")
	f.StringVar(&r.cfg.BrandName, "brand-name", r.cfg.BrandName, "programme name in emails ($NEWSLETTER_BRAND_NAME)")
	f.BoolVarP(&r.verb, "verbose", "v", false, "debug logging")
	c.AddCommand(r.devCmd(), r.serveCmd(), r.workCmd(), r.listsCmd(), r.subscribersCmd(), r.editionsCmd(), r.suppressionsCmd(), r.reportCmd(), r.usersCmd(), r.deadlettersCmd(),
		r.backupCmd(), r.restoreCmd(), r.sesEmulatorCmd(), r.benchCmd())
	refuseUnknownSubcommands(c)
	return c
}

// setActor makes the changes of an admin command (not of `dev`, `serve`
// or `work`, whose changes are the workers') appear in the audit log as
// made on the command line by the operating-system user.
func (r *root) setActor(cmd *cobra.Command) {
	top := cmd
	for top.HasParent() && top.Parent().HasParent() {
		top = top.Parent()
	}
	switch top.Name() {
	case "dev", "serve", "work", "newsletter":
		return
	}
	name := r.env.Getenv("USER")
	if u, err := user.Current(); name == "" && err == nil {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	cmd.SetContext(app.WithActor(cmd.Context(), newsletter.Account{Email: "cli:" + name, Role: newsletter.RoleAdmin}))
}

// refuseUnknownSubcommands makes every command group fail on a subcommand
// it does not have, naming the closest ones: cobra would print the help
// and exit 0, and a script would carry on as if it had worked.
func refuseUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if !c.HasSubCommands() || c.Runnable() || !c.HasParent() {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		return newsletter.Errorf(newsletter.EINVALID, "unknown command %q for %q: did you mean %q? (see `%s --help`)",
			args[0], cmd.CommandPath(), closestCommand(cmd, args[0]), cmd.CommandPath())
	}
}

// closestCommand is the subcommand of c that lists typed in its
// SuggestFor, else the one whose name is nearest to typed (Levenshtein
// distance; ties go to the first in alphabetical order).
func closestCommand(c *cobra.Command, typed string) string {
	best, bestD := "", -1
	for _, sub := range c.Commands() {
		if !sub.IsAvailableCommand() {
			continue
		}
		if slices.Contains(sub.SuggestFor, typed) {
			return sub.Name()
		}
		if d := editDistance(typed, sub.Name()); bestD < 0 || d < bestD {
			best, bestD = sub.Name(), d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// open connects for a command that needs Redis. Without
// NEWSLETTER_REDIS_URL an admin command uses a running `newsletter dev`'s
// Redis if there is one, and says so; `serve` and `work` never do: they
// would run production on dev's throwaway data, secret and sender.
func (r *root) open(ctx context.Context, need app.Need) (*app.App, error) {
	need.Redis = true
	skip := false
	if r.cfg.RedisURL == "" && (need.Send || need.HTTP) {
		if _, err := os.Stat(r.devFile("redis.url")); err == nil {
			return nil, newsletter.Errorf(newsletter.EINVALID,
				"NEWSLETTER_REDIS_URL is not set: `serve` and `work` need your own Redis (e.g. NEWSLETTER_REDIS_URL=redis://127.0.0.1:6379/0); they never use the one of the `newsletter dev` in %s, whose data is only for trying things out",
				r.devFile(""))
		}
	}
	if r.cfg.RedisURL == "" && !need.Send && !need.HTTP {
		dir, err := r.findDev()
		if err != nil {
			return nil, err
		}
		if b, err := os.ReadFile(filepath.Join(dir, "redis.url")); err == nil {
			r.cfg.RedisURL = strings.TrimSpace(string(b))
			skip = true
			fmt.Fprintf(r.env.Stderr, "newsletter: using the Redis of `newsletter dev` at %s (from %s)\n", app.RedactURL(r.cfg.RedisURL), filepath.Join(dir, "redis.url"))
			if b, err := os.ReadFile(filepath.Join(dir, "env")); err == nil {
				r.applyDevEnv(string(b))
			}
		}
	}
	return app.Open(ctx, r.cfg, need, r.log, skip)
}

// findDev returns the folder of the running `newsletter dev` an admin
// command without NEWSLETTER_REDIS_URL uses: this folder's (or
// NEWSLETTER_DEV_DIR's), else one started in another folder. None running:
// an error that says what to set.
func (r *root) findDev() (string, error) {
	here := filepath.Clean(r.devFile(""))
	if devenv.Running(here) {
		return here, nil
	}
	if other := devenv.Announced(); other != "" {
		return other, nil
	}
	stale := ""
	if _, err := os.Stat(filepath.Join(here, "redis.url")); err == nil {
		stale = fmt.Sprintf(" (%s is left from a dev that is no longer running)", filepath.Join(here, "redis.url"))
	}
	return "", newsletter.Errorf(newsletter.EINVALID,
		"NEWSLETTER_REDIS_URL is not set and no `newsletter dev` is running%s: start `newsletter dev` in another terminal, or set NEWSLETTER_REDIS_URL to your Redis (e.g. NEWSLETTER_REDIS_URL=redis://127.0.0.1:6379/0), or NEWSLETTER_DEV_DIR to the dev-data folder of a running dev", stale)
}

// withApp runs fn with the application open, and closes it afterwards.
func (r *root) withApp(fn func(cmd *cobra.Command, a *app.App, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a, err := r.open(cmd.Context(), app.Need{})
		if err != nil {
			return err
		}
		defer a.Close()
		return fn(cmd, a, args)
	}
}

func (r *root) devFile(name string) string {
	dir := r.env.DevDir
	if dir == "" {
		dir = r.env.Getenv("NEWSLETTER_DEV_DIR")
	}
	if dir == "" {
		dir = "dev-data"
	}
	return dir + "/" + name
}

// applyDevEnv fills unset settings from the dev session's file, so CLI
// commands next to a running `dev` need no exports.
func (r *root) applyDevEnv(s string) {
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch k {
		case "NEWSLETTER_BASE_URL":
			if r.cfg.BaseURL == "" {
				r.cfg.BaseURL = v
			}
		case "NEWSLETTER_SECRET":
			if r.cfg.Secret == "" {
				r.cfg.Secret = v
			}
		case "NEWSLETTER_FROM":
			if r.cfg.From == "" {
				r.cfg.From = v
			}
		}
	}
}

func (r *root) printJSON(v any) error {
	enc := json.NewEncoder(r.env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (r *root) printf(format string, args ...any) { fmt.Fprintf(r.env.Stdout, format, args...) }

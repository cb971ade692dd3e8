package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/devenv"
	"newsletter/internal/sesfake"
	"newsletter/templates"
)

type benchFlags struct {
	recipients int
	latency    time.Duration
	rate       float64
	api        string
	jobs       int
	sesChild   bool
	cpuProfile string
	memProfile string
	sesProfile string
	edition    string
}

func (r *root) benchCmd() *cobra.Command {
	var f benchFlags
	c := &cobra.Command{Use: "bench [--recipients N] [--json]",
		Short: "Measure the pipeline: send an edition to N made-up subscribers under a key prefix of its own, then clean up",
		Long: `bench prepares N subscribers under a separate key prefix of the configured Redis
(NEWSLETTER_REDIS_URL; without one, a redis-server child), publishes an edition
to them, runs the workers in this process against the embedded SES endpoint (a
child process, so that its CPU is counted apart) or AWS_ENDPOINT_URL_SESV2,
waits until every delivery settled, prints what it measured and removes its keys.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.sesChild {
				return serveBenchSES(cmd.Context(), f, os.Stdin, r.env.Stdout)
			}
			return r.bench(cmd.Context(), f)
		}}
	c.Flags().IntVar(&f.recipients, "recipients", 100000, "made-up subscribers to send to")
	c.Flags().DurationVar(&f.latency, "latency", 0, "latency of every call to the embedded SES endpoint, e.g. 50ms")
	c.Flags().Float64Var(&f.rate, "rate", 0, "emails/s across the workers (0: unlimited)")
	c.Flags().StringVar(&f.api, "api", "", "bulk or single (default $NEWSLETTER_SES_API, else bulk)")
	c.Flags().IntVar(&f.jobs, "jobs", 0, "send jobs handled at once (default $NEWSLETTER_SEND_JOBS)")
	c.Flags().StringVar(&f.edition, "edition", "", "edition file (Markdown or text with front matter) to send instead of the sample edition")
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	c.Flags().StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the send (pprof) to this file")
	c.Flags().StringVar(&f.memProfile, "memprofile", "", "write a heap profile (pprof), taken when the fan-out is done, to this file")
	c.Flags().BoolVar(&f.sesChild, "ses-child", false, "internal: serve the embedded SES endpoint for a bench run")
	_ = c.Flags().MarkHidden("ses-child")
	c.Flags().StringVar(&f.sesProfile, "ses-cpuprofile", "", "internal: write a CPU profile (pprof) of the embedded SES endpoint to this file")
	_ = c.Flags().MarkHidden("ses-cpuprofile")
	return c
}

func (r *root) bench(ctx context.Context, f benchFlags) error {
	if f.recipients < 1 {
		return newsletter.Errorf(newsletter.EINVALID, "--recipients %d: give at least 1, e.g. --recipients 100000", f.recipients)
	}
	cfg := r.cfg
	if f.api != "" {
		cfg.SESAPI = strings.ToLower(f.api)
	}
	if f.jobs > 0 {
		cfg.SendSubscribers = f.jobs
	}
	// The fan-out of a large list may need more than one handler call,
	// whose deadline is half the claim idle time: a fan-out that stops goes
	// on from its cursor when the message comes again, after the retry
	// delay, which is not the figure asked for here.
	cfg.ClaimIdle = max(cfg.ClaimIdle, 20*time.Minute)
	if err := cfg.CheckRanges(); err != nil {
		return err
	}
	logf := func(format string, args ...any) {
		if !r.json {
			fmt.Fprintf(r.env.Stderr, "bench: "+format+"\n", args...)
		}
	}
	skipPolicy := false
	if cfg.RedisURL == "" {
		dir, err := os.MkdirTemp("", "newsletter-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		rd, err := devenv.StartRedis(dir)
		if err != nil {
			return err
		}
		defer rd.Close()
		cfg.RedisURL, skipPolicy = rd.URL, rd.InProcess
		logf("Redis: %s", rd.Kind)
	}
	cfg.RedisPrefix += "bench-" + randomHex(4) + ":"
	if cfg.From == "" {
		cfg.From = "Bench <bench@example.org>"
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://bench.example.org"
	}
	if len(cfg.Secret) < 32 {
		cfg.Secret = randomHex(32)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if r.verb {
		quiet = r.log
	}
	a, err := app.Open(ctx, cfg, app.Need{Redis: true, Send: true}, quiet, skipPolicy)
	if err != nil {
		return err
	}
	defer a.Close()
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		if err := a.DropPrefix(cctx); err != nil {
			fmt.Fprintf(r.env.Stderr, "bench: could not remove the keys under %s: %v\n", cfg.RedisPrefix, err)
		}
	}()

	o := app.BenchOptions{Recipients: f.recipients, Rate: f.rate, Logf: logf}
	for _, p := range []struct {
		path string
		to   *io.Writer
	}{{f.cpuProfile, &o.Profile}, {f.memProfile, &o.HeapProfile}} {
		if p.path == "" {
			continue
		}
		pf, err := os.Create(p.path)
		if err != nil {
			return err
		}
		defer pf.Close()
		*p.to = pf
	}
	if f.edition == "" {
		if o.Edition, err = templates.Files.ReadFile("sample-edition.md"); err != nil {
			return err
		}
	} else {
		if o.Edition, err = os.ReadFile(f.edition); err != nil {
			return newsletter.Errorf(newsletter.EINVALID, "--edition %s: cannot read it (%v): give the path of an edition file, as for `newsletter editions create --file`", f.edition, err)
		}
		o.EditionName = filepath.Base(f.edition)
	}
	endpoint, embedded := cfg.SESEndpoint, cfg.SESEndpoint == ""
	var child *benchChild
	if embedded {
		if child, err = startBenchSES(ctx, f); err != nil {
			return err
		}
		defer child.stop()
		endpoint = child.url
		o.Accepts = child.accepts
		logf("SES: embedded endpoint at %s (latency %v)", endpoint, f.latency)
	} else {
		logf("SES: %s (AWS_ENDPOINT_URL_SESV2)", endpoint)
	}
	client, err := a.SESClient(ctx, endpoint, embedded)
	if err != nil {
		return err
	}
	res, err := a.Bench(ctx, client, o)
	if err != nil {
		return err
	}
	if child != nil {
		res.SESCPUPerEmail = float64(child.cpu.Microseconds()) / float64(f.recipients)
	}
	if r.json {
		return r.printJSON(res)
	}
	r.printf("recipients                 %d (%s API, rate limit %s, %d recipients in flight per process)\n", res.Recipients, res.API, rateText(res.RateLimit), res.Concurrency)
	r.printf("states                     %v\n", res.States)
	r.printf("fan-out                    %.2f s\n", res.FanOutSeconds)
	r.printf("send (publish → settled)   %.2f s\n", res.SendSeconds)
	r.printf("emails/s                   %.0f\n", res.EmailsPerSecond)
	r.printf("publish → first accept     %.0f ms\n", res.FirstAcceptMillis)
	r.printf("publish → accept p50, p99  %.0f ms, %.0f ms\n", res.AcceptP50Millis, res.AcceptP99Millis)
	r.printf("busiest second             %d emails\n", res.BusiestSecond)
	r.printf("CPU per email              %.1f µs process, %.1f µs Redis", res.ProcessCPUPerEmail, res.RedisCPUPerEmail)
	if child != nil {
		r.printf(", %.1f µs SES endpoint", res.SESCPUPerEmail)
	}
	r.printf("\npeak RSS                   %.0f MB\n", res.PeakRSSMB)
	r.printf("machine probe              %.1f ms before, %.1f ms after (one argon2id check: compare runs by it)\n", res.ProbeBeforeMillis, res.ProbeAfterMillis)
	r.printf("Redis commands per email   %.2f\n", res.RedisCommandsPerMsg)
	for i, c := range res.RedisByCommand {
		if i == 8 {
			break
		}
		r.printf("  %-24s %.2f calls, %.1f µs\n", c.Command, c.CallsPerMsg, c.MicrosPerMsg)
	}
	return nil
}

func rateText(r float64) string {
	if r <= 0 {
		return "none"
	}
	return fmt.Sprintf("%g/s", r)
}

// benchChild is the embedded SES endpoint of a bench run, in a child
// process: its CPU is its own, and it reports when it accepted each email.
type benchChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	url   string
	once  sync.Once
	cpu   time.Duration
	stats benchSESStats
	err   error
}

type benchSESStats struct {
	First int64         `json:"first_ns"`
	Times map[int64]int `json:"accepted_per_ms"`
}

func startBenchSES(ctx context.Context, f benchFlags) (*benchChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"bench", "--ses-child", "--latency", f.latency.String()}
	if f.sesProfile != "" {
		args = append(args, "--ses-cpuprofile", f.sesProfile)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stderr = os.Stderr
	c := &benchChild{cmd: cmd}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the embedded SES endpoint: %w", err)
	}
	c.out = bufio.NewReader(stdout)
	line, err := c.out.ReadString('\n')
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("the embedded SES endpoint did not start: %v", err)
	}
	c.url = strings.TrimSpace(line)
	return c, nil
}

// stop ends the child and collects what it measured.
func (c *benchChild) stop() {
	c.once.Do(func() {
		c.stdin.Close()
		c.err = json.NewDecoder(c.out).Decode(&c.stats)
		_ = c.cmd.Wait()
		if ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			c.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	})
}

func (c *benchChild) accepts() (time.Time, map[int64]int) {
	c.stop()
	return time.Unix(0, c.stats.First), c.stats.Times
}

// serveBenchSES is the child: the embedded SES endpoint, keeping no email,
// until stdin closes; then it writes its stats as JSON.
func serveBenchSES(ctx context.Context, f benchFlags, stdin io.Reader, stdout io.Writer) error {
	// Its live heap is the calls in flight, a few MB: collecting at 4× that
	// rather than 2× halves the share of its CPU the GC takes.
	debug.SetGCPercent(400)
	if f.sesProfile != "" {
		pf, err := os.Create(f.sesProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		// Stopped as this returns; the parent waits for this process to
		// end, so the profile is complete when bench prints its figures.
		defer pprof.StopCPUProfile()
	}
	var mu sync.Mutex
	st := benchSESStats{Times: map[int64]int{}}
	fake := sesfake.New(sesfake.Options{MaxSendRate: 1e9, Max24HourSend: 1e12, Discard: true,
		OnAccept: func(_ string, at time.Time) {
			mu.Lock()
			if st.First == 0 {
				st.First = at.UnixNano()
			}
			st.Times[at.UnixMilli()]++
			mu.Unlock()
		}})
	fake.SetFaults(sesfake.Faults{Latency: f.latency})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// Idle connections live longer here than in the SDK's pool (90 s), so the
	// client always closes first: a server closing an idle connection just
	// as a request goes out loses that request's reply (the call becomes
	// "unknown").
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	go srv.Serve(l)
	fmt.Fprintf(stdout, "http://%s\n", l.Addr())
	_, _ = io.Copy(io.Discard, stdin) // until the parent closes it
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	mu.Lock()
	defer mu.Unlock()
	return json.NewEncoder(stdout).Encode(st)
}

package app

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"newsletter"
	"newsletter/internal/password"
)

// BenchOptions configure one run of `newsletter bench`.
type BenchOptions struct {
	Recipients int
	Edition    []byte // the edition to send, Markdown or text with front matter
	// EditionName is its file name ("" = bench.md): the extension says
	// which of the two it is.
	EditionName string
	Rate        float64 // emails/s across the workers; 0: unlimited
	// FirstAccept and Accepts, when set, come from the SES endpoint (the
	// embedded one reports every accepted recipient's time); else the
	// ledger's updated_at times are used.
	Accepts func() (first time.Time, times map[int64]int)
	Logf    func(format string, args ...any)
	// Profile, when set, receives a CPU profile of the send (pprof).
	Profile io.Writer
	// HeapProfile, when set, receives a heap profile taken when the
	// fan-out has created the last delivery (pprof).
	HeapProfile io.Writer
}

// BenchResult is what a bench run measured (JSON keys are the contract of
// `newsletter bench --json`).
type BenchResult struct {
	Recipients          int     `json:"recipients"`
	API                 string  `json:"api"`
	RateLimit           float64 `json:"rate_limit"`
	Concurrency         int     `json:"concurrency"`
	PrepareSeconds      float64 `json:"prepare_s"`
	FanOutSeconds       float64 `json:"fanout_s"`
	SendSeconds         float64 `json:"send_s"`
	EmailsPerSecond     float64 `json:"emails_per_s"`
	FirstAcceptMillis   float64 `json:"publish_to_first_accept_ms"`
	AcceptP50Millis     float64 `json:"publish_to_accept_p50_ms"`
	AcceptP99Millis     float64 `json:"publish_to_accept_p99_ms"`
	BusiestSecond       int     `json:"busiest_second"`
	ProcessCPUPerEmail  float64 `json:"process_cpu_us_per_email"`
	RedisCPUPerEmail    float64 `json:"redis_cpu_us_per_email"`
	SESCPUPerEmail      float64 `json:"ses_endpoint_cpu_us_per_email,omitempty"`
	PeakRSSMB           float64 `json:"peak_rss_mb"`
	RedisCommandsPerMsg float64 `json:"redis_commands_per_email"`
	// ProbeBeforeMillis and ProbeAfterMillis time a fixed piece of CPU
	// work (machineProbe) just before and after the send: how fast the
	// machine was, to compare runs of different moments by.
	ProbeBeforeMillis float64 `json:"machine_probe_ms_before"`
	ProbeAfterMillis  float64 `json:"machine_probe_ms_after"`
	// RedisByCommand is the same per command, busiest first.
	RedisByCommand []RedisCommandCost `json:"redis_by_command"`
	States         map[string]int64   `json:"states"`
}

// RedisCommandCost is what one Redis command cost per email in a bench
// run (from INFO commandstats; a script's own calls count under their
// names and again in the script's time).
type RedisCommandCost struct {
	Command      string  `json:"command"`
	CallsPerMsg  float64 `json:"calls_per_email"`
	MicrosPerMsg float64 `json:"us_per_email"`
}

// Bench sends an edition to o.Recipients made-up subscribers under this
// App's key prefix (the caller gives it a prefix of its own) through the
// workers in this process and the SES endpoint c, and measures. The
// caller removes the keys afterwards (DropPrefix).
func (a *App) Bench(ctx context.Context, c *sesv2.Client, o BenchOptions) (*BenchResult, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	res := &BenchResult{Recipients: o.Recipients, API: or(a.Cfg.SESAPI, "bulk"), RateLimit: o.Rate, Concurrency: a.Cfg.SendConcurrency}
	start := time.Now()
	if _, err := a.CreateList(ctx, newsletter.List{Slug: "bench", Name: "Bench"}); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 64<<10)
		w.WriteString("email,name,organisation\n")
		for i := range o.Recipients {
			fmt.Fprintf(w, "bench-%07d@example.org,Partner <%d> & \"zn\",Organisatie %d\n", i, i, i%97)
		}
		pw.CloseWithError(w.Flush())
	}()
	rep, err := a.Import(ctx, "bench", pr, newsletter.ImportOptions{})
	if err != nil {
		return nil, err
	}
	if rep.Imported != o.Recipients {
		return nil, fmt.Errorf("bench: imported %d of %d subscribers", rep.Imported, o.Recipients)
	}
	name := o.EditionName
	if name == "" {
		name = "bench.md"
	}
	e, _, err := a.CreateEdition(ctx, name, o.Edition)
	if err != nil {
		return nil, err
	}
	res.PrepareSeconds = time.Since(start).Seconds()
	logf("prepared %d subscribers in %.1f s", o.Recipients, res.PrepareSeconds)

	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- a.RunWork(wctx, WorkOptions{Sender: a.SESSender(c), Rate: o.Rate, Consumer: "bench"})
	}()
	defer func() {
		stop()
		<-done
	}()
	// Let the router's subscribers start reading before the clock starts.
	time.Sleep(300 * time.Millisecond)

	res.ProbeBeforeMillis = machineProbe()
	// The import above is the bench's, not the workers': return its memory
	// (and the probe's) to the system before the peak is reset, or the peak
	// is the import's heap the runtime has not handed back yet.
	debug.FreeOSMemory()
	resetPeakRSS()
	cpu0 := processCPU()
	redis0, cmds0, err := a.redisUsage(ctx)
	if err != nil {
		return nil, err
	}
	if o.Profile != nil {
		if err := pprof.StartCPUProfile(o.Profile); err != nil {
			return nil, err
		}
	}
	published := time.Now()
	if _, err := a.Publish(ctx, e.ID, []string{"bench"}, PublishOptions{}); err != nil {
		return nil, err
	}
	var fanned, firstSent time.Time
	n := int64(o.Recipients)
	for {
		counts, err := a.store.Counts(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		if fanned.IsZero() && counts["total"] >= n {
			fanned = now
			if o.HeapProfile != nil {
				if err := pprof.Lookup("heap").WriteTo(o.HeapProfile, 0); err != nil {
					return nil, err
				}
			}
		}
		if firstSent.IsZero() && counts["sent"] > 0 {
			firstSent = now
		}
		if counts["total"] >= n && counts["queued"] == 0 && counts["sending"] == 0 {
			res.States = counts
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		select {
		case err := <-done:
			return nil, fmt.Errorf("bench: the workers stopped: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	settled := time.Now()
	if o.Profile != nil {
		pprof.StopCPUProfile()
	}
	cpu1 := processCPU()
	redis1, cmds1, err := a.redisUsage(ctx)
	if err != nil {
		return nil, err
	}
	per := func(d float64) float64 { return d / float64(o.Recipients) }
	res.FanOutSeconds = fanned.Sub(published).Seconds()
	res.SendSeconds = settled.Sub(published).Seconds()
	res.EmailsPerSecond = float64(o.Recipients) / res.SendSeconds
	res.ProcessCPUPerEmail = per(float64((cpu1 - cpu0).Microseconds()))
	res.RedisCPUPerEmail = per((redis1 - redis0) * 1e6)
	for name, c1 := range cmds1 {
		c0 := cmds0[name]
		if c1.calls == c0.calls {
			continue
		}
		res.RedisCommandsPerMsg += per(float64(c1.calls - c0.calls))
		res.RedisByCommand = append(res.RedisByCommand, RedisCommandCost{Command: name,
			CallsPerMsg: per(float64(c1.calls - c0.calls)), MicrosPerMsg: per(float64(c1.usec - c0.usec))})
	}
	slices.SortFunc(res.RedisByCommand, func(x, y RedisCommandCost) int { return cmp.Compare(y.MicrosPerMsg, x.MicrosPerMsg) })
	res.PeakRSSMB = peakRSSMB()
	res.ProbeAfterMillis = machineProbe()

	var times map[int64]int
	first := firstSent
	if o.Accepts != nil {
		first, times = o.Accepts()
	} else if times, err = a.acceptTimes(ctx, e.ID); err != nil {
		return nil, err
	}
	res.FirstAcceptMillis = float64(first.Sub(published).Microseconds()) / 1000
	res.AcceptP50Millis, res.AcceptP99Millis, res.BusiestSecond = latencies(times, published)
	return res, nil
}

// acceptTimes reads when each sent delivery was recorded (unix ms → n).
func (a *App) acceptTimes(ctx context.Context, id string) (map[int64]int, error) {
	out := map[int64]int{}
	err := a.store.ScanDeliveryRows(ctx, id, newsletter.DeliverySent, func(r newsletter.DeliveryRow) error {
		out[r.UpdatedAt.UnixMilli()]++
		return nil
	})
	return out, err
}

// latencies are the 50th and 99th percentile of accept times after t0 (ms)
// and the most accepted in any one-second window.
func latencies(times map[int64]int, t0 time.Time) (p50, p99 float64, busiest int) {
	total := 0
	var lo, hi int64 = 1 << 62, 0
	for ms, n := range times {
		total += n
		lo, hi = min(lo, ms), max(hi, ms)
	}
	if total == 0 {
		return 0, 0, 0
	}
	seen := 0
	base := t0.UnixMilli()
	for ms := lo; ms <= hi; ms++ {
		seen += times[ms]
		if p50 == 0 && seen*2 >= total {
			p50 = float64(ms - base)
		}
		if seen*100 >= total*99 {
			p99 = float64(ms - base)
			break
		}
	}
	window := 0
	for ms := lo; ms <= hi; ms++ {
		window += times[ms] - times[ms-1000]
		busiest = max(busiest, window)
	}
	return p50, p99, busiest
}

// DropPrefix removes every key under this App's prefix, and the rate
// limiter's, on every master of a cluster.
func (a *App) DropPrefix(ctx context.Context) error {
	for _, p := range []string{a.store.Prefix(), "rate:" + a.store.Prefix()} {
		if err := a.store.DeletePrefixed(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// redisUsage is Redis's CPU so far (user+sys, seconds; INFO cpu) and what
// it counted per command (INFO commandstats), added up over every master of
// a cluster: asking one node of a cluster (what a cluster client's INFO
// does) would count another node's commands before and after, and could
// even come out negative. (Two INFO calls: Redis before 7 takes one
// section per call.)
func (a *App) redisUsage(ctx context.Context) (float64, map[string]commandStat, error) {
	var cpu float64
	infos, err := a.store.Info(ctx, "cpu")
	for _, info := range infos {
		cpu += infoFloat(info, "used_cpu_user:") + infoFloat(info, "used_cpu_sys:")
	}
	if err != nil {
		return 0, nil, err
	}
	cmds := map[string]commandStat{}
	infos, err = a.store.Info(ctx, "commandstats")
	for _, info := range infos {
		addCommandStats(cmds, info)
	}
	return cpu, cmds, err
}

type commandStat struct{ calls, usec int64 }

func addCommandStats(out map[string]commandStat, info string) {
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, found := strings.CutPrefix(name, "cmdstat_")
		if !ok || !found {
			continue
		}
		var st commandStat
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "calls":
				st.calls = n
			case "usec":
				st.usec = n
			}
		}
		sum := out[name]
		out[name] = commandStat{sum.calls + st.calls, sum.usec + st.usec}
	}
}

func infoFloat(info, field string) float64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// processCPU is this process's CPU time so far (user+sys).
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS resets the kernel's peak-RSS mark (Linux), so that the
// preparation (the import of the made-up list) does not count.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB is the peak resident set since resetPeakRSS (VmHWM).
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// machineProbe is the time of one argon2id password check with the
// default parameters (pure CPU and memory work, one core), the fastest of
// three, in ms. On the shared two-core machines this moves by half within
// an hour, and every CPU figure of a run with it: runs of different
// moments compare by their figures divided by their probe.
func machineProbe() float64 {
	hash := password.Hash("machine probe", password.Default)
	best := time.Duration(math.MaxInt64)
	for range 3 {
		t := time.Now()
		if _, err := password.Verify("machine probe", hash); err != nil {
			return 0
		}
		best = min(best, time.Since(t))
	}
	return float64(best.Microseconds()) / 1000
}

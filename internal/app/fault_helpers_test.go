package app_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/redistest"
	"newsletter/internal/sesfake"
)

// The fault tests run the real `newsletter work` binary as child processes
// against the test's Redis and an SES fake hosted in the test process, and
// kill them with SIGKILL while emails are in flight.

const (
	faultFrom   = "Leerwerkakkoord <nieuwsbrief@example.org>"
	faultBase   = "https://nieuwsbrief.example.org"
	faultSecret = "fault-secret-fault-secret-fault-secret-0123"
)

var (
	faultBinOnce sync.Once
	faultBin     string
	faultBinErr  error
)

// faultBinary builds ./cmd/newsletter once per test binary run, into
// suiteDir (removed by TestMain).
func faultBinary(t *testing.T) string {
	t.Helper()
	faultBinOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			faultBinErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			faultBinErr = errors.New("go env GOMOD: not inside the newsletter module")
			return
		}
		bin := filepath.Join(suiteDir, "newsletter")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/newsletter")
		cmd.Dir = filepath.Dir(gomod)
		if out, err := cmd.CombinedOutput(); err != nil {
			faultBinErr = fmt.Errorf("go build ./cmd/newsletter: %v\n%s", err, out)
			return
		}
		faultBin = bin
	})
	if faultBinErr != nil {
		t.Fatal(faultBinErr)
	}
	return faultBin
}

// faultEnv is one fault test's world: Redis prefix, SES fake, an in-test
// App for admin work, and the worker processes.
type faultEnv struct {
	t         *testing.T
	App       *app.App
	SES       *sesfake.Server
	SESURL    string
	srv       *httptest.Server // the SES endpoint the workers call
	RedisURL  string
	Prefix    string
	ClaimIdle time.Duration
	dir       string

	// Rate is NEWSLETTER_SES_RATE of the workers (0: 100000).
	Rate float64
	// Env is added to every worker's environment.
	Env []string

	mu       sync.Mutex
	workers  []*workerProc
	stopped  bool           // stopWorkers ran: exits are expected
	status   map[int]int    // SendEmail and SendBulkEmail answers by HTTP status
	inFlight map[string]int // recipients of the SES calls being served, by worker name
}

// claimsHeld is how many deliveries of edition id worker name holds
// claimed for an SES call: claimed just before the call and released when
// its outcome is recorded, so right after a kill -9 these are exactly the
// recipients whose call was on its way, at SES, or answered but not yet
// recorded: all that a crash may leave in doubt.
func (f *faultEnv) claimsHeld(id, name string) int {
	f.t.Helper()
	host, _ := os.Hostname()
	owners, err := f.App.Store().ClaimHolders(context.Background(), id)
	if err != nil {
		f.t.Fatalf("read the claims of edition %s: %v", id, err)
	}
	n := 0
	for _, v := range owners {
		if strings.HasPrefix(v, host+"-"+name+"/") {
			n++
		}
	}
	return n
}

// sendsInFlight is how many recipients of SES calls of worker name the endpoint
// is serving now.
func (f *faultEnv) sendsInFlight(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inFlight[name]
}

// callerName is the worker a request comes from: the SDK puts
// AWS_SDK_UA_APP_ID into the User-Agent as "app/NAME".
func callerName(r *http.Request) string {
	for _, part := range strings.Fields(r.Header.Get("User-Agent")) {
		if name, ok := strings.CutPrefix(part, "app/"); ok {
			return name
		}
	}
	return ""
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// sendStatus returns how many SendEmail calls got each HTTP status.
func (f *faultEnv) sendStatus() map[int]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int]int{}
	for k, v := range f.status {
		out[k] = v
	}
	return out
}

func newFaultEnv(t *testing.T, claimIdle time.Duration, faults sesfake.Faults) *faultEnv {
	t.Helper()
	return newFaultEnvWith(t, claimIdle, faults, sesfake.Options{}, "")
}

// newFaultEnvWith is newFaultEnv with SES options (the rate and quota are
// always unlimited) and Redis at redisURL ("" = the suite's).
func newFaultEnvWith(t *testing.T, claimIdle time.Duration, faults sesfake.Faults, o sesfake.Options, redisURL string) *faultEnv {
	t.Helper()
	faultBinary(t) // build first: it is the slow part
	if redisURL == "" {
		redisURL = redistest.URL(t)
	}
	f := &faultEnv{t: t, RedisURL: redisURL, Prefix: redistest.Prefix(t), ClaimIdle: claimIdle, dir: t.TempDir()}
	o.MaxSendRate, o.Max24HourSend = 100000, 1e9
	f.SES = sesfake.New(o)
	f.SES.SetFaults(faults)
	f.status = map[int]int{}
	f.inFlight = map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/email/outbound-emails" && r.URL.Path != "/v2/email/outbound-bulk-emails" {
			f.SES.ServeHTTP(w, r)
			return
		}
		name := callerName(r)
		n := 1 // recipients of the call: one SendEmail, or a bulk call's entries
		if r.URL.Path == "/v2/email/outbound-bulk-emails" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			var req struct{ BulkEmailEntries []json.RawMessage }
			if json.Unmarshal(body, &req) == nil {
				n = len(req.BulkEmailEntries)
			}
		}
		f.mu.Lock()
		f.inFlight[name] += n
		f.mu.Unlock()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			f.mu.Lock()
			f.inFlight[name] -= n
			f.status[sw.code]++
			f.mu.Unlock()
		}()
		f.SES.ServeHTTP(sw, r)
	}))
	f.SESURL, f.srv = srv.URL, srv
	t.Cleanup(func() { _ = f.SES.Close() })
	t.Cleanup(srv.Close)

	cfg := app.Config{
		RedisURL: f.RedisURL, RedisPrefix: f.Prefix, From: faultFrom, BaseURL: faultBase, Secret: faultSecret,
		BrandName: "Leerwerkakkoord", SendConcurrency: 32, SendSubscribers: 4, Chunk: 50,
		ClaimIdle: claimIdle, OverdueAfter: time.Hour,
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.Open(context.Background(), cfg, app.Need{Redis: true, Send: true}, logger, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	f.App = a
	// Registered after the server and app: runs before them, so workers
	// stop while SES and Redis are still there.
	t.Cleanup(f.stopAll)
	return f
}

// childEnv is the whole environment of a worker: nothing is inherited from
// the test process, so no setting of the developer's can point elsewhere.
func (f *faultEnv) childEnv() []string {
	env := append([]string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + f.dir,
		"TMPDIR=" + f.dir,
		"NEWSLETTER_REDIS_URL=" + f.RedisURL,
		"NEWSLETTER_REDIS_PREFIX=" + f.Prefix,
		"NEWSLETTER_FROM=" + faultFrom,
		"NEWSLETTER_BASE_URL=" + faultBase,
		"NEWSLETTER_SECRET=" + faultSecret,
		"NEWSLETTER_SES_RATE=" + fmt.Sprint(cmp.Or(f.Rate, 100000)),
		"AWS_ENDPOINT_URL_SESV2=" + f.SESURL,
		"AWS_REGION=eu-west-1",
		"AWS_ACCESS_KEY_ID=AKIDFAULTTEST",
		"AWS_SECRET_ACCESS_KEY=fault-test-secret",
		"AWS_CONFIG_FILE=" + filepath.Join(f.dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(f.dir, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}, f.Env...)
	if f.ClaimIdle > 0 { // else the default
		env = append(env, "NEWSLETTER_CLAIM_IDLE="+f.ClaimIdle.String())
	}
	return env
}

// workerProc is one `newsletter work` child process.
type workerProc struct {
	Name   string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
	err    error // from Wait, valid after done
	killed bool
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startWorker starts `newsletter work` and returns at once.
func (f *faultEnv) startWorker(name string) *workerProc {
	f.t.Helper()
	w := &workerProc{Name: name, stderr: &lockedBuffer{}, done: make(chan struct{})}
	w.cmd = exec.Command(faultBinary(f.t), "work")
	w.cmd.Dir = f.dir
	// A stable name per worker: restarted under it, a worker takes back
	// at once what it held; the SDK tells the endpoint who is calling.
	w.cmd.Env = append(f.childEnv(), "NEWSLETTER_WORKER_ID="+name, "AWS_SDK_UA_APP_ID="+name)
	w.cmd.Stdout = w.stderr
	w.cmd.Stderr = w.stderr
	if err := w.cmd.Start(); err != nil {
		f.t.Fatalf("start worker %s: %v", name, err)
	}
	go func() {
		w.err = w.cmd.Wait()
		close(w.done)
	}()
	f.mu.Lock()
	f.workers = append(f.workers, w)
	f.mu.Unlock()
	return w
}

// kill sends SIGKILL and waits until the process is gone.
func (w *workerProc) kill(t *testing.T) {
	t.Helper()
	w.killed = true
	if err := syscall.Kill(w.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 worker %s: %v", w.Name, err)
	}
	<-w.done
}

func (w *workerProc) exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// stopWorkers ends the workers still running: SIGTERM, then SIGKILL.
func (f *faultEnv) stopWorkers() {
	f.mu.Lock()
	f.stopped = true
	ws := append([]*workerProc(nil), f.workers...)
	f.mu.Unlock()
	for _, w := range ws {
		if !w.exited() {
			_ = w.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, w := range ws {
		select {
		case <-w.done:
		case <-time.After(15 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	}
}

// stopAll stops the workers and, if the test failed or is verbose, shows
// the end of what each wrote.
func (f *faultEnv) stopAll() {
	f.stopWorkers()
	if !f.t.Failed() && !testing.Verbose() {
		return
	}
	f.mu.Lock()
	ws := append([]*workerProc(nil), f.workers...)
	f.mu.Unlock()
	for _, w := range ws {
		f.t.Logf("worker %s (killed=%v, exit %v) stderr, last lines:\n%s", w.Name, w.killed, w.err, tail(w.stderr.String(), 15))
	}
}

// checkAlive fails the test if a worker that was neither killed nor
// stopped has exited.
func (f *faultEnv) checkAlive() {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	for _, w := range f.workers {
		if !w.killed && w.exited() {
			f.t.Fatalf("worker %s exited on its own (%v):\n%s", w.Name, w.err, tail(w.stderr.String(), 30))
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// eventually polls cond every 20 ms until it holds or the deadline passes.
// Only a safety net against hangs: nothing asserts how long things take.
func (f *faultEnv) eventually(what string, timeout time.Duration, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		f.checkAlive()
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: still not the case after %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// subscribe creates a list with n subscribers and returns their addresses.
func (f *faultEnv) subscribe(slug string, n int) []string {
	f.t.Helper()
	ctx := context.Background()
	if err := f.App.Store().CreateList(ctx, newsletter.List{Slug: slug, Name: "Partners " + slug}); err != nil {
		f.t.Fatal(err)
	}
	emails := make([]string, n)
	var b strings.Builder
	b.WriteString("email,name,organisation\n")
	for i := range emails {
		emails[i] = fmt.Sprintf("%s-%05d@example.org", slug, i)
		fmt.Fprintf(&b, "%s,Partner %d,Organisatie %d\n", emails[i], i, i%97)
	}
	rep, err := f.App.Import(ctx, slug, strings.NewReader(b.String()), newsletter.ImportOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	if rep.Imported != n || len(rep.Rejected) != 0 {
		f.t.Fatalf("import: imported %d of %d, rejected %v", rep.Imported, n, rep.Rejected)
	}
	return emails
}

// createEdition stores testdata/dutch.md as a draft edition.
func (f *faultEnv) createEdition() string {
	f.t.Helper()
	data, err := os.ReadFile("testdata/dutch.md")
	if err != nil {
		f.t.Fatal(err)
	}
	e, _, err := f.App.CreateEdition(context.Background(), "dutch.md", data)
	if err != nil {
		f.t.Fatal(err)
	}
	return e.ID
}

func (f *faultEnv) counts(id string) map[string]int64 {
	f.t.Helper()
	c, err := f.App.Store().Counts(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// waitSettled waits until the edition has no queued or sending delivery and
// the pipeline is idle (every stream read and acknowledged), then stops the
// workers, so nothing can change a delivery or call SES while the test
// counts.
//
// Stopping is needed because a job can run twice at once: a consumer reads
// its next entry while still handling the current one, and if that takes
// longer than the claim idle time, another consumer claims the waiting
// entry and runs it. When the first consumer gets to its copy, it finds
// that run's sends "sending", marks them unknown and acknowledges the entry,
// while the other run's SES calls are still in flight and will record
// "sent" over "unknown". Nothing in Redis shows that run: only stopped
// workers make the count complete.
func (f *faultEnv) waitSettled(id string, timeout time.Duration) map[string]int64 {
	f.t.Helper()
	f.eventually("edition has no queued or sending deliveries", timeout, func() bool {
		c := f.counts(id)
		return c["total"] > 0 && c["queued"]+c["sending"] == 0
	})
	ctx := context.Background()
	f.eventually("delivery jobs all acknowledged", timeout, func() bool {
		why, _ := pipelineBusy(ctx, f.t, f.App)
		return why == ""
	})
	f.stopWorkers()
	// A SendEmail whose caller gave up (deadline, kill) may still be in the
	// SES endpoint and be accepted after the worker is gone: closing the
	// endpoint waits for the requests it is serving and drops the unread
	// ones, so what SES accepted is final too.
	f.srv.Close()
	c := f.counts(id)
	if c["queued"]+c["sending"] != 0 {
		f.t.Fatalf("after the workers stopped the edition has queued or sending deliveries: %v", c)
	}
	return c
}

// ledger is every email counted: what SES accepted and what Redis says.
type ledger struct {
	received   map[string]int                  // recipient → emails SES accepted
	byID       map[string]string               // SES message id → recipient
	deliveries map[string]*newsletter.Delivery // recipient → delivery
	counts     map[string]int64
}

func (f *faultEnv) ledger(id string) *ledger {
	f.t.Helper()
	ctx := context.Background()
	l := &ledger{received: map[string]int{}, byID: map[string]string{}, deliveries: map[string]*newsletter.Delivery{}}
	for _, m := range f.SES.Messages() {
		if len(m.Recipients()) != 1 {
			f.t.Fatalf("SES message %s has recipients %v, want exactly one", m.MessageID, m.Recipients())
		}
		l.received[m.To[0]]++
		l.byID[m.MessageID] = m.To[0]
	}
	err := f.App.Store().ScanDeliveries(ctx, id, 500, func(emails []string, _ []newsletter.DeliveryState) error {
		for _, em := range emails {
			d, err := f.App.Store().GetDelivery(ctx, id, em)
			if err != nil {
				return err
			}
			l.deliveries[em] = d
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	l.counts = f.counts(id)
	return l
}

// check asserts the invariants every fault test shares and returns the
// number of deliveries per state.
func (l *ledger) check(t *testing.T, recipients []string) map[newsletter.DeliveryState]int {
	t.Helper()
	want := map[string]bool{}
	for _, r := range recipients {
		want[r] = true
	}
	// Nobody got two emails, and SES got nothing for strangers.
	for addr, n := range l.received {
		if n != 1 {
			t.Errorf("%s received %d emails", addr, n)
		}
		if !want[addr] {
			t.Errorf("SES received an email for %s, who is not a recipient", addr)
		}
	}
	// Every recipient has exactly one delivery, in a final state.
	states := map[newsletter.DeliveryState]int{}
	for _, r := range recipients {
		d, ok := l.deliveries[r]
		if !ok {
			t.Errorf("%s has no delivery: silently lost", r)
			continue
		}
		states[d.State]++
		switch d.State {
		case newsletter.DeliverySent:
			if l.received[r] == 0 {
				t.Errorf("%s is sent (message id %q) but SES never received an email for it", r, d.MessageID)
			}
			if got, ok := l.byID[d.MessageID]; !ok {
				t.Errorf("%s is sent with message id %q, which SES never issued", r, d.MessageID)
			} else if got != r {
				t.Errorf("%s is sent with message id %q, which SES issued for %s", r, d.MessageID, got)
			}
		case newsletter.DeliveryUnknown:
			// Fine either way: SES may or may not have accepted it.
		case newsletter.DeliveryFailed, newsletter.DeliverySkipped:
			if l.received[r] > 0 {
				t.Errorf("%s is %s but SES accepted an email for it", r, d.State)
			}
		default:
			t.Errorf("%s is left in state %q (reason %q)", r, d.State, d.Reason)
		}
	}
	if len(l.deliveries) != len(recipients) {
		t.Errorf("%d deliveries for %d recipients", len(l.deliveries), len(recipients))
	}
	// The per-state counters agree with the deliveries themselves.
	sum := int64(0)
	for _, st := range []newsletter.DeliveryState{newsletter.DeliverySent, newsletter.DeliveryUnknown, newsletter.DeliveryFailed, newsletter.DeliverySkipped} {
		if l.counts[string(st)] != int64(states[st]) {
			t.Errorf("counter %s = %d, but %d deliveries are %s", st, l.counts[string(st)], states[st], st)
		}
		sum += l.counts[string(st)]
	}
	if sum != int64(len(recipients)) || l.counts["total"] != int64(len(recipients)) {
		t.Errorf("sent+unknown+failed+skipped = %d, total = %d, want %d (counts %v)", sum, l.counts["total"], len(recipients), l.counts)
	}
	if l.counts["queued"] != 0 || l.counts["sending"] != 0 {
		t.Errorf("counts still show queued/sending: %v", l.counts)
	}
	return states
}

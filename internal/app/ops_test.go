package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"newsletter/internal/app"
	"newsletter/internal/redisproc"
	"newsletter/internal/sesfake"
)

// The operations tests run `serve` and `work` as separate OS processes and
// read what an operator reads: /metrics, /healthz and /readyz.

const opsMetricsToken = "ops-metrics-token-0123456789"

// startProc starts the newsletter binary with args and extra environment
// (which overrides childEnv's) and returns at once.
func (f *faultEnv) startProc(name string, args []string, extra ...string) *workerProc {
	f.t.Helper()
	w := &workerProc{Name: name, stderr: &lockedBuffer{}, done: make(chan struct{})}
	w.cmd = exec.Command(faultBinary(f.t), args...)
	w.cmd.Dir = f.dir
	w.cmd.Env = append(f.childEnv(), extra...)
	w.cmd.Stdout = w.stderr
	w.cmd.Stderr = w.stderr
	if err := w.cmd.Start(); err != nil {
		f.t.Fatalf("start %s: %v", name, err)
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

func freeAddr(t *testing.T) string {
	t.Helper()
	p, err := redisproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", p)
}

// get returns the status and body of GET url (status 0 when nothing
// answers), with the metrics token.
func httpGet(url string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+opsMetricsToken)
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// scrape returns the value of each series of family name at url/metrics,
// keyed by its labels ("state=sent,reason=none" or "" without labels).
func scrape(t *testing.T, url, name string) map[string]float64 {
	t.Helper()
	code, body := httpGet(url + "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET %s/metrics: %d %s", url, code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse %s/metrics: %v", url, err)
	}
	out := map[string]float64{}
	fam := fams[name]
	if fam == nil {
		return out
	}
	for _, m := range fam.GetMetric() {
		var labels []string
		for _, l := range m.GetLabel() {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
		out[strings.Join(labels, ",")] += v
	}
	return out
}

// serve and three workers, each its own OS process, send one edition: each
// worker's /metrics shows it sent a part, and the parts add up to the
// recipients; serve's /metrics shows the edition sent and the streams.
func TestOpsMetricsAcrossProcesses(t *testing.T) {
	// Each worker holds one job at a time and SES answers after a few
	// milliseconds, so no worker can take every job before the others.
	f := newFaultEnv(t, time.Minute, sesfake.Faults{Latency: 5 * time.Millisecond})
	const n = 600
	f.subscribe("ops", n)
	id := f.createEdition()
	httpAddr := freeAddr(t)
	serve := "http://" + httpAddr
	f.startProc("serve", []string{"serve"}, "NEWSLETTER_HTTP_ADDR="+httpAddr, "NEWSLETTER_METRICS_TOKEN="+opsMetricsToken, "NEWSLETTER_LOG_FORMAT=json")
	var workers []string
	for i := range 3 {
		addr := freeAddr(t)
		workers = append(workers, "http://"+addr)
		f.startProc(fmt.Sprintf("work-%d", i), []string{"work"}, "NEWSLETTER_METRICS_ADDR="+addr,
			"NEWSLETTER_SEND_JOBS=1", "NEWSLETTER_SEND_CONCURRENCY=2", "NEWSLETTER_JOB_SIZE=50", fmt.Sprintf("NEWSLETTER_WORKER_ID=%d", i))
	}
	for _, u := range append([]string{serve}, workers...) {
		f.eventually(u+"/readyz answers 200", time.Minute, func() bool { c, _ := httpGet(u + "/readyz"); return c == http.StatusOK })
		if c, body := httpGet(u + "/healthz"); c != http.StatusOK || strings.TrimSpace(body) != "ok" {
			t.Fatalf("%s/healthz: %d %q", u, c, body)
		}
	}
	if _, err := f.App.Publish(context.Background(), id, []string{"ops"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	sent := func(u string) float64 { return scrape(t, u, "newsletter_ses_emails_total")["outcome=sent"] }
	f.eventually("the workers' metrics add up to every recipient", 3*time.Minute, func() bool {
		total := 0.0
		for _, u := range workers {
			total += sent(u)
		}
		return total >= n
	})
	total, recorded := 0.0, 0.0
	for i, u := range workers {
		s := sent(u)
		if s == 0 {
			t.Errorf("worker %d sent nothing: the work was not shared", i)
		}
		total += s
		recorded += scrape(t, u, "newsletter_deliveries_total")["reason=none,state=sent"]
		if h := scrape(t, u, "newsletter_ses_call_seconds_count"); len(h) != 0 {
			t.Logf("histogram exported as its own family: %v", h)
		}
		t.Logf("worker %d sent %v", i, s)
	}
	if total != n || recorded != n {
		t.Errorf("SES calls sent %v and recorded sent deliveries %v, want both %d", total, recorded, n)
	}
	if c := f.counts(id); c["sent"] != n {
		t.Errorf("store counts %v, want %d sent", c, n)
	}
	f.eventually("serve's /metrics shows the edition sent", time.Minute, func() bool {
		return scrape(t, serve, "newsletter_editions")["state=sent"] == 1
	})
	if l := scrape(t, serve, "newsletter_stream_length"); l["stream=newsletter.deliveries.v1"] == 0 && len(l) == 0 {
		t.Errorf("serve's /metrics has no stream lengths: %v", l)
	}
	if lag := scrape(t, serve, "newsletter_stream_lag"); lag["group=send,stream=newsletter.deliveries.v1"] != 0 {
		t.Errorf("send group lag after the edition was sent: %v", lag)
	}
	if up := scrape(t, workers[0], "newsletter_redis_up")[""]; up != 1 {
		t.Errorf("newsletter_redis_up = %v, want 1", up)
	}
	// /metrics on serve's public address needs the token.
	resp, err := http.Get(serve + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /metrics without the token: %d, want 401", resp.StatusCode)
	}
}

// /readyz answers 503 while Redis is down and 200 once it is back, on serve
// and on work; /healthz stays 200 (the process is alive throughout).
func TestOpsReadyzFollowsRedis(t *testing.T) {
	f := newFaultEnv(t, time.Minute, sesfake.Faults{})
	dir := t.TempDir()
	rd, err := redisproc.StartWith(dir, redisproc.Options{AOF: true})
	if err != nil {
		t.Fatal(err)
	}
	port := rd.Port
	t.Cleanup(func() { rd.Close() })
	own := []string{"NEWSLETTER_REDIS_URL=" + rd.URL}
	httpAddr, metricsAddr := freeAddr(t), freeAddr(t)
	f.startProc("serve", []string{"serve"}, append(own, "NEWSLETTER_HTTP_ADDR="+httpAddr)...)
	f.startProc("work", []string{"work"}, append(own, "NEWSLETTER_METRICS_ADDR="+metricsAddr)...)
	urls := []string{"http://" + httpAddr, "http://" + metricsAddr}
	status := func(u, path string) func() int { return func() int { c, _ := httpGet(u + path); return c } }
	for _, u := range urls {
		f.eventually(u+" ready", time.Minute, func() bool { return status(u, "/readyz")() == 200 })
	}
	rd.Close()
	for _, u := range urls {
		f.eventually(u+" /readyz 503 while Redis is down", time.Minute, func() bool { return status(u, "/readyz")() == 503 })
		if c := status(u, "/healthz")(); c != 200 {
			t.Errorf("%s/healthz while Redis is down: %d, want 200", u, c)
		}
	}
	_, body := httpGet(urls[1] + "/readyz")
	if !strings.Contains(body, "redis:") || !strings.Contains(body, "ses:") {
		t.Errorf("work /readyz body names no checks: %q", body)
	}
	rd2, err := redisproc.StartWith(dir, redisproc.Options{AOF: true, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd2.Close() })
	for _, u := range urls {
		f.eventually(u+" /readyz 200 once Redis is back", time.Minute, func() bool { return status(u, "/readyz")() == 200 })
	}
	f.checkAlive()
}

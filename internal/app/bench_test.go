package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/redistest"
	"newsletter/internal/sesfake"
	"newsletter/workers"
)

// benchRecipients is the size of the list every iteration sends to.
const benchRecipients = 20000

// noopSender accepts every email at once: it takes the AWS SDK, HTTP and
// the SES fake out of the measurement.
type noopSender struct{ n atomic.Int64 }

func (s *noopSender) Send(ctx context.Context, m *newsletter.Email) (string, error) {
	return fmt.Sprintf("noop-%d", s.n.Add(1)), nil
}

// redistest ties redis-server's life to the OS thread that first asks for
// it (Pdeathsig, thread locked). A benchmark's first run is on a goroutine
// that ends, taking the server with it, so ask from one that never ends.
var benchRedisOnce sync.Once

func benchRedisURL(b *testing.B) string {
	benchRedisOnce.Do(func() {
		started := make(chan struct{})
		go func() {
			defer close(started) // when URL fails (Goexit); the caller then fails too
			redistest.URL(b)
			started <- struct{}{}
			select {}
		}()
		<-started
	})
	return redistest.URL(b)
}

// benchApp opens an App on a fresh prefix with a list of n subscribers.
func benchApp(b *testing.B, n int) *app.App {
	b.Helper()
	cfg := app.Config{
		RedisURL: benchRedisURL(b), RedisPrefix: redistest.Prefix(b),
		From: faultFrom, BaseURL: faultBase, Secret: faultSecret, BrandName: "Leerwerkakkoord",
		SendConcurrency: 200, SendSubscribers: 4, Chunk: 50, ClaimIdle: 2 * time.Minute, OverdueAfter: time.Hour,
	}
	benchTweak(&cfg)
	a, err := app.Open(context.Background(), cfg, app.Need{Redis: true, Send: true}, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	ctx := context.Background()
	if err := a.Store().CreateList(ctx, newsletter.List{Slug: "bench", Name: "Bench"}); err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString("email,name,organisation\n")
	for i := range n {
		fmt.Fprintf(&sb, "bench-%06d@example.org,Partner %d,Organisatie %d\n", i, i, i%97)
	}
	rep, err := a.Import(ctx, "bench", strings.NewReader(sb.String()), newsletter.ImportOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if rep.Imported != n {
		b.Fatalf("imported %d of %d (rejected %v)", rep.Imported, n, rep.Rejected)
	}
	return a
}

// benchTweak lets a run try other settings without editing the file:
// NEWSLETTER_BENCH_CONCURRENCY, _JOBS, _CHUNK.
func benchTweak(c *app.Config) {
	for env, p := range map[string]*int{
		"NEWSLETTER_BENCH_CONCURRENCY": &c.SendConcurrency,
		"NEWSLETTER_BENCH_JOBS":        &c.SendSubscribers,
		"NEWSLETTER_BENCH_CHUNK":       &c.Chunk,
	} {
		if v := os.Getenv(env); v != "" {
			_, _ = fmt.Sscan(v, p)
		}
	}
}

func benchEdition(b *testing.B, a *app.App) string {
	b.Helper()
	data, err := os.ReadFile("testdata/dutch.md")
	if err != nil {
		b.Fatal(err)
	}
	e, _, err := a.CreateEdition(context.Background(), "dutch.md", data)
	if err != nil {
		b.Fatal(err)
	}
	return e.ID
}

func reportRate(b *testing.B, emails int) {
	el := b.Elapsed()
	b.ReportMetric(float64(emails)/el.Seconds(), "emails/s")
	b.ReportMetric(float64(el.Nanoseconds())/float64(emails), "ns/email")
}

// BenchmarkPipeline publishes an edition to 20,000 recipients per
// iteration and waits until every delivery is sent: real Redis, the real
// router in process (RunWork, default concurrency), and either the real
// AWS SDK against the SES fake over loopback HTTP, or a no-op Sender.
func BenchmarkPipeline(b *testing.B) {
	for _, v := range []struct {
		name    string
		latency time.Duration
		noop    bool
	}{
		{"sesfake-latency-0", 0, false},
		{"sesfake-latency-20ms", 20 * time.Millisecond, false},
		{"noop-sender", 0, true},
	} {
		b.Run(v.name, func(b *testing.B) { benchPipeline(b, v.latency, v.noop) })
	}
}

func benchPipeline(b *testing.B, latency time.Duration, noop bool) {
	a := benchApp(b, benchRecipients)
	ctx, cancel := context.WithCancel(context.Background())
	var current atomic.Pointer[sesfake.Server]
	newFake := func() {
		s := sesfake.New(sesfake.Options{MaxSendRate: 1e6, Max24HourSend: 1e9})
		s.SetFaults(sesfake.Faults{Latency: latency})
		if old := current.Swap(s); old != nil {
			_ = old.Close()
		}
	}
	newFake()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { current.Load().ServeHTTP(w, r) }))
	var conns atomic.Int64 // TCP connections the SDK opened: a small idle pool re-dials
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	var sender workers.Sender = &noopSender{}
	if !noop {
		client, err := a.SESClient(ctx, srv.URL, true)
		if err != nil {
			b.Fatal(err)
		}
		sender = a.SESSender(client)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.RunWork(ctx, app.WorkOptions{Sender: sender, Rate: 0, Consumer: "bench"}); err != nil {
			b.Errorf("workers: %v", err)
		}
	}()
	b.Cleanup(func() {
		cancel()
		wg.Wait()
		srv.Close()
		_ = current.Load().Close()
	})

	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		newFake() // the fake keeps every email; start each edition empty
		id := benchEdition(b, a)
		b.StartTimer()
		if _, err := a.Publish(ctx, id, []string{"bench"}, app.PublishOptions{}); err != nil {
			b.Fatal(err)
		}
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Minute)
		st, err := a.Wait(wctx, id, 5*time.Millisecond)
		wcancel()
		if err != nil {
			b.Fatalf("edition not sent: %v (%v)", err, st)
		}
		b.StopTimer()
		if st.Counts["sent"] != benchRecipients {
			b.Fatalf("sent %d of %d: %v", st.Counts["sent"], benchRecipients, st.Counts)
		}
		if !noop && current.Load().Count() != benchRecipients {
			b.Fatalf("SES accepted %d of %d", current.Load().Count(), benchRecipients)
		}
		b.StartTimer()
	}
	b.StopTimer()
	reportRate(b, b.N*benchRecipients)
	if !noop {
		b.ReportMetric(float64(conns.Load())/float64(b.N*benchRecipients)*1000, "conns/1000emails")
	}
}

// BenchmarkPipelineSendStep runs only the send step (workers.Send.Run: claim,
// re-check, personalise, record) over 50-recipient jobs, four at a time as
// the router does, with a no-op Sender: our per-email Redis and CPU cost
// without streams, Watermill, the SDK or HTTP.
func BenchmarkPipelineSendStep(b *testing.B) {
	a := benchApp(b, benchRecipients)
	ctx := context.Background()
	var emails []string
	err := a.Store().ScanMembers(ctx, "bench", 1000, func(batch []string) error {
		emails = append(emails, batch...)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	send := &workers.Send{Store: a.Store(), Sender: &noopSender{}, Renderer: a.Renderer, Links: a.Links,
		Limiter: noLimit{}, From: a.Cfg.From, ListID: a.Cfg.ListID, Concurrency: a.Cfg.SendConcurrency,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	chunk, parallel := a.Cfg.Chunk, a.Cfg.SendSubscribers

	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		id := benchEdition(b, a)
		ts := make([]newsletter.Transition, len(emails))
		for i, em := range emails {
			ts[i] = newsletter.Transition{Email: em, To: newsletter.DeliveryQueued}
		}
		if _, err := a.Store().Transition(ctx, id, ts); err != nil {
			b.Fatal(err)
		}
		jobs := make(chan workers.DeliveryJob, len(emails)/chunk+1)
		for i := 0; i < len(emails); i += chunk {
			jobs <- workers.DeliveryJob{EditionID: id, Recipients: emails[i:min(i+chunk, len(emails))]}
		}
		close(jobs)
		b.StartTimer()
		var wg sync.WaitGroup
		for range parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					if err := send.Run(ctx, j); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		c, err := a.Store().Counts(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if c["sent"] != int64(len(emails)) {
			b.Fatalf("sent %d of %d", c["sent"], len(emails))
		}
		b.StartTimer()
	}
	b.StopTimer()
	reportRate(b, b.N*len(emails))
}

package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/sesfake"
	"newsletter/workers"
)

// The delivery-guarantee fault tests (issue 11). Their sizes keep each
// under a minute on a loaded 2-core machine; NEWSLETTER_FAULT_FULL=1 runs
// them at the sizes (20,000 recipients) and also asserts the
// issue's time bounds, which depend on the machine keeping up.

func faultFull() bool { return os.Getenv("NEWSLETTER_FAULT_FULL") == "1" }

func faultSize(small, full int) int {
	if faultFull() {
		return full
	}
	return small
}

// settleOrder waits for the edition to settle and returns when that was.
func (f *faultEnv) settledAt(id string) time.Time {
	f.t.Helper()
	f.eventually("edition has no queued or sending deliveries", patience, func() bool {
		c := f.counts(id)
		return c["total"] > 0 && c["queued"]+c["sending"] == 0
	})
	return time.Now()
}

// (a) Three workers, SES injecting 5xx, throttling and 20 ms latency, one
// worker kill -9'ed every 5-8 s and restarted under its name. Nobody gets
// two emails; each recipient is sent exactly once or unknown; unknown are
// no more than the killed workers' SES calls in flight at the kills.
func TestFaultKillLoopUnknownBoundedByInFlight(t *testing.T) {
	n := faultSize(5000, 20000)
	f := newFaultEnvWith(t, 0, sesfake.Faults{Latency: 20 * time.Millisecond, ErrorRate: 0.05, ThrottleRate: 0.05}, sesfake.Options{}, "")
	f.Rate = float64(faultSize(300, 500)) // long enough for several kills
	recipients := f.subscribe("partners", n)
	id := f.createEdition()
	names := []string{"w1", "w2", "w3"}
	ws := map[string]*workerProc{}
	for _, nm := range names {
		ws[nm] = f.startWorker(nm)
	}
	for _, w := range ws {
		f.waitRunning(w)
	}
	f.publish(id, "partners")

	kills, inFlightAtKills := 0, 0
	var lastKill time.Time
	for f.SES.Count() < n*85/100 {
		// 5-8 s between kills; the loop also ends when sending is done.
		next := time.Now().Add(5*time.Second + time.Duration(rand.Int64N(int64(3*time.Second))))
		for time.Now().Before(next) && f.SES.Count() < n*85/100 {
			f.checkAlive()
			time.Sleep(20 * time.Millisecond)
		}
		if f.SES.Count() >= n*85/100 {
			break
		}
		nm := names[kills%len(names)]
		atSES := f.sendsInFlight(nm)
		ws[nm].kill(t)
		lastKill = time.Now()
		kills++
		// In flight: claimed for a call whose outcome is not recorded (on
		// its way to SES, at SES, or answered); the endpoint sees only
		// those that reached it.
		inFlight := f.claimsHeld(id, nm)
		inFlightAtKills += inFlight
		t.Logf("kill %d: %s with %d recipients of SES calls in flight (%d of them at the endpoint); SES accepted %d", kills, nm, inFlight, atSES, f.SES.Count())
		ws[nm] = f.startWorker(nm)
		f.waitRunning(ws[nm])
	}
	settled := f.settledAt(id)
	f.waitSettled(id, patience)
	l := f.ledger(id)
	states := l.check(t, recipients)
	for st, k := range states {
		if st != newsletter.DeliverySent && st != newsletter.DeliveryUnknown {
			t.Errorf("%d deliveries %s: each must be sent exactly once or unknown", k, st)
		}
	}
	unknown := states[newsletter.DeliveryUnknown]
	if unknown > inFlightAtKills {
		t.Errorf("%d deliveries unknown, but only %d recipients of SES calls were in flight at the %d kills", unknown, inFlightAtKills, kills)
	}
	after := time.Duration(0)
	if kills > 0 {
		after = settled.Sub(lastKill)
		if faultFull() && after > 45*time.Second {
			t.Errorf("settled %s after the last kill, want within 45 s", after.Round(time.Millisecond))
		}
	}
	t.Logf("FIGURES kill-loop: %d recipients, %d kills, %d recipients of SES calls in flight at the kills, unknown %d, sent %d, SES accepted %d (answers by status %v), settled %s after the last kill",
		n, kills, inFlightAtKills, unknown, states[newsletter.DeliverySent], f.SES.Count(), f.sendStatus(), after.Round(time.Millisecond))
}

// redisAOF is a redis-server of the test's own, with AOF and appendfsync
// always, that can be killed with -9 and started again on the same port.
type redisAOF struct {
	t    *testing.T
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedisAOF(t *testing.T) *redisAOF {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is not on the PATH: install it (the tests never use a mock)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &redisAOF{t: t, dir: t.TempDir(), port: l.Addr().(*net.TCPAddr).Port}
	l.Close()
	r.start()
	t.Cleanup(func() { r.kill() })
	return r
}

func (r *redisAOF) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisAOF) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction")
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r.done = make(chan struct{})
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(r.cmd, r.done)
	opt, _ := redis.ParseURL(r.url())
	c := redis.NewClient(opt)
	defer c.Close()
	deadline := time.Now().Add(patience)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			r.t.Fatal("the test's redis-server does not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisAOF) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// (b) Redis is kill -9'ed in the middle of a send and started again from
// its AOF: the send completes with no duplicate and nothing unknown.
func TestFaultRedisRestartMidSend(t *testing.T) {
	n := faultSize(3000, 20000)
	rs := startRedisAOF(t)
	f := newFaultEnvWith(t, 0, sesfake.Faults{Latency: 20 * time.Millisecond}, sesfake.Options{}, rs.url())
	f.Rate = float64(faultSize(600, 2000))
	recipients := f.subscribe("partners", n)
	id := f.createEdition()
	w1, w2, w3 := f.startWorker("w1"), f.startWorker("w2"), f.startWorker("w3")
	f.waitRunning(w1, w2, w3)
	f.publish(id, "partners")
	f.eventually("SES accepted a third", patience, func() bool { return f.SES.Count() >= n/3 })
	rs.kill()
	atKill := f.SES.Count()
	// The outage lasts long enough to outlast the client's own retries
	// (a fault's duration, not a wait for something to happen).
	time.Sleep(3 * time.Second)
	rs.start()
	f.waitSettled(id, patience)
	l := f.ledger(id)
	states := l.check(t, recipients)
	if states[newsletter.DeliveryUnknown] != 0 || states[newsletter.DeliverySent] != n {
		t.Errorf("after a Redis restart: states %v, want all %d sent and none unknown", states, n)
	}
	t.Logf("FIGURES redis-restart: %d recipients, Redis killed at %d accepted; SES accepted %d; states %v", n, atKill, f.SES.Count(), states)
}

// (c) 5 % of SES's replies are lost after it accepted the email, and SES's
// Send events flow back: once they are applied nothing is unknown, and
// resend-unknown sends nothing that SES had accepted.
func TestFaultLostRepliesSettledBySendEvents(t *testing.T) {
	n := faultSize(3000, 20000)
	var f *faultEnv
	notify := func(ctx context.Context, ev []byte) error {
		return app.EventSink{App: f.App}.Enqueue(ctx, nil, ev)
	}
	f = newFaultEnvWith(t, 0, sesfake.Faults{Latency: 20 * time.Millisecond, LoseReplyEvery: 20} /* 5 % of the calls */, sesfake.Options{EmitSend: true, Notify: notify}, "")
	f.Env = append(f.Env, "NEWSLETTER_SES_CONFIGURATION_SET=newsletter-events")
	f.App.Cfg.SendEvents, f.App.Cfg.UnknownGrace = true, 15*time.Minute
	recipients := f.subscribe("partners", n)
	id := f.createEdition()
	w1, w2 := f.startWorker("w1"), f.startWorker("w2")
	f.waitRunning(w1, w2)
	f.publish(id, "partners")
	f.settledAt(id)
	f.SES.Wait() // every Send event handed to the stream
	f.eventually("SES events applied", patience, func() bool {
		why, _ := pipelineBusy(context.Background(), t, f.App)
		return why == ""
	})
	accepted := f.SES.Count()
	st, err := f.App.EditionStatus(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.App.ResendUnknownOpts(context.Background(), id, false)
	if err != nil {
		t.Fatal(err)
	}
	f.waitSettled(id, patience)
	l := f.ledger(id)
	states := l.check(t, recipients)
	if states[newsletter.DeliveryUnknown] != 0 || st.UnknownOpen != 0 {
		t.Errorf("%d unknown after the Send events (status unknown_open %d)", states[newsletter.DeliveryUnknown], st.UnknownOpen)
	}
	if res.Queued != 0 || f.SES.Count() != accepted {
		t.Errorf("resend-unknown queued %d and SES accepted %d more", res.Queued, f.SES.Count()-accepted)
	}
	if lost := f.SES.LostReplies(); lost == 0 || st.UnknownResolved > int64(lost) {
		t.Errorf("%d replies lost, %d unknown resolved: the fault was not exercised or resolved more than were lost", lost, st.UnknownResolved)
	}
	t.Logf("FIGURES lost-replies: %d recipients, %d replies lost after acceptance, status state %s, unknown_resolved %d, unknown_open %d; resend-unknown queued %d (%s); SES accepted %d",
		n, f.SES.LostReplies(), st.State, st.UnknownResolved, st.UnknownOpen, res.Queued, res.Message, f.SES.Count())
}

// (d) A rate of 200/s over three processes: the busiest one-second window
// and the average, from the endpoint's accept times.
func TestFaultRateAcrossProcesses(t *testing.T) {
	n := faultSize(4000, 20000)
	const limit = 200.0
	f := newFaultEnvWith(t, 0, sesfake.Faults{Latency: 20 * time.Millisecond}, sesfake.Options{}, "")
	f.Rate = limit
	recipients := f.subscribe("partners", n)
	id := f.createEdition()
	w1, w2, w3 := f.startWorker("w1"), f.startWorker("w2"), f.startWorker("w3")
	f.waitRunning(w1, w2, w3)
	f.publish(id, "partners")
	f.waitSettled(id, patience)
	l := f.ledger(id)
	l.check(t, recipients)
	var at []time.Time
	for _, m := range f.SES.Messages() {
		at = append(at, m.ReceivedAt)
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	busiest, j := 0, 0
	for i := range at { // every window [at[j], at[j]+1s) that starts at an accept
		for j < len(at) && at[j].Sub(at[i]) < time.Second {
			j++
		}
		busiest = max(busiest, j-i)
	}
	// The average while there is work: the middle 80 % of the accepts,
	// without the start (workers taking their first jobs) and the drain
	// (the last jobs finishing one by one).
	lo, hi := len(at)/10, len(at)-1-len(at)/10
	span := at[hi].Sub(at[lo]).Seconds()
	avg := float64(hi-lo) / span
	// Like the average, the endpoint's busiest window also measures how
	// the machine schedules calls after their grant (a loaded machine holds
	// some back and lets them go together), so it is asserted at full size
	// (NEWSLETTER_FAULT_FULL=1, a quiet run); internal/ratelimit checks the
	// grants themselves always.
	if faultFull() && float64(busiest) > limit*1.05 {
		t.Errorf("busiest one-second window had %d emails, limit %v (+5 %%)", busiest, limit)
	}
	// Editions get the rate less the 1 % held for service emails
	// (confirmations, fresh links), which this test does not send.
	share := limit * 0.99
	// The average is asserted at full size only (NEWSLETTER_FAULT_FULL=1),
	// like the settle and takeover times: it depends on the machine keeping
	// up.
	if faultFull() && (avg < share*0.97 || avg > share*1.03) {
		t.Errorf("average %.1f/s, want within 3 %% of the editions' %v/s", avg, share)
	}
	t.Logf("FIGURES rate: %d recipients at %v/s over 3 processes: busiest 1-s window %d, average %.1f/s over %.1f s", n, limit, busiest, avg, span)
}

// (e) SIGTERM to a worker mid-send: it exits within its bound, leaves
// nothing pending for the claim idle time, its jobs are taken over, and
// nothing becomes unknown (calls in flight finish and are recorded).
func TestFaultSIGTERMHandsBack(t *testing.T) {
	n := faultSize(3000, 20000)
	f := newFaultEnvWith(t, 0, sesfake.Faults{Latency: 20 * time.Millisecond}, sesfake.Options{}, "")
	f.Rate = float64(faultSize(500, 1000))
	recipients := f.subscribe("partners", n)
	id := f.createEdition()
	w1, w2, w3 := f.startWorker("w1"), f.startWorker("w2"), f.startWorker("w3")
	f.waitRunning(w1, w2, w3)
	f.publish(id, "partners")
	f.eventually("SES accepted a third", patience, func() bool { return f.SES.Count() >= n/3 })
	inFlight := f.sendsInFlight("w1")
	w1.killed = true // its exit is expected
	termAt := time.Now()
	if err := w1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w1.done:
	case <-time.After(patience):
		t.Fatal("the worker did not exit after SIGTERM")
	}
	exitAfter := time.Since(termAt)
	if exitAfter > 30*time.Second {
		t.Errorf("exited %s after SIGTERM, bound 30 s", exitAfter.Round(time.Millisecond))
	}
	ctx := context.Background()
	rdb := f.App.Store().Client()
	stream := f.App.Store().Stream(workers.TopicDeliveries)
	// What the stopped worker still holds (read ahead, not started).
	held := func() (n int, notIdle int) {
		for i := range 4 {
			p, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: stream, Group: workers.HandlerSend, Start: "-", End: "+", Count: 1000,
				Consumer: fmt.Sprintf("%s-w1-send-%d", hostName(t), i)}).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range p {
				n++
				if x.Idle < 20*time.Second { // the default claim idle time
					notIdle++
				}
			}
		}
		return n, notIdle
	}
	heldAtExit, notIdle := held()
	if notIdle != 0 {
		t.Errorf("%d of the %d entries the stopped worker holds were not handed back: they wait for the claim idle time", notIdle, heldAtExit)
	}
	f.eventually("the stopped worker's jobs taken over", patience, func() bool { n, _ := held(); return n == 0 })
	takenOver := time.Since(termAt) - exitAfter
	if faultFull() && takenOver > 5*time.Second {
		t.Errorf("jobs taken over %s after the exit, want within 5 s", takenOver.Round(time.Millisecond))
	}
	f.waitSettled(id, patience)
	l := f.ledger(id)
	states := l.check(t, recipients)
	if states[newsletter.DeliveryUnknown] != 0 || states[newsletter.DeliverySent] != n {
		t.Errorf("after SIGTERM: states %v, want all %d sent and none unknown", states, n)
	}
	t.Logf("FIGURES sigterm: %d recipients; %d SES calls of the worker in flight at SIGTERM; exited after %s holding %d entries (%d not handed back); taken over by the others %s after the exit; states %v; stderr tail:\n%s",
		n, inFlight, exitAfter.Round(time.Millisecond), heldAtExit, notIdle, takenOver.Round(time.Millisecond), states, tail(w1.stderr.String(), 3))
}

func hostName(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

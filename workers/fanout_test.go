package workers_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"

	"newsletter"
	"newsletter/workers"
)

// Two lists share members and hold an unsubscribed and a suppressed address.
// The fan-out puts each member on the deliveries stream exactly once,
// whatever list and batch it was met in; the send step, which re-checks
// every address just before its SES call, skips the unsubscribed and the
// suppressed one with their reason and mails each of the others once.
func TestFanOutQueuesEachAddressOnceAcrossLists(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.list("bedrijven", "a@example.org", "b@example.org", "c@example.org", "gedeeld1@example.org", "gedeeld2@example.org", "weg@example.org", "stuit@example.org")
	e.list("onderwijs", "gedeeld1@example.org", "d@example.org", "gedeeld2@example.org", "weg@example.org", "stuit@example.org")
	if err := e.store.Unsubscribe(e.ctx, "weg@example.org", "", "test"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Suppress(e.ctx, "stuit@example.org", "bounce", "5.1.1 user unknown"); err != nil {
		t.Fatal(err)
	}
	ed := e.publish("bedrijven", "onderwijs")

	res, err := e.fan.Run(e.ctx, "run-1", e.publishedPayload(ed))
	if err != nil {
		t.Fatal(err)
	}
	mailable := []string{"a@example.org", "b@example.org", "c@example.org", "d@example.org", "gedeeld1@example.org", "gedeeld2@example.org"}
	members := slices.Sorted(slices.Values(append(slices.Clone(mailable), "stuit@example.org", "weg@example.org")))
	if res.Queued != len(members) || res.Seen != 4 {
		t.Errorf("result %+v, want the %d distinct members queued and the 4 of the second list seen", res, len(members))
	}

	jobs := e.jobs()
	if len(jobs) < 2 {
		t.Fatalf("%d jobs on the stream; with chunks of 2 there must be several", len(jobs))
	}
	for _, j := range jobs {
		if j.job.EditionID != ed.ID || len(j.job.Recipients) == 0 || len(j.job.Recipients) > e.fan.Chunk || j.job.Test || j.job.Kind != "" {
			t.Errorf("stream entry %s: %+v, want an edition job of 1..%d recipients", j.id, j.job, e.fan.Chunk)
		}
	}
	counts := queuedCount(jobs, ed.ID)
	for _, a := range members {
		if counts[a] != 1 {
			t.Errorf("%s is in %d jobs on the stream, want exactly 1", a, counts[a])
		}
	}
	if got := slices.Sorted(maps.Keys(counts)); !slices.Equal(got, members) {
		t.Errorf("addresses on the stream %v, want %v", got, members)
	}
	n, err := e.store.Counts(e.ctx, ed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n["total"] != 8 || n["queued"] != 8 {
		t.Errorf("counts %v, want 8 deliveries, all queued", n)
	}

	// Sending the stream's jobs mails each deliverable address once and
	// skips the others, with their reason.
	e.runJobs(jobs)
	if got := e.sender.to(); !slices.Equal(got, mailable) {
		t.Errorf("SES got %v, want %v", got, mailable)
	}
	for addr, why := range map[string]string{"weg@example.org": "unsubscribed", "stuit@example.org": "suppressed"} {
		d := e.delivery(ed.ID, addr)
		if d.State != newsletter.DeliverySkipped || d.Reason != why {
			t.Errorf("%s: %s (%q), want skipped (%q)", addr, d.State, d.Reason, why)
		}
	}
	if n, err = e.store.Counts(e.ctx, ed.ID); err != nil {
		t.Fatal(err)
	}
	if n["total"] != 8 || n["sent"] != 6 || n["skipped"] != 2 {
		t.Errorf("counts after sending %v, want 8 deliveries: 6 sent, 2 skipped", n)
	}
}

// The same published message handled twice (its ack was lost) adds no job
// to the stream, and neither does a second publish request to the same
// lists.
func TestFanOutTwiceAddsNoJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.list("bedrijven", "a@example.org", "b@example.org", "c@example.org")
	ed := e.publish("bedrijven")
	msg := e.publishedMessage(ed)
	if err := e.fan.Handle(msg); err != nil {
		t.Fatal(err)
	}
	first := e.jobs()
	if got := queuedCount(first, ed.ID); len(got) != 3 {
		t.Fatalf("first fan-out queued %v, want the 3 members", got)
	}

	if err := e.fan.Handle(msg); err != nil {
		t.Fatalf("redelivered fan-out: %v", err)
	}
	if again := e.jobs(); len(again) != len(first) {
		t.Errorf("redelivered fan-out message: %d stream entries, want %d (no new job)", len(again), len(first))
	}

	before := len(e.jobs())
	res, err := e.fan.Run(e.ctx, "another-request", e.publishedPayload(ed))
	if err != nil {
		t.Fatal(err)
	}
	if after := len(e.jobs()); after != before || res.Queued != 0 || res.Seen != 3 {
		t.Errorf("second publish request to the same list: %d new stream entries, result %+v; want none, all 3 seen", after-before, res)
	}
}

// Members who have not confirmed a double opt-in list are not members yet:
// publishing an edition to the list never queues, let alone mails, them.
func TestDoubleOptInImportNeverMailsUnconfirmed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.store.CreateList(e.ctx, newsletter.List{Slug: "nieuw", Name: "Nieuw", DoubleOptIn: true}); err != nil {
		t.Fatal(err)
	}
	res := e.importInto(newsletter.ImportOptions{List: "nieuw", DoubleOptIn: true}, "ja@example.org", "later@example.org", "nooit@example.org")
	for i, r := range res {
		if !r.Confirm {
			t.Fatalf("row %d: %+v, want an unconfirmed membership that asks to confirm", i, r)
		}
	}
	// One of them follows the confirmation link.
	if ok, err := e.store.Confirm(e.ctx, "ja@example.org", "nieuw"); err != nil || !ok {
		t.Fatalf("confirm: %v, %v", ok, err)
	}
	ed := e.publish("nieuw")
	e.fanOut(ed)

	jobs := e.jobs()
	counts := queuedCount(jobs, ed.ID)
	if len(counts) != 1 || counts["ja@example.org"] != 1 {
		t.Errorf("jobs on the stream are for %v, want only the confirmed ja@example.org", counts)
	}
	for _, a := range []string{"later@example.org", "nooit@example.org"} {
		if d, err := e.store.GetDelivery(e.ctx, ed.ID, a); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
			t.Errorf("unconfirmed %s has a delivery %+v (%v), want none", a, d, err)
		}
	}
	e.runJobs(jobs)
	if got := e.sender.to(); !slices.Equal(got, []string{"ja@example.org"}) {
		t.Errorf("SES got %v, want only ja@example.org", got)
	}
}

// failingCreate is the store with Create failing once, after a number of
// calls: the fan-out's handler deadline passing mid-list.
type failingCreate struct {
	workers.Store
	after   int
	calls   int
	scanned []string // every address the scans handed out
}

func (s *failingCreate) Create(ctx context.Context, id string, ts []newsletter.Transition) ([]newsletter.TransitionResult, error) {
	s.calls++
	if s.calls == s.after+1 {
		return nil, context.DeadlineExceeded
	}
	return s.Store.Create(ctx, id, ts)
}

func (s *failingCreate) ScanMembersFrom(ctx context.Context, list string, cursor uint64, batch int, fn func([]string, uint64) error) error {
	return s.Store.ScanMembersFrom(ctx, list, cursor, batch, func(emails []string, next uint64) error {
		s.scanned = append(s.scanned, emails...)
		return fn(emails, next)
	})
}

// A fan-out that stops part-way through a list (its handler's deadline)
// goes on from where it got to when the message comes again: it does not
// scan the list from the start, and every member ends up queued and on
// the stream, across both lists.
func TestFanOutResumesWhereItStopped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var big []string
	for i := range 900 { // more than Redis keeps in a listpack: SSCAN pages
		big = append(big, fmt.Sprintf("lid%03d@example.org", i))
	}
	e.list("groot", big...)
	e.list("klein", "x@example.org", "y@example.org")
	ed := e.publish("groot", "klein")
	s := &failingCreate{Store: e.store, after: 3}
	fan := &workers.FanOut{Store: s, Batch: 100, Chunk: 50, Logger: e.fan.Logger}
	if _, err := fan.Run(e.ctx, "run-1", e.publishedPayload(ed)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first attempt: %v, want it stopped by the deadline", err)
	}
	before := len(s.scanned)
	if before >= len(big) {
		t.Fatalf("the first attempt scanned %d addresses; the test needs it to stop part-way", before)
	}
	if _, err := fan.Run(e.ctx, "run-1", e.publishedPayload(ed)); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	again := map[string]int{}
	for _, a := range s.scanned {
		again[a]++
	}
	repeated := 0
	for _, n := range again {
		repeated += n - 1
	}
	// Only the batch that failed is met twice.
	if repeated > 2*fan.Batch {
		t.Errorf("the second attempt scanned %d addresses a second time; want at most the interrupted batch (≤ %d)", repeated, 2*fan.Batch)
	}
	counts := queuedCount(e.jobs(), ed.ID)
	for _, a := range append(slices.Clone(big), "x@example.org", "y@example.org") {
		if counts[a] < 1 {
			t.Errorf("%s is on no job after the resumed fan-out", a)
		}
	}
	n, err := e.store.Counts(e.ctx, ed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n["total"] != int64(len(big)+2) || n["queued"] != n["total"] {
		t.Errorf("counts %v, want %d deliveries, all queued", n, len(big)+2)
	}
	if _, err := fan.Run(e.ctx, "run-1", e.publishedPayload(ed)); err != nil || len(s.scanned) != len(big)+2+repeated {
		t.Errorf("a third delivery of the finished fan-out: %v, scanned %d more", err, len(s.scanned)-len(big)-2-repeated)
	}
}

// When three quarters of the handler's time are gone, the fan-out stops at
// the end of a batch and puts the same request (same id) back on the
// editions stream instead of running into the deadline; handling that one
// finishes the lists from where the first stopped.
func TestFanOutHandsOnBeforeItsDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var big []string
	for i := range 600 {
		big = append(big, fmt.Sprintf("lid%03d@example.org", i))
	}
	e.list("groot", big...)
	ed := e.publish("groot")
	s := &failingCreate{Store: e.store, after: -1}
	start := time.Now()
	clock := start
	fan := &workers.FanOut{Store: s, Batch: 100, Chunk: 50, Logger: e.fan.Logger}
	msg := e.publishedMessage(ed)
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(time.Hour))
	defer cancel()
	msg.SetContext(ctx)
	// The clock is past the hand-on time from the first batch on.
	fan.Now = func() time.Time {
		defer func() { clock = start.Add(50 * time.Minute) }()
		return clock
	}
	if err := fan.Handle(msg); err != nil {
		t.Fatalf("fan-out: %v, want it handed on", err)
	}
	if len(s.scanned) >= len(big) {
		t.Fatalf("scanned %d of %d members before handing on; want it to stop after a batch", len(s.scanned), len(big))
	}
	xs, err := e.store.Client().XRange(e.ctx, e.store.Stream(workers.TopicEditionsPublished), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(xs) != 1 {
		t.Fatalf("%d entries on the editions stream, want the handed-on request", len(xs))
	}
	again, err := redisstream.DefaultMarshallerUnmarshaller{}.Unmarshal(xs[0].Values)
	if err != nil || again.UUID != msg.UUID || string(again.Payload) != string(msg.Payload) {
		t.Fatalf("handed-on entry %v (%v), want the same request %s", again, err, msg.UUID)
	}
	first := len(s.scanned)
	fan.Now = nil
	if err := fan.Handle(again); err != nil {
		t.Fatalf("the handed-on request: %v", err)
	}
	if got := len(s.scanned) - first; got+first > len(big)+fan.Batch {
		t.Errorf("the second call scanned %d more after %d; want the rest of the list only", got, first)
	}
	counts := queuedCount(e.jobs(), ed.ID)
	for _, a := range big {
		if counts[a] != 1 {
			t.Errorf("%s is in %d jobs, want 1", a, counts[a])
		}
	}
}

// lostClaimReply makes the first claim and then loses its reply, as when
// Redis goes away during the round trip.
type lostClaimReply struct {
	workers.Store
	calls int
}

func (s *lostClaimReply) Claim(ctx context.Context, id string, lists []string, names bool, owner string, lease time.Duration, emails []string) ([]newsletter.Claim, error) {
	s.calls++
	cl, err := s.Store.Claim(ctx, id, lists, names, owner, lease, emails)
	if s.calls == 1 && err == nil {
		return nil, errors.New("redis: read tcp 127.0.0.1:6379: connection reset by peer")
	}
	return cl, err
}

// A claim whose reply was lost is asked again by the same process, which
// finds the claims under its own name and hands them back (it knows it sent
// nothing for them): nobody is left sending until a lease runs out and
// another worker has to call them unknown.
func TestLostClaimReplyIsTakenBackByTheSameProcess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.list("bedrijven", "a@example.org", "b@example.org")
	ed := e.publish("bedrijven")
	e.fanOut(ed)
	s := &lostClaimReply{Store: e.store}
	e.send.Store = s
	e.send.Lease = time.Hour
	for _, j := range e.jobs() {
		if err := e.send.Handle(j.msg); err != nil {
			t.Fatalf("send job: %v", err)
		}
	}
	if s.calls < 2 {
		t.Fatalf("%d claims, want the lost one asked again", s.calls)
	}
	for _, a := range []string{"a@example.org", "b@example.org"} {
		if d := e.delivery(ed.ID, a); d.State != newsletter.DeliveryQueued && d.State != newsletter.DeliverySent {
			t.Errorf("%s: %s (%q), want it handed back (queued) or sent, not left to a lease", a, d.State, d.Reason)
		}
	}
	if got := e.sender.to(); len(got) != 0 {
		t.Errorf("SES got %v for claims whose reply was lost; the retry sends them", got)
	}
}

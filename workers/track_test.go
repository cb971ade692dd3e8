package workers_test

import (
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"newsletter"
	"newsletter/workers"
)

// clock is a settable clock shared by the store and Track.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sendTo publishes an edition to a new list of emails and sends it; it
// returns the edition.
func (e *env) sendTo(slug string, emails ...string) *newsletter.Edition {
	e.t.Helper()
	e.list(slug, emails...)
	ed := e.publish(slug)
	e.fanOut(ed)
	e.runJobs(e.jobs())
	for _, a := range emails {
		if d := e.delivery(ed.ID, a); d.State != newsletter.DeliverySent {
			e.t.Fatalf("%s: %s, want sent", a, d.State)
		}
	}
	return ed
}

func (e *env) suppressed(email string) (reason string, ok bool) {
	e.t.Helper()
	sp, err := e.store.Suppression(e.ctx, email)
	switch {
	case newsletter.ErrorCode(err) == newsletter.ENOTFOUND:
		return "", false
	case err != nil:
		e.t.Fatal(err)
	}
	return sp.Reason, true
}

// With a limit of 3, an address is suppressed on its third transient bounce
// within the window, not before; bounces that fell out of the window do
// not count.
func TestSoftBounceSuppressesOnThirdWithinWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	clk := &clock{t: time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)}
	e.store.Now = clk.now
	e.track.Now = clk.now
	e.track.Rules.SoftBounceLimit = 3
	e.track.Rules.SoftBounceWindow = time.Hour
	ed := e.sendTo("bedrijven", "vol@example.org", "soms@example.org")
	vol, soms := e.sender.last(t, "vol@example.org"), e.sender.last(t, "soms@example.org")

	bounce := func(sent sentEmail) {
		t.Helper()
		if err := e.track.Handle(transientBounce(t, sent, clk.now())); err != nil {
			t.Fatalf("track bounce of %s: %v", sent.To, err)
		}
	}
	notYet := func(email, when string) {
		t.Helper()
		if reason, ok := e.suppressed(email); ok {
			t.Errorf("%s suppressed (%s) %s, want not yet", email, reason, when)
		}
		info, err := e.store.Deliverable(e.ctx, []string{email})
		if err != nil {
			t.Fatal(err)
		}
		if info[0].Why != "" {
			t.Errorf("%s not mailable (%s) %s", email, info[0].Why, when)
		}
	}

	bounce(vol)
	notYet(vol.To, "after 1 transient bounce")
	clk.advance(10 * time.Minute)
	bounce(vol)
	notYet(vol.To, "after 2 transient bounces")
	clk.advance(10 * time.Minute)
	bounce(vol)
	if reason, ok := e.suppressed(vol.To); !ok || reason != "soft-bounces" {
		t.Errorf("after the 3rd transient bounce within the hour: suppressed=%v (%q), want suppressed for soft-bounces", ok, reason)
	}
	if d := e.delivery(ed.ID, vol.To); d.State != newsletter.DeliverySent {
		t.Errorf("a transient bounce changed the delivery to %s, want it still sent", d.State)
	}

	// Two bounces, then a quiet window: they no longer count.
	bounce(soms)
	clk.advance(10 * time.Minute)
	bounce(soms)
	clk.advance(2 * time.Hour)
	bounce(soms)
	notYet(soms.To, "after a 3rd transient bounce, two hours after the others")
	clk.advance(10 * time.Minute)
	bounce(soms)
	notYet(soms.To, "after 2 transient bounces within the window")
	clk.advance(10 * time.Minute)
	bounce(soms)
	if reason, ok := e.suppressed(soms.To); !ok || reason != "soft-bounces" {
		t.Errorf("after 3 transient bounces within the window: suppressed=%v (%q), want suppressed for soft-bounces", ok, reason)
	}
}

// A complaint from a blocklisted address leaves it blocklisted (the
// stronger no), not merely unsubscribed; it is also suppressed.
func TestComplaintKeepsBlocklisted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.track.Rules.ComplaintUnsubscribes = true
	ed := e.sendTo("bedrijven", "blok@example.org", "klacht@example.org")
	if err := e.store.Block(e.ctx, "blok@example.org", "abuse reported by the partner"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"blok@example.org", "klacht@example.org"} {
		if err := e.track.Handle(complaint(t, e.sender.last(t, a), time.Now())); err != nil {
			t.Fatalf("track complaint of %s: %v", a, err)
		}
	}

	sub, _, err := e.store.GetSubscriber(e.ctx, "blok@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != newsletter.SubscriberBlocklisted {
		t.Errorf("blocklisted complainer is %s, want still blocklisted", sub.Status)
	}
	if reason, ok := e.suppressed("blok@example.org"); !ok || reason != "complaint" {
		t.Errorf("blocklisted complainer suppressed=%v (%q), want suppressed for the complaint", ok, reason)
	}
	// The rule itself works: an ordinary complainer is unsubscribed.
	sub, _, err = e.store.GetSubscriber(e.ctx, "klacht@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != newsletter.SubscriberUnsubscribed {
		t.Errorf("complainer is %s, want unsubscribed", sub.Status)
	}
	for _, a := range []string{"blok@example.org", "klacht@example.org"} {
		if d := e.delivery(ed.ID, a); d.State != newsletter.DeliveryComplained {
			t.Errorf("%s: %s, want complained", a, d.State)
		}
	}
}

// An event whose SES message id is not indexed yet is retried only while it
// is fresh by Track's clock; an old one is not ours and is dropped.
func TestTrackRetriesOnlyFreshUnindexedEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC)
	e.track.Now = func() time.Time { return now }
	unknown := sentEmail{MessageID: "niet-van-ons", To: "iemand@example.org"}
	delivery := func(at time.Time) error {
		return e.track.Handle(sesEvent(t, map[string]any{"eventType": "Delivery", "mail": mailObject(unknown, at),
			"delivery": map[string]any{"recipients": []string{unknown.To}, "timestamp": at.Format(time.RFC3339Nano)}}))
	}
	if err := delivery(now.Add(-30 * time.Second)); err == nil || newsletter.IsPermanent(err) {
		t.Errorf("fresh event with an unindexed message id: %v, want a passing error so it is retried", err)
	}
	if err := delivery(now.Add(-time.Hour)); err != nil {
		t.Errorf("hour-old event with an unknown message id: %v, want it dropped without error", err)
	}
}

// SNS delivers at least once: one soft bounce applied several times counts
// once, with or without SES's feedbackId, and never suppresses on its own.
func TestOneSoftBounceAppliedTwiceCountsOnce(t *testing.T) {
	t.Parallel()
	for _, withID := range []bool{true, false} {
		e := newEnv(t)
		e.track.Rules.SoftBounceLimit = 3
		e.track.Rules.SoftBounceWindow = time.Hour
		e.sendTo("bedrijven", "vol@example.org")
		sent := e.sender.last(t, "vol@example.org")
		at := time.Now()
		msg := transientBounce(t, sent, at)
		if withID {
			msg = transientBounceWithID(t, sent, at, "feedback-0001")
		}
		for range 4 {
			if err := e.track.Handle(msg.Copy()); err != nil {
				t.Fatal(err)
			}
		}
		if reason, ok := e.suppressed("vol@example.org"); ok {
			t.Errorf("feedbackId %v: one soft bounce applied 4 times suppressed the address (%s)", withID, reason)
		}
	}
}

func transientBounceWithID(t *testing.T, sent sentEmail, at time.Time, id string) *message.Message {
	return sesEvent(t, map[string]any{"eventType": "Bounce", "mail": mailObject(sent, at),
		"bounce": map[string]any{"bounceType": "Transient", "bounceSubType": "MailboxFull", "timestamp": at.UTC().Format(time.RFC3339Nano), "feedbackId": id,
			"bouncedRecipients": []map[string]any{{"emailAddress": sent.To, "action": "failed", "status": "4.2.2"}}}})
}

// An identity notification carries no tags: its message id and recipient
// find the edition that sent it, and the delivery moves; the same id for
// another recipient moves nothing.
func TestUntaggedNotificationFindsItsDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ed := e.sendTo("scholen", "weg@example.org", "blijft@example.org")
	sent := e.sender.last(t, "weg@example.org")
	untagged := sentEmail{MessageID: sent.MessageID, To: sent.To}
	bounce := func(to string) error {
		at := time.Now()
		return e.track.Handle(sesEvent(t, map[string]any{"notificationType": "Bounce", "mail": mailObject(untagged, at),
			"bounce": map[string]any{"bounceType": "Permanent", "bounceSubType": "General", "timestamp": at.UTC().Format(time.RFC3339Nano),
				"bouncedRecipients": []map[string]any{{"emailAddress": to, "action": "failed", "status": "5.1.1"}}}}))
	}
	if err := bounce("blijft@example.org"); err == nil || newsletter.IsPermanent(err) {
		t.Errorf("fresh untagged bounce of %s under another recipient's message id: %v, want a passing error (not matched yet)", sent.MessageID, err)
	}
	if d := e.delivery(ed.ID, "blijft@example.org"); d.State != newsletter.DeliverySent {
		t.Errorf("blijft@example.org: %s, want sent: the message id was not sent to it", d.State)
	}
	if err := bounce("weg@example.org"); err != nil {
		t.Fatal(err)
	}
	if d := e.delivery(ed.ID, "weg@example.org"); d.State != newsletter.DeliveryBounced {
		t.Errorf("weg@example.org: %s, want bounced, matched by message id and recipient", d.State)
	}
}

// Every email of an edition carries the tags its SES events are matched
// by: the edition, the kind and the recipient's tag, whichever API sent it.
func TestEditionEmailsCarryRecipientTags(t *testing.T) {
	forEachAPI(t, func(t *testing.T, e *env) {
		emails := []string{"Een@Example.org", "twee@example.org", "drie@example.org"}
		ed := e.sendTo("tags", emails...)
		for _, a := range emails {
			got := e.sender.last(t, a).Tags
			want := map[string]string{"edition_id": ed.ID, "kind": "newsletter", workers.TagRecipient: workers.RecipientTag(a)}
			if !maps.Equal(got, want) {
				t.Errorf("%s: tags %v, want %v", a, got, want)
			}
		}
	})
}

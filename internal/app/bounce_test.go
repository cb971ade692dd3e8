package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/ses"
	"newsletter/internal/sesevent"
	"newsletter/workers"
)

// The whole bounce loop through dev-style wiring: the embedded SES endpoint
// imitates the mailbox simulator and posts signed SNS notifications to the
// real webhook. After one edition the bounce address is suppressed and the
// complaint address unsubscribed everywhere; a second edition skips both.
func TestBounceAndComplaintLoop(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.App
	for _, slug := range []string{"bedrijven", "onderwijs"} {
		if err := a.Store().CreateList(ctx, newsletter.List{Slug: slug, Name: slug}); err != nil {
			t.Fatal(err)
		}
	}
	csv := "email;naam\nsuccess@simulator.amazonses.com;OK\nbounce@simulator.amazonses.com;Bounce\ncomplaint@simulator.amazonses.com;Klacht\njan@example.org;Jan\n"
	for _, l := range []string{"bedrijven", "onderwijs"} {
		if _, err := a.Import(ctx, l, strings.NewReader(csv), newsletter.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	publish := func(subject string) string {
		e, _, err := a.CreateEdition(ctx, "e.md", []byte("---\nsubject: "+subject+"\n---\nHallo allemaal.\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Publish(ctx, e.ID, []string{"bedrijven"}, app.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
		h.waitSent(e.ID)
		return e.ID
	}
	first := publish("Eerste editie")

	// Events arrive asynchronously through SNS → webhook → stream → track.
	var st *app.Status
	poll(t, "bounce and complaint of the first edition applied", func() (bool, string) {
		var err error
		if st, err = a.EditionStatus(ctx, first); err != nil {
			t.Fatal(err)
		}
		return st.Counts["bounced"] == 1 && st.Counts["complained"] == 1 && st.Counts["delivered"] >= 1, fmt.Sprint(st.Counts)
	})
	if st.Rates.BounceRate != 0.25 || st.Rates.ComplaintRate != 0.25 {
		t.Errorf("rates = %+v, want 25%% bounce and 25%% complaint of 4 accepted", st.Rates)
	}
	if got := st.PerList["bedrijven"]["bounced"]; got != 1 {
		t.Errorf("per-list bounced = %d, want 1 (%v)", got, st.PerList)
	}
	sp, err := a.Store().Suppression(ctx, "bounce@simulator.amazonses.com")
	if err != nil || sp.Reason != "bounce" {
		t.Errorf("bounce address suppression = %+v, %v", sp, err)
	}
	sub, _, err := a.Store().GetSubscriber(ctx, "complaint@simulator.amazonses.com")
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != newsletter.SubscriberUnsubscribed {
		t.Errorf("complainer status %s, want unsubscribed everywhere", sub.Status)
	}
	if _, err := a.Store().Suppression(ctx, "complaint@simulator.amazonses.com"); err != nil {
		t.Errorf("complainer not suppressed: %v", err)
	}
	if d, err := a.Store().GetDelivery(ctx, first, "bounce@simulator.amazonses.com"); err != nil || d.State != newsletter.DeliveryBounced || !strings.Contains(d.Reason, "Permanent") {
		t.Errorf("bounce delivery = %+v, %v", d, err)
	}

	// A second edition, to both lists, skips both.
	before := h.SES.Count()
	second := publish("Tweede editie")
	h.waitIdle()
	for _, addr := range []string{"bounce@simulator.amazonses.com", "complaint@simulator.amazonses.com"} {
		d, err := a.Store().GetDelivery(ctx, second, addr)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != newsletter.DeliverySkipped {
			t.Errorf("%s in second edition: %s, want skipped", addr, d.State)
		}
	}
	if sent := h.SES.Count() - before; sent != 2 {
		t.Errorf("second edition sent %d emails, want 2 (success@ and jan@)", sent)
	}
	for _, m := range h.SES.Messages()[before:] {
		if strings.HasPrefix(m.To[0], "bounce@") || strings.HasPrefix(m.To[0], "complaint@") {
			t.Errorf("second edition mailed %s", m.To[0])
		}
	}
}

// Suppressions flow both ways between us and the SES account-level list.
func TestAccountSuppressionSync(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	acct := &ses.AccountSuppression{Client: h.SESAPI}
	// SES suppressed an address on its own: the pull copies it here.
	if _, err := h.SESAPI.PutSuppressedDestination(ctx, &sesv2.PutSuppressedDestinationInput{
		EmailAddress: aws.String("dood@example.org"), Reason: types.SuppressionListReasonBounce}); err != nil {
		t.Fatal(err)
	}
	n, err := h.App.PullAccountSuppressions(ctx, acct)
	if err != nil || n != 1 {
		t.Fatalf("pull: %d, %v; want 1 new", n, err)
	}
	sp, err := h.App.Store().Suppression(ctx, "dood@example.org")
	if err != nil || !strings.HasPrefix(sp.Reason, "ses-account") {
		t.Errorf("pulled suppression = %+v, %v", sp, err)
	}
	if n, _ := h.App.PullAccountSuppressions(ctx, acct); n != 0 {
		t.Errorf("second pull added %d, want 0", n)
	}
	// A bounce tracked here is pushed to SES.
	tr := &workers.Track{Store: h.App.Store(), Rules: workers.TrackRules{SuppressPermanentBounce: true}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Account: acct}
	ev, err := sesevent.Parse([]byte(`{"eventType":"Bounce","mail":{"messageId":"m1","destination":["weg@example.org"]},"bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"weg@example.org"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Apply(ctx, ev); err != nil {
		t.Fatal(err)
	}
	got, err := h.SESAPI.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String("weg@example.org")})
	if err != nil || got.SuppressedDestination == nil {
		t.Fatalf("bounce not pushed to the SES account list: %v", err)
	}
	// An admin's unsuppress removes it there too.
	if err := acct.Delete(ctx, "weg@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.SESAPI.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String("weg@example.org")}); err == nil {
		t.Error("still on the SES account list after Delete")
	}
}

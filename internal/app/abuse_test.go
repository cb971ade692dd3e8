package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/workers"
)

// confirmJobs counts the confirmation emails queued (not yet sent or sent)
// on the deliveries stream for list.
func confirmJobs(t *testing.T, a *app.App, list string) int {
	t.Helper()
	n := 0
	xs, err := a.Store().Client().XRange(context.Background(), a.Store().Stream(workers.TopicDeliveries), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range xs {
		p, _ := x.Values["payload"].(string)
		if strings.Contains(p, `"kind":"confirm"`) && strings.Contains(p, `"list":"`+list+`"`) {
			n++
		}
	}
	return n
}

// Twenty posts of one address send one confirmation email, not twenty.
func TestSubscribeOneConfirmationPerCooldown(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *app.Config) { c.ConfirmCooldown = 24 * time.Hour })
	a := h.App
	ctx := context.Background()
	publicList(t, a, "nieuws", true)
	for range 20 {
		if err := a.Subscribe(ctx, "nieuws", "doelwit@example.org", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := confirmJobs(t, a, "nieuws"); n != 1 {
		t.Errorf("%d confirmation emails for 20 requests of one address, want 1", n)
	}
	// Another list, or another address, is asked again.
	publicList(t, a, "agenda", true)
	if err := a.Subscribe(ctx, "agenda", "doelwit@example.org", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if n := confirmJobs(t, a, "agenda"); n != 1 {
		t.Errorf("the other list: %d confirmation emails, want 1", n)
	}
}

// One client posting many addresses, or everyone together, is held to a
// quota: the requests beyond it create nothing and send nothing.
func TestSubscribeQuotas(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *app.Config) { c.SubscribeRatePerClient, c.SubscribeRate = 5, 8 })
	a := h.App
	ctx := context.Background()
	publicList(t, a, "nieuws", true)
	var refused int
	for i := range 7 {
		err := a.Subscribe(ctx, "nieuws", fmt.Sprintf("bom%d@example.org", i), "198.51.100.7")
		switch {
		case errors.Is(err, app.ErrTooManyRequests):
			refused++
		case err != nil:
			t.Fatal(err)
		}
	}
	if refused != 2 {
		t.Errorf("one client: %d of 7 requests refused, want 2 (quota 5)", refused)
	}
	if _, _, err := a.Store().GetSubscriber(ctx, "bom6@example.org"); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("a refused request created a record: %v", err)
	}
	// Other clients: 3 more fit in the overall quota of 8, then no more.
	refused = 0
	for i := range 5 {
		if err := a.Subscribe(ctx, "nieuws", fmt.Sprintf("ander%d@example.org", i), fmt.Sprintf("203.0.113.%d", i)); errors.Is(err, app.ErrTooManyRequests) {
			refused++
		}
	}
	if refused != 2 {
		t.Errorf("overall: %d of 5 refused, want 2 (quota 8, 5 used by the first client)", refused)
	}
}

// A robot that fills the hidden field gets the usual answer and nothing
// happens.
func TestSubscribeHoneypot(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	publicList(t, a, "nieuws", true)
	resp, body := postForm(t, &http.Client{}, h.HTTP.URL+"/subscribe", url.Values{"list": {"nieuws"}, "email": {"robot@example.org"}, "website": {"http://spam.example"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Bijna klaar") {
		t.Fatalf("honeypot answer: %d", resp.StatusCode)
	}
	if _, _, err := a.Store().GetSubscriber(context.Background(), "robot@example.org"); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("the honeypot request created a record: %v", err)
	}
	if n := confirmJobs(t, a, "nieuws"); n != 0 {
		t.Errorf("the honeypot request queued %d confirmation emails", n)
	}
}

// Requests from the public form that nobody confirms do not fill Redis:
// after the TTL the request, and a record the form created for it, are
// gone, while a person who existed before keeps their record and opt-out.
func TestUnconfirmedRequestsExpire(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	a.Store().UnconfirmedTTL = 7 * 24 * time.Hour
	publicList(t, a, "nieuws", true)
	publicList(t, a, "agenda", false)
	mustImport(t, a, "agenda", csvOf([]string{"bekend@example.org"}), newsletter.ImportOptions{})
	for _, who := range []string{"onbekend@example.org", "bekend@example.org"} {
		if err := a.Subscribe(ctx, "nieuws", who, "192.0.2.9"); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := a.Store().ExpireUnconfirmed(ctx, time.Now().Add(6*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("before the TTL: %d expired (%v)", n, err)
	}
	if _, _, err := a.Store().GetSubscriber(ctx, "onbekend@example.org"); err != nil {
		t.Fatalf("the request is gone too early: %v", err)
	}
	n, err := a.Store().ExpireUnconfirmed(ctx, time.Now().Add(8*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("after the TTL: %d expired (%v), want 2", n, err)
	}
	if _, _, err := a.Store().GetSubscriber(ctx, "onbekend@example.org"); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("the unconfirmed record stays: %v", err)
	}
	if c, _ := a.Counts(ctx); c.Lists["nieuws"].Unconfirmed != 0 {
		t.Errorf("%d unconfirmed left on the list", c.Lists["nieuws"].Unconfirmed)
	}
	ms := memberships(t, a, "bekend@example.org")
	if ms["agenda"] != newsletter.MemberSubscribed || ms["nieuws"] != "" {
		t.Errorf("the known person after expiry: %v", ms)
	}
}

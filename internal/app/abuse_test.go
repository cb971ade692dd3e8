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

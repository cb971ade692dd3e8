package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/workers"
)

// An --at in the past is refused, not sent at once; nothing is queued.
func TestPublishRefusesATimeInThePast(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.App
	seedList(t, a, "algemeen", "a@example.org")
	e := draft(t, a, "Oud nieuws.")
	_, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{At: time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC)})
	if newsletter.ErrorCode(err) != newsletter.EINVALID || !strings.Contains(err.Error(), "in the past") {
		t.Fatalf("past --at: %v", err)
	}
	if n := xlen(t, a, workers.TopicEditionsPublished); n != 0 {
		t.Errorf("%d publish messages after a refused past time", n)
	}
	if got, _ := a.EditionStatus(ctx, e.ID); got.State != string(newsletter.EditionDraft) {
		t.Errorf("state %s, want draft", got.State)
	}
	// A time a moment ago (a clock slightly behind) still means now.
	if _, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{At: a.Now().Add(-30 * time.Second)}); err != nil {
		t.Fatalf("a time 30 s ago: %v", err)
	}
}

func TestPublishFarFutureSaysSo(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	seedList(t, a, "algemeen", "a@example.org")
	e := draft(t, a, "Volgend jaar.")
	res, err := a.Publish(context.Background(), e.ID, []string{"algemeen"}, app.PublishOptions{At: a.Now().Add(400 * 24 * time.Hour)})
	if err != nil || !res.Scheduled || !strings.Contains(res.Message, "days from now") {
		t.Fatalf("far-future schedule: %+v %v", res, err)
	}
}

// A plain publish of a scheduled edition does not silently send it now.
func TestPublishOfScheduledEditionNeedsNow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.App
	seedList(t, a, "algemeen", "a@example.org")
	e := draft(t, a, "Gepland.")
	at := a.Now().Add(3 * time.Hour)
	if _, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{At: at}); err != nil {
		t.Fatal(err)
	}
	_, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{})
	if newsletter.ErrorCode(err) != newsletter.ECONFLICT || !strings.Contains(err.Error(), "--now") || !strings.Contains(err.Error(), at.UTC().Format(time.RFC3339)) {
		t.Fatalf("plain publish of a scheduled edition: %v", err)
	}
	if n := xlen(t, a, workers.TopicEditionsPublished); n != 0 {
		t.Fatalf("%d publish messages, want 0", n)
	}
	if _, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{Now: true}); err != nil {
		t.Fatalf("--now: %v", err)
	}
	h.waitSent(e.ID)
	// The schedule is gone: at its time nothing fires again.
	a2 := secondApp(t, h)
	a2.Now = func() time.Time { return at.Add(time.Minute) }
	if n, err := a2.FireDue(ctx); err != nil || n != 0 {
		t.Errorf("the old schedule fired %d times (%v)", n, err)
	}
}

// Cancelling an edition that has finished sending is refused: its archive
// page, which every delivered email links to, stays.
func TestCancelOfSentEditionRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.App
	seedList(t, a, "algemeen", "a@example.org", "b@example.org")
	e := draft(t, a, "Verstuurd.")
	if _, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitSent(e.ID)
	if _, err := a.Cancel(ctx, e.ID); newsletter.ErrorCode(err) != newsletter.ECONFLICT || !strings.Contains(err.Error(), "finished sending") {
		t.Fatalf("cancel after sending: %v", err)
	}
	resp, err := http.Get(a.Links.WebVersion(e.ID))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("archive page after a refused cancel: %d", resp.StatusCode)
	}
}

// Links the link check finds broken stop a publish unless allowed.
func TestPublishRefusesBrokenLinks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.App
	seedList(t, a, "algemeen", "a@example.org")
	for _, link := range []string{"http//example.org/agenda", "javascript:alert(1)", "http://localhost:8080/x", ""} {
		e := draft(t, a, "Zie [de agenda]("+link+").")
		_, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{})
		if newsletter.ErrorCode(err) != newsletter.EINVALID || !strings.Contains(err.Error(), "--allow-link-findings") {
			t.Errorf("link %q: %v", link, err)
		}
	}
	e := draft(t, a, "Zie [de agenda](http//example.org/agenda).")
	if _, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{AllowLinkFindings: true}); err != nil {
		t.Errorf("with AllowLinkFindings: %v", err)
	}
	ok := draft(t, a, "Zie [de agenda](https://example.org/agenda).")
	if _, err := a.Publish(ctx, ok.ID, []string{"algemeen"}, app.PublishOptions{}); err != nil {
		t.Errorf("a good link: %v", err)
	}
}

// An edition the renderer cannot handle (nested deeper than the HTML
// parser allows) is an error that tells the editor what to change, not an
// internal error.
func TestUnrenderableEditionTellsTheEditor(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	body := strings.Repeat("> ", 700) + "diep genest\n"
	_, _, err := a.CreateEdition(context.Background(), "diep.md", []byte("---\nsubject: Diep\n---\n"+body))
	if err == nil {
		t.Fatal("the renderer handled 700 nested quotes: pick a deeper edition for this test")
	}
	if newsletter.ErrorCode(err) != newsletter.EINVALID || !strings.Contains(err.Error(), "cannot be rendered") || !strings.Contains(err.Error(), "simplify") {
		t.Errorf("render failure: code %s: %v", newsletter.ErrorCode(err), err)
	}
}

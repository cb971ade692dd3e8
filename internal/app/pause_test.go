package app_test

import (
	"context"
	"fmt"
	"testing"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/workers"
)

// entriesAdded is how many entries were ever appended to topic's stream.
func entriesAdded(t *testing.T, a *app.App, topic string) int64 {
	t.Helper()
	info, err := a.Store().Client().XInfoStream(context.Background(), a.Store().Stream(topic)).Result()
	if err != nil {
		return 0
	}
	return info.EntriesAdded
}

// A paused edition's jobs go round on the stream, nothing is sent and no
// retry is used up; resumed, every recipient gets one email. Once sent it
// can neither be paused nor cancelled (its archive page stays).
func TestPauseResume(t *testing.T) {
	h, start := buildHarness(t, func(c *app.Config) { c.Chunk = 5 })
	ctx := context.Background()
	a := h.App
	var emails []string
	for i := range 20 {
		emails = append(emails, fmt.Sprintf("p%02d@example.org", i))
	}
	seedList(t, a, "algemeen", emails...)
	e := draft(t, a, "Gepauzeerd.")
	if _, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PauseEdition(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.EditionStatus(ctx, e.ID); st.State != string(newsletter.EditionPaused) {
		t.Errorf("status %s, want paused", st.State)
	}
	start()
	// 4 jobs of 5; each held job is appended again: wait for three rounds.
	waitFor(t, "the paused jobs went round three times", func() bool {
		return entriesAdded(t, a, workers.TopicDeliveries) >= 4+12
	})
	if n := h.SES.Count(); n != 0 {
		t.Fatalf("SES got %d emails of a paused edition", n)
	}
	c, _ := a.Store().Counts(ctx, e.ID)
	if c["queued"] != 20 {
		t.Errorf("counts while paused %v, want 20 queued", c)
	}
	if _, err := a.ResumeEdition(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ResumeEdition(ctx, e.ID); newsletter.ErrorCode(err) != newsletter.ECONFLICT {
		t.Errorf("resume of a running edition: %v, want a conflict", err)
	}
	st := h.waitSent(e.ID)
	if st.State != string(newsletter.EditionSent) || st.Counts["sent"] != 20 || h.SES.Count() != 20 {
		t.Errorf("after resume: state %s, counts %v, SES %d; want sent, 20, 20", st.State, st.Counts, h.SES.Count())
	}
	if _, err := a.PauseEdition(ctx, e.ID); newsletter.ErrorCode(err) != newsletter.ECONFLICT {
		t.Errorf("pause of a sent edition: %v, want a conflict", err)
	}
	if _, err := a.Cancel(ctx, e.ID); newsletter.ErrorCode(err) != newsletter.ECONFLICT {
		t.Errorf("cancel of a sent edition: %v, want a conflict", err)
	}
	if got, _ := a.Store().GetEdition(ctx, e.ID); got.State == newsletter.EditionCancelled {
		t.Error("the sent edition was cancelled")
	}
	// The ledger lists each recipient once, sent with SES's message id.
	n := 0
	err := a.Deliveries(ctx, e.ID, newsletter.DeliverySent, func(d newsletter.DeliveryRow) error {
		n++
		if d.MessageID == "" || d.UpdatedAt.IsZero() {
			t.Errorf("%s: message id %q, updated %v", d.Email, d.MessageID, d.UpdatedAt)
		}
		return nil
	})
	if err != nil || n != 20 {
		t.Errorf("ledger: %d sent rows, %v", n, err)
	}
	if err := a.Deliveries(ctx, e.ID, "lost", func(newsletter.DeliveryRow) error { return nil }); newsletter.ErrorCode(err) != newsletter.EINVALID {
		t.Errorf("ledger with state lost: %v, want EINVALID", err)
	}
}

// A paused edition that is cancelled sends nothing more: its waiting
// deliveries are skipped.
func TestCancelPausedEdition(t *testing.T) {
	h, start := buildHarness(t, func(c *app.Config) { c.Chunk = 5 })
	ctx := context.Background()
	a := h.App
	seedList(t, a, "algemeen", "a@example.org", "b@example.org")
	e := draft(t, a, "Geannuleerd.")
	if _, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PauseEdition(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	start()
	waitFor(t, "the paused job went round", func() bool {
		c, _ := a.Store().Counts(ctx, e.ID)
		return c["total"] == 2 && entriesAdded(t, a, workers.TopicDeliveries) >= 2
	})
	if _, err := a.Cancel(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both deliveries skipped", func() bool {
		c, _ := a.Store().Counts(ctx, e.ID)
		return c["skipped"] == 2
	})
	if n := h.SES.Count(); n != 0 {
		t.Errorf("SES got %d emails of a cancelled edition", n)
	}
	if _, err := a.ResumeEdition(ctx, e.ID); newsletter.ErrorCode(err) != newsletter.ECONFLICT {
		t.Errorf("resume of a cancelled edition: %v, want a conflict", err)
	}
}

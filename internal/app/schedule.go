package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"newsletter"
)

func (a *App) schedule(ctx context.Context, e *newsletter.Edition, lists []string, at time.Time) (*PublishResult, error) {
	if e.Hash != "" {
		return nil, newsletter.Errorf(newsletter.ECONFLICT, "edition %s is already published; scheduling applies to drafts", e.ID)
	}
	if err := a.store.Schedule(ctx, e.ID, lists, at); err != nil {
		return nil, err
	}
	e, err := a.store.UpdateEdition(ctx, e.ID, func(e *newsletter.Edition) error {
		e.State = newsletter.EditionScheduled
		e.ScheduledAt = at.UTC()
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.audit(ctx, "edition.schedule", e.ID, nil, map[string]any{"lists": lists, "at": at.UTC()})
	msg := fmt.Sprintf("edition %s scheduled for %s to %s; cancel with `newsletter editions cancel %s`", e.ID, at.Format(time.RFC3339), strings.Join(lists, ", "), e.ID)
	if d := at.Sub(a.Now()); d > farFuture {
		msg += fmt.Sprintf(" (note: that is %d days from now)", int(d.Hours()/24))
	}
	return &PublishResult{Edition: e, Scheduled: true, Message: msg}, nil
}

// Cancel cancels a scheduled edition, or stops an edition being sent:
// deliveries not yet handed to SES are skipped.
func (a *App) Cancel(ctx context.Context, id string) (*newsletter.Edition, error) {
	st, err := a.EditionStatus(ctx, id)
	if err != nil {
		return nil, err
	}
	if st.State == string(newsletter.EditionSent) || st.State == string(newsletter.EditionUnresolved) {
		return nil, newsletter.Errorf(newsletter.ECONFLICT,
			"edition %s has finished sending (%d sent): there is nothing left to stop, and cancelling would take offline the archive page its emails link to", id, st.Counts["sent"]+st.Counts["delivered"])
	}
	if _, err := a.store.Unschedule(ctx, id); err != nil {
		return nil, err
	}
	e, err := a.store.UpdateEdition(ctx, id, func(e *newsletter.Edition) error {
		switch e.State {
		case newsletter.EditionDraft, newsletter.EditionScheduled, newsletter.EditionPublished, newsletter.EditionSending:
			e.State = newsletter.EditionCancelled
			return nil
		}
		return newsletter.Errorf(newsletter.ECONFLICT, "edition %s is %s and cannot be cancelled", id, e.State)
	})
	return e, a.audited(ctx, err, "edition.cancel", id, map[string]string{"state": st.State}, map[string]string{"state": "cancelled"})
}

// FireDue publishes the schedules that are due. Several workers may call it
// at once: a lease makes each schedule fire once, and a schedule whose time
// is more than Cfg.OverdueAfter past (e.g. after downtime) is not sent but
// held for an editor to confirm with `newsletter editions publish`.
func (a *App) FireDue(ctx context.Context) (fired int, err error) {
	now := a.Now()
	due, err := a.store.ClaimDue(ctx, now, time.Minute)
	if err != nil {
		return 0, err
	}
	for _, d := range due {
		if a.Cfg.OverdueAfter > 0 && now.Sub(d.At) > a.Cfg.OverdueAfter {
			if _, err := a.store.Unschedule(ctx, d.EditionID); err != nil {
				return fired, err
			}
			_, err := a.store.UpdateEdition(ctx, d.EditionID, func(e *newsletter.Edition) error {
				e.State = newsletter.EditionDraft
				return nil
			})
			a.Logger.Warn("scheduled edition is overdue and was not sent: confirm with `newsletter editions publish`",
				"edition_id", d.EditionID, "scheduled_at", d.At, "overdue_by", now.Sub(d.At).Round(time.Second), "lists", d.Lists)
			if err != nil {
				return fired, err
			}
			continue
		}
		if _, err := a.publishNow(ctx, d.EditionID, d.Lists); err != nil {
			a.Logger.Error("scheduled publish failed; will retry", "edition_id", d.EditionID, "err", err)
			continue
		}
		if _, err := a.store.Unschedule(ctx, d.EditionID); err != nil {
			return fired, err
		}
		fired++
		a.Logger.Info("scheduled edition published", "edition_id", d.EditionID, "lists", d.Lists)
	}
	return fired, nil
}

// PauseEdition stops sending edition id until ResumeEdition: calls already
// in flight finish; the edition's other jobs wait on the stream without
// using up their retries.
func (a *App) PauseEdition(ctx context.Context, id string) (*newsletter.Edition, error) {
	st, err := a.EditionStatus(ctx, id)
	if err != nil {
		return nil, err
	}
	switch newsletter.EditionState(st.State) {
	case newsletter.EditionPaused:
		return st.Edition, nil
	case newsletter.EditionSent, newsletter.EditionUnresolved:
		return nil, newsletter.Errorf(newsletter.ECONFLICT, "edition %s has finished sending: there is nothing left to pause", id)
	}
	now := a.Now().UTC()
	e, err := a.store.UpdateEdition(ctx, id, func(e *newsletter.Edition) error {
		if e.State != newsletter.EditionPublished && e.State != newsletter.EditionSending {
			return newsletter.Errorf(newsletter.ECONFLICT, "edition %s is %s: only an edition being sent can be paused (a scheduled one is cancelled with `newsletter editions cancel %s`)", id, e.State, id)
		}
		if e.PausedAt.IsZero() {
			e.PausedAt = now
		}
		return nil
	})
	if err == nil {
		a.Logger.Info("edition paused", "edition_id", id, "by", actorName(ctx))
		a.audit(ctx, "edition.pause", id, nil, nil)
	}
	return e, err
}

// ResumeEdition continues sending a paused edition; its waiting jobs run
// within a second or two.
func (a *App) ResumeEdition(ctx context.Context, id string) (*newsletter.Edition, error) {
	e, err := a.store.UpdateEdition(ctx, id, func(e *newsletter.Edition) error {
		if e.State == newsletter.EditionCancelled {
			return newsletter.Errorf(newsletter.ECONFLICT, "edition %s was cancelled: it cannot be resumed; create a new edition to send it", id)
		}
		if e.PausedAt.IsZero() {
			return newsletter.Errorf(newsletter.ECONFLICT, "edition %s is not paused (it is %s)", id, e.State)
		}
		e.PausedAt = time.Time{}
		return nil
	})
	if err == nil {
		a.Logger.Info("edition resumed", "edition_id", id, "by", actorName(ctx))
		a.audit(ctx, "edition.resume", id, nil, nil)
	}
	return e, err
}

// actorName is who makes a change, for the log ("" for the workers).
func actorName(ctx context.Context) string {
	if acct, ok := ActorFrom(ctx); ok {
		return acct.Email
	}
	return ""
}

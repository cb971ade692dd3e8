package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"newsletter"
	"newsletter/internal/edition"
	"newsletter/workers"

	"github.com/ThreeDotsLabs/watermill/message"
)

// CreateEdition parses an edition file and stores it as a draft. Encoding
// findings do not stop creation (the editor fixes them with `editions fix`)
// but publishing refuses them.
func (a *App) CreateEdition(ctx context.Context, name string, data []byte) (*newsletter.Edition, []edition.Finding, error) {
	e, findings, err := edition.Parse(name, data)
	if err != nil {
		return nil, nil, err
	}
	if _, err := a.Renderer.Render(e); err != nil {
		return nil, nil, a.renderError(name, err)
	}
	if err := a.store.CreateEdition(ctx, e); err != nil {
		return nil, nil, err
	}
	a.audit(ctx, "edition.create", e.ID, nil, map[string]any{"subject": e.Subject, "findings": len(findings)})
	return e, findings, nil
}

// FixEdition applies the encoding guard's repairs to a draft.
func (a *App) FixEdition(ctx context.Context, id string) ([]edition.Finding, error) {
	var changed []edition.Finding
	_, err := a.store.UpdateEdition(ctx, id, func(e *newsletter.Edition) error {
		if e.Hash != "" {
			return newsletter.Errorf(newsletter.ECONFLICT, "edition %s is already published and frozen: create a new edition from a fixed file", id)
		}
		changed = edition.FixEdition(e)
		return nil
	})
	return changed, a.audited(ctx, err, "edition.fix", id, nil, map[string]int{"repaired": len(changed)})
}

// renderError is what an editor is told when what they wrote cannot be
// rendered (e.g. nested deeper than the HTML parser allows): the problem
// and the fix, not "internal error"; the cause goes to the log.
func (a *App) renderError(what string, err error) error {
	a.Logger.Warn("edition cannot be rendered", "edition", what, "err", err)
	return newsletter.Errorf(newsletter.EINVALID,
		"%s cannot be rendered (%w): simplify its layout (fewer nested lists or quotes, shorter lines of markup) and try again", what, err)
}

// Preview renders the edition as a partner with a name would see it, with
// sample personal values; PreviewVariants shows the other variant too.
func (a *App) Preview(ctx context.Context, id string) (html, text []byte, e *newsletter.Edition, err error) {
	e, err = a.store.GetEdition(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	return a.preview(e)
}

func (a *App) preview(e *newsletter.Edition) (html, text []byte, _ *newsletter.Edition, err error) {
	t, err := a.Renderer.Render(e)
	if err != nil {
		return nil, nil, nil, a.renderError("edition "+e.ID, err)
	}
	html, text = t.Personalise(a.previewPersonal(e))
	return html, text, e, nil
}

// PublishOptions steer Publish.
type PublishOptions struct {
	// AllowEncodingFindings publishes despite encoding-guard findings.
	AllowEncodingFindings bool
	// AllowLinkFindings publishes despite links the link check found
	// broken (http//, javascript:, localhost, empty).
	AllowLinkFindings bool
	// At schedules the publish; zero means now.
	At time.Time
	// Now sends a scheduled edition at once instead of at its time.
	Now bool
}

// scheduleGrace is how far in the past an --at time may be and still mean
// "now" (a clock a little behind, a time typed a minute ago).
const scheduleGrace = 2 * time.Minute

// farFuture is when a schedule is far enough away to say so.
const farFuture = 60 * 24 * time.Hour

// PublishResult says what a publish did.
type PublishResult struct {
	Edition   *newsletter.Edition `json:"edition"`
	NewLists  []string            `json:"new_lists"`
	Scheduled bool                `json:"scheduled"`
	Message   string              `json:"message"`
}

// Publish validates the edition and its lists, freezes it and puts one
// message on the editions.published stream. Nothing is written before
// every check passed. Publishing again (to the same or more lists) is
// safe: the fan-out only creates deliveries for addresses that do not
// have one for this edition yet, so nobody gets a second copy.
func (a *App) Publish(ctx context.Context, id string, lists []string, opts PublishOptions) (*PublishResult, error) {
	if len(lists) == 0 {
		return nil, newsletter.Errorf(newsletter.EINVALID, "no lists given: pass --lists SLUG[,SLUG...] (see `newsletter lists ls`)")
	}
	e, err := a.store.GetEdition(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := a.checkPublishable(ctx, e, lists, opts); err != nil {
		return nil, err
	}
	now := a.Now()
	switch {
	case !opts.At.IsZero() && opts.Now:
		return nil, newsletter.Errorf(newsletter.EINVALID, "both a time (--at) and --now given: choose one")
	case !opts.At.IsZero() && opts.At.Before(now.Add(-scheduleGrace)):
		return nil, newsletter.Errorf(newsletter.EINVALID,
			"the time %s is in the past (it is now %s): give a time in the future, or publish without --at to send now",
			opts.At.Format(time.RFC3339), now.Format(time.RFC3339))
	case !opts.At.IsZero() && opts.At.After(now):
		return a.schedule(ctx, e, lists, opts.At)
	case e.State == newsletter.EditionScheduled && !opts.Now:
		return nil, newsletter.Errorf(newsletter.ECONFLICT,
			"edition %s is scheduled for %s to %s: to send it now instead, publish it with --now; to change the time, cancel it and schedule it again",
			e.ID, e.ScheduledAt.Format(time.RFC3339), strings.Join(e.Lists, ", "))
	case e.State == newsletter.EditionScheduled:
		if _, err := a.store.Unschedule(ctx, e.ID); err != nil {
			return nil, err
		}
	}
	return a.publishNow(ctx, id, lists)
}

func (a *App) checkPublishable(ctx context.Context, e *newsletter.Edition, lists []string, opts PublishOptions) error {
	if e.State == newsletter.EditionCancelled {
		return newsletter.Errorf(newsletter.ECONFLICT, "edition %s was cancelled: create a new edition to send it", e.ID)
	}
	if f := edition.CheckEdition(e); len(f) > 0 && !opts.AllowEncodingFindings {
		return newsletter.Errorf(newsletter.EINVALID,
			"edition %s has %d encoding finding(s), first: %s line %d column %d %q → %q: run `newsletter editions fix %s`, or publish with --allow-encoding-findings",
			e.ID, len(f), f[0].Field, f[0].Line, f[0].Column, f[0].Found, f[0].Suggested, e.ID)
	}
	if !opts.AllowLinkFindings {
		for _, l := range edition.Links(e) {
			if l.Problem != "" {
				return newsletter.Errorf(newsletter.EINVALID,
					"edition %s has a broken link %q (%s): correct it, or publish with --allow-link-findings", e.ID, l.URL, l.Problem)
			}
		}
	}
	if _, err := a.Renderer.Render(e); err != nil {
		return a.renderError("edition "+e.ID, err)
	}
	var total int64
	infos, err := a.store.Lists(ctx)
	if err != nil {
		return err
	}
	for _, l := range lists {
		i := slices.IndexFunc(infos, func(x newsletter.ListInfo) bool { return x.Slug == l })
		if i < 0 {
			return newsletter.Errorf(newsletter.ENOTFOUND, "list %q does not exist: see `newsletter lists ls`", l)
		}
		total += infos[i].Members
	}
	if total == 0 {
		return newsletter.Errorf(newsletter.EINVALID, "lists %s have no subscribers: import some with `newsletter subscribers import --list %s FILE.csv`", strings.Join(lists, ","), lists[0])
	}
	return nil
}

func (a *App) publishNow(ctx context.Context, id string, lists []string) (*PublishResult, error) {
	e, added, err := a.store.Freeze(ctx, id, lists)
	if err != nil {
		return nil, err
	}
	// Always enqueue all requested lists: if an earlier publish froze the
	// edition but failed to enqueue, this completes it; otherwise the
	// fan-out finds everyone already has a delivery and sends nothing.
	m, err := workers.NewMessage(workers.EditionPublished{EditionID: e.ID, Lists: lists, Hash: e.Hash, At: a.Now().UTC()})
	if err != nil {
		return nil, err
	}
	if err := a.store.Append(ctx, workers.TopicEditionsPublished, m); err != nil {
		return nil, fmt.Errorf("publish edition %s: %w (the edition is frozen; run the same publish again once Redis is back)", e.ID, err)
	}
	msg := fmt.Sprintf("edition %s published to %s", e.ID, strings.Join(lists, ", "))
	if len(added) == 0 {
		msg = fmt.Sprintf("edition %s was already published to %s: only addresses that have not received it yet will get it", e.ID, strings.Join(lists, ", "))
	}
	a.audit(ctx, "edition.publish", e.ID, nil, map[string]any{"lists": lists, "new_lists": added})
	return &PublishResult{Edition: e, NewLists: added, Message: msg}, nil
}

// Status is an edition's progress.
type Status struct {
	ID      string                      `json:"id"`
	State   string                      `json:"state"`
	Counts  map[string]int64            `json:"counts"`
	Rates   Rates                       `json:"rates"`
	PerList map[string]map[string]int64 `json:"per_list"`
	// UnknownOpen are deliveries still unknown; UnknownResolved those that
	// were and got settled.
	UnknownOpen     int64 `json:"unknown_open"`
	UnknownResolved int64 `json:"unknown_resolved"`
	// SendingPaused says why and until when sending waits (the SES daily
	// quota is used up) while deliveries are queued; "" when it does not.
	SendingPaused string `json:"sending_paused,omitempty"`
	*newsletter.Edition
}

// EditionStatus reports the edition's state and per-state delivery counts.
// "sent" means every delivery has reached a state the pipeline will not
// move on its own.
func (a *App) EditionStatus(ctx context.Context, id string) (*Status, error) {
	e, err := a.store.GetEdition(ctx, id)
	if err != nil {
		return nil, err
	}
	return a.status(ctx, e)
}

func (a *App) status(ctx context.Context, e *newsletter.Edition) (*Status, error) {
	c, err := a.store.Counts(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	lc, err := a.store.ListCounts(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	if e.State == newsletter.EditionScheduled && len(e.Lists) == 0 {
		// A schedule keeps its lists apart until it fires.
		if e.Lists, err = a.store.ScheduledLists(ctx, e.ID); err != nil {
			return nil, err
		}
	}
	st := &Status{ID: e.ID, State: string(editionState(e, c)), Counts: c, Rates: ratesOf(c), PerList: lc, Edition: e,
		UnknownOpen: c[string(newsletter.DeliveryUnknown)], UnknownResolved: c[unknownResolved]}
	if c["queued"] > 0 {
		if m, err := a.store.GetMark(ctx, workers.QuotaMark); err == nil {
			st.SendingPaused = m
		}
	}
	return st, nil
}

// unknownResolved counts, in an edition's counters, the deliveries that
// were unknown and got settled since: by SES's Send event, a rendering
// failure, or an admin's resend.
const unknownResolved = "unknown_resolved"

// editionState is the state status shows: a sending edition is "sent" once
// every delivery settled, "unresolved" while some outcomes are unknown,
// "paused" while an editor holds it.
func editionState(e *newsletter.Edition, c map[string]int64) newsletter.EditionState {
	switch {
	case e.State == newsletter.EditionCancelled || e.State == newsletter.EditionDraft || e.State == newsletter.EditionScheduled:
		return e.State
	case !e.PausedAt.IsZero():
		return newsletter.EditionPaused
	case e.State == newsletter.EditionSending && c["queued"]+c["sending"] == 0 && c[string(newsletter.DeliveryUnknown)] > 0:
		return newsletter.EditionUnresolved
	case e.State == newsletter.EditionSending && c["queued"]+c["sending"] == 0:
		return newsletter.EditionSent
	}
	return e.State
}

// Wait polls until the edition is sent or ctx ends.
func (a *App) Wait(ctx context.Context, id string, every time.Duration) (*Status, error) {
	for {
		s, err := a.EditionStatus(ctx, id)
		if err != nil {
			return nil, err
		}
		switch newsletter.EditionState(s.State) {
		case newsletter.EditionSent, newsletter.EditionCancelled, newsletter.EditionUnresolved:
			return s, nil
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(every):
		}
	}
}

// TestSend sends the edition to addrs through the real pipeline, not
// counted as the edition's send and ignoring lists.
func (a *App) TestSend(ctx context.Context, id string, addrs []string) error {
	if len(addrs) == 0 {
		return newsletter.Errorf(newsletter.EINVALID, "no test addresses: pass --to ADDR[,ADDR...]")
	}
	if _, err := a.store.GetEdition(ctx, id); err != nil {
		return err
	}
	m, err := workers.NewMessage(workers.DeliveryJob{EditionID: id, Recipients: addrs, Test: true})
	if err != nil {
		return err
	}
	return a.audited(ctx, a.store.Append(ctx, workers.TopicDeliveries, m), "edition.test", id, nil, map[string][]string{"to": addrs})
}

// ResendResult says what resend-unknown did, and what it left alone and why.
type ResendResult struct {
	Queued int `json:"queued"`
	// Young are unknown deliveries left alone because an SES Send event
	// for them may still arrive (younger than the grace period).
	Young   int    `json:"left_within_grace"`
	Grace   string `json:"grace"`
	Message string `json:"message"`
}

// ResendUnknown queues the edition's "unknown" deliveries again (see
// ResendUnknownOpts); it refuses when no SES Send events flow.
func (a *App) ResendUnknown(ctx context.Context, id string) (int, error) {
	r, err := a.ResendUnknownOpts(ctx, id, false)
	if err != nil {
		return 0, err
	}
	return r.Queued, nil
}

// ResendUnknownOpts queues again the edition's "unknown" deliveries: those
// whose worker stopped during the SES call, or whose reply was lost, so
// nobody knows whether SES took them. Where SES publishes Send events
// (Cfg.SendEvents), a delivery SES accepted is settled to "sent" by its
// event, so only those unknown for longer than Cfg.UnknownGrace are resent
// and the younger ones are left alone. Without Send events nothing tells
// an accepted email from a lost one: every resend may be a duplicate, and
// it takes force.
func (a *App) ResendUnknownOpts(ctx context.Context, id string, force bool) (*ResendResult, error) {
	e, err := a.store.GetEdition(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.State == newsletter.EditionCancelled {
		return nil, newsletter.Errorf(newsletter.ECONFLICT, "edition %s was cancelled", id)
	}
	c, err := a.store.Counts(ctx, id)
	if err != nil {
		return nil, err
	}
	open := c[string(newsletter.DeliveryUnknown)]
	if open > 0 && !a.Cfg.SendEvents && !force {
		return nil, newsletter.Errorf(newsletter.ECONFLICT,
			"edition %s has %d deliveries with an unknown outcome, and no SES Send events tell which of them SES accepted (NEWSLETTER_SES_CONFIGURATION_SET is not set, or NEWSLETTER_SES_SEND_EVENTS=false): resending may give each of those partners a second copy. Configure a configuration set whose event destination publishes Send events to the webhook, or pass --force to resend anyway", id, open)
	}
	grace := a.Cfg.UnknownGrace
	if force || !a.Cfg.SendEvents {
		grace = 0
	}
	cutoff := a.Now().Add(-grace)
	chunk := max(1, a.Cfg.Chunk)
	res := &ResendResult{Grace: grace.String()}
	var batch []newsletter.Transition
	flush := func() error {
		n, err := a.requeueUnknown(ctx, id, batch, chunk)
		res.Queued += n
		batch = batch[:0]
		return err
	}
	err = a.store.ScanDeliveryRows(ctx, id, newsletter.DeliveryUnknown, func(d newsletter.DeliveryRow) error {
		if grace > 0 && d.UpdatedAt.After(cutoff) {
			res.Young++
			return nil
		}
		batch = append(batch, newsletter.Transition{Email: d.Email, From: []newsletter.DeliveryState{newsletter.DeliveryUnknown},
			To: newsletter.DeliveryQueued, Reason: "resent by an admin after an unknown outcome"})
		if len(batch) >= 500 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return res, err
	}
	res.Message = fmt.Sprintf("%d deliveries with an unknown outcome queued again", res.Queued)
	if res.Young > 0 {
		res.Message += fmt.Sprintf("; %d left alone: unknown for less than %s, so an SES Send event may still show that SES accepted them (run again later, or set NEWSLETTER_UNKNOWN_GRACE)", res.Young, grace)
	}
	if force && !a.Cfg.SendEvents && res.Queued > 0 {
		res.Message += " (forced without SES Send events: some partners may get a second copy)"
	}
	a.Logger.Info("unknown deliveries resent", "edition_id", id, "queued", res.Queued, "left_within_grace", res.Young, "forced", force, "by", actorName(ctx))
	return res, a.audited(ctx, nil, "edition.resend_unknown", id, nil, map[string]any{"queued": res.Queued, "left_within_grace": res.Young, "forced": force})
}

// ResendFailed queues the edition's "failed" deliveries again (SES refused
// them for good at the time, e.g. a rejected address that was corrected
// since); it returns how many were queued. The send step checks each
// address against suppressions and unsubscriptions again.
func (a *App) ResendFailed(ctx context.Context, id string) (int, error) {
	e, err := a.store.GetEdition(ctx, id)
	if err != nil {
		return 0, err
	}
	if e.State == newsletter.EditionCancelled {
		return 0, newsletter.Errorf(newsletter.ECONFLICT, "edition %s was cancelled", id)
	}
	chunk := max(1, a.Cfg.Chunk)
	queued := 0
	var batch []newsletter.Transition
	flush := func() error {
		n, err := a.requeue(ctx, id, batch, chunk)
		queued += n
		batch = batch[:0]
		return err
	}
	err = a.store.ScanDeliveryRows(ctx, id, newsletter.DeliveryFailed, func(d newsletter.DeliveryRow) error {
		batch = append(batch, newsletter.Transition{Email: d.Email, From: []newsletter.DeliveryState{newsletter.DeliveryFailed},
			To: newsletter.DeliveryQueued, Reason: "sent again after a failure"})
		if len(batch) >= 500 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return queued, a.audited(ctx, err, "edition.resend_failed", id, nil, map[string]int{"queued": queued})
}

// requeueUnknown moves ts (unknown → queued), enqueues those that moved
// and counts them as resolved.
func (a *App) requeueUnknown(ctx context.Context, id string, ts []newsletter.Transition, chunk int) (int, error) {
	n, err := a.requeue(ctx, id, ts, chunk)
	if err != nil || n == 0 {
		return n, err
	}
	return n, a.store.NoteUnknownResolved(ctx, id, int64(n))
}

// requeue applies ts (each back to queued) and enqueues those that moved.
func (a *App) requeue(ctx context.Context, id string, ts []newsletter.Transition, chunk int) (int, error) {
	if len(ts) == 0 {
		return 0, nil
	}
	res, err := a.store.Transition(ctx, id, ts)
	if err != nil {
		return 0, err
	}
	var again []string
	for i, r := range res {
		if r.Done {
			again = append(again, ts[i].Email)
		}
	}
	var msgs []*message.Message
	for batch := range slices.Chunk(again, chunk) {
		m, err := workers.NewMessage(workers.DeliveryJob{EditionID: id, Recipients: batch})
		if err != nil {
			return 0, err
		}
		msgs = append(msgs, m)
	}
	return len(again), a.store.Append(ctx, workers.TopicDeliveries, msgs...)
}

// EditionSummary is one line of `editions ls`.
type EditionSummary struct {
	ID          string    `json:"id"`
	State       string    `json:"state"`
	Subject     string    `json:"subject"`
	Lists       []string  `json:"lists"`
	CreatedAt   time.Time `json:"created_at"`
	PublishedAt time.Time `json:"published_at,omitzero"`
	ScheduledAt time.Time `json:"scheduled_at,omitzero"`
}

// editionStates are the states `editions ls --state` takes.
var editionStates = []newsletter.EditionState{newsletter.EditionDraft, newsletter.EditionScheduled, newsletter.EditionPublished,
	newsletter.EditionSending, newsletter.EditionPaused, newsletter.EditionSent, newsletter.EditionUnresolved, newsletter.EditionCancelled}

// ListEditions returns every edition, newest first, with the state
// `editions status` would show; state, when not empty, keeps only those.
// Nothing is lost: a draft whose id nobody noted is here too.
func (a *App) ListEditions(ctx context.Context, state string) ([]EditionSummary, error) {
	if state != "" && !slices.Contains(editionStates, newsletter.EditionState(state)) {
		names := make([]string, len(editionStates))
		for i, st := range editionStates {
			names[i] = string(st)
		}
		return nil, newsletter.Errorf(newsletter.EINVALID, "state %q is unknown: use one of %s", state, strings.Join(names, ", "))
	}
	all, err := a.store.Editions(ctx, 0)
	if err != nil {
		return nil, err
	}
	out := []EditionSummary{}
	for _, e := range all {
		st := string(e.State)
		if e.State == newsletter.EditionSending || e.State == newsletter.EditionPublished || e.State == newsletter.EditionScheduled { // sent once every delivery settled; a schedule's lists
			s, err := a.status(ctx, e)
			if err != nil {
				return nil, err
			}
			st, e = s.State, s.Edition
		}
		if state != "" && st != state {
			continue
		}
		out = append(out, EditionSummary{ID: e.ID, State: st, Subject: e.Subject, Lists: append([]string{}, e.Lists...),
			CreatedAt: e.CreatedAt, PublishedAt: e.PublishedAt, ScheduledAt: e.ScheduledAt})
	}
	return out, nil
}

// Deliveries calls each with every delivery of edition id, optionally only
// those in state ("" = all). It streams page by page: memory does not grow
// with the number of recipients.
func (a *App) Deliveries(ctx context.Context, id string, state newsletter.DeliveryState, each func(newsletter.DeliveryRow) error) error {
	if state != "" && !slices.Contains(newsletter.DeliveryStates, state) {
		names := make([]string, len(newsletter.DeliveryStates))
		for i, st := range newsletter.DeliveryStates {
			names[i] = string(st)
		}
		return newsletter.Errorf(newsletter.EINVALID, "delivery state %q is unknown: use one of %s", state, strings.Join(names, ", "))
	}
	if _, err := a.store.GetEdition(ctx, id); err != nil {
		return err
	}
	return a.store.ScanDeliveryRows(ctx, id, state, each)
}

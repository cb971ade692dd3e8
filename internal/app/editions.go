package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"newsletter"
	"newsletter/internal/edition"
	"newsletter/internal/render"
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
	return changed, err
}

// renderError is what an editor is told when what they wrote cannot be
// rendered (e.g. nested deeper than the HTML parser allows): the problem
// and the fix, not "internal error"; the cause goes to the log.
func (a *App) renderError(what string, err error) error {
	a.Logger.Warn("edition cannot be rendered", "edition", what, "err", err)
	return newsletter.Errorf(newsletter.EINVALID,
		"%s cannot be rendered (%w): simplify its layout (fewer nested lists or quotes, shorter lines of markup) and try again", what, err)
}

// Preview renders the edition as a partner would see it, with sample
// personal values.
func (a *App) Preview(ctx context.Context, id string) (html, text []byte, e *newsletter.Edition, err error) {
	e, err = a.store.GetEdition(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	t, err := a.Renderer.Render(e)
	if err != nil {
		return nil, nil, nil, a.renderError("edition "+e.ID, err)
	}
	base := strings.TrimRight(a.Cfg.BaseURL, "/")
	if base == "" {
		base = "https://example.org"
	}
	html, text = t.Personalise(render.Personal{
		Name:           "Voorbeeld Partner",
		UnsubscribeURL: base + "/u/preview",
		PreferencesURL: base + "/p/preview",
		WebURL:         base + "/archive/" + e.ID,
	})
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
	return &PublishResult{Edition: e, NewLists: added, Message: msg}, nil
}

// Status is an edition's progress.
type Status struct {
	ID      string                      `json:"id"`
	State   string                      `json:"state"`
	Counts  map[string]int64            `json:"counts"`
	Rates   Rates                       `json:"rates"`
	PerList map[string]map[string]int64 `json:"per_list"`
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
	state := string(e.State)
	if e.State == newsletter.EditionSending && c["queued"]+c["sending"] == 0 {
		state = string(newsletter.EditionSent)
	}
	st := &Status{ID: e.ID, State: state, Counts: c, Rates: ratesOf(c), PerList: lc, Edition: e}
	if c["queued"] > 0 {
		if m, err := a.store.GetMark(ctx, workers.QuotaMark); err == nil {
			st.SendingPaused = m
		}
	}
	return st, nil
}

// Wait polls until the edition is sent or ctx ends.
func (a *App) Wait(ctx context.Context, id string, every time.Duration) (*Status, error) {
	for {
		s, err := a.EditionStatus(ctx, id)
		if err != nil {
			return nil, err
		}
		if s.State == string(newsletter.EditionSent) || s.State == string(newsletter.EditionCancelled) {
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
	return a.store.Append(ctx, workers.TopicDeliveries, m)
}

// ResendUnknown queues the edition's "unknown" deliveries again: those
// whose worker stopped during the SES call, so nobody knows whether SES
// took them. Only an admin decides this (it may send a duplicate); it
// returns how many were queued.
func (a *App) ResendUnknown(ctx context.Context, id string) (int, error) {
	e, err := a.store.GetEdition(ctx, id)
	if err != nil {
		return 0, err
	}
	if e.State == newsletter.EditionCancelled {
		return 0, newsletter.Errorf(newsletter.ECONFLICT, "edition %s was cancelled", id)
	}
	chunk := max(1, a.Cfg.Chunk)
	queued := 0
	err = a.store.ScanDeliveries(ctx, id, 500, func(emails []string, states []newsletter.DeliveryState) error {
		var ts []newsletter.Transition
		for i, em := range emails {
			if states[i] == newsletter.DeliveryUnknown {
				ts = append(ts, newsletter.Transition{Email: em, From: []newsletter.DeliveryState{newsletter.DeliveryUnknown},
					To: newsletter.DeliveryQueued, Reason: "resent by an admin after an unknown outcome"})
			}
		}
		res, err := a.store.Transition(ctx, id, ts)
		if err != nil {
			return err
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
				return err
			}
			msgs = append(msgs, m)
		}
		queued += len(again)
		return a.store.Append(ctx, workers.TopicDeliveries, msgs...)
	})
	return queued, err
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
	newsletter.EditionSending, newsletter.EditionSent, newsletter.EditionCancelled}

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
		if e.State == newsletter.EditionSending { // sent once every delivery settled
			s, err := a.status(ctx, e)
			if err != nil {
				return nil, err
			}
			st = s.State
		}
		if state != "" && st != state {
			continue
		}
		out = append(out, EditionSummary{ID: e.ID, State: st, Subject: e.Subject, Lists: append([]string{}, e.Lists...),
			CreatedAt: e.CreatedAt, PublishedAt: e.PublishedAt, ScheduledAt: e.ScheduledAt})
	}
	return out, nil
}

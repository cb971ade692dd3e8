package app

import (
	"context"
	"encoding/json"

	"newsletter"
	"newsletter/internal/address"
)

// The audit log: every change a person makes through a use case, with
// who, what, when and, where cheap, the state before and after. The
// workers, the webhook and the public pages act for nobody in particular
// and are not in it (their effects are in the deliveries and events).

// audit records action on target when ctx carries an actor. It is called
// after the change succeeded; a failure to record is logged, not returned:
// the change happened and the caller must hear so.
func (a *App) audit(ctx context.Context, action, target string, before, after any) {
	actor, ok := ActorFrom(ctx)
	if !ok {
		return
	}
	e := newsletter.AuditEntry{At: a.Now().UTC(), Actor: actor.Email, Role: actor.Role, Action: action, Target: target,
		Before: auditJSON(before), After: auditJSON(after)}
	if _, err := a.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		a.Logger.Error("audit log not written", "action", action, "err", err)
	}
}

func auditJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// AuditLog returns up to limit entries of the audit log that match f,
// newest first, after cursor (the page's Next; "" for the newest). A
// filter that matches rarely gives a short page with a Next: the pages
// are bounded, the log is never read whole.
func (a *App) AuditLog(ctx context.Context, f newsletter.AuditFilter, limit int, cursor string) (*newsletter.AuditPage, error) {
	if limit <= 0 {
		limit = 50
	}
	if limit > 1000 {
		return nil, newsletter.Errorf(newsletter.EINVALID, "limit %d is too large: ask for at most 1000 entries a page", limit)
	}
	if cursor != "" && !validStreamID(cursor) {
		return nil, newsletter.Errorf(newsletter.EINVALID, "cursor %q is not one this log gave out: use the \"next\" of the previous page", cursor)
	}
	return a.store.AuditLog(ctx, f, limit, cursor)
}

// AuditFor returns the newest limit entries about target (an address, a
// list slug, an edition id, an account), newest first: e.g. a subscriber's
// history.
func (a *App) AuditFor(ctx context.Context, target string, limit int) ([]newsletter.AuditEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if email, err := address.Normalize(target); err == nil {
		target = email
	}
	return a.store.AuditAbout(ctx, target, limit)
}

// validStreamID reports whether s looks like a Redis stream id (ms-seq).
func validStreamID(s string) bool {
	dash := false
	for i, c := range s {
		switch {
		case c == '-' && !dash && i > 0 && i < len(s)-1:
			dash = true
		case c < '0' || c > '9':
			return false
		}
	}
	return dash && len(s) <= 41
}

// audited records action when err is nil, and returns err: for use cases
// that end in the store call that makes the change.
func (a *App) audited(ctx context.Context, err error, action, target string, before, after any) error {
	if err == nil {
		a.audit(ctx, action, target, before, after)
	}
	return err
}

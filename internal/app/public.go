package app

import (
	"context"
	"sort"

	"newsletter"
)

// The use cases behind the public pages: partners arrive with a signed
// link and no account.

// Unsubscribe records a partner's opt-out from everything. An address the
// store does not know (erased meanwhile) is not an error: it is not mailed.
func (a *App) Unsubscribe(ctx context.Context, email, reason string) error {
	err := a.store.Unsubscribe(ctx, email, "", reason)
	if newsletter.ErrorCode(err) == newsletter.ENOTFOUND {
		return nil
	}
	return err
}

// PreferenceList is one list on a partner's preferences page.
type PreferenceList struct {
	Slug, Name, Description string
	// On: the partner receives this list now.
	On bool
}

// Preferences returns the lists a partner can choose from, by name.
func (a *App) Preferences(ctx context.Context, email string) ([]PreferenceList, error) {
	lists, err := a.store.Lists(ctx)
	if err != nil {
		return nil, err
	}
	sub, members, err := a.store.GetSubscriber(ctx, email)
	if err != nil {
		return nil, err
	}
	var out []PreferenceList
	for _, l := range lists {
		on := members[l.Slug] == newsletter.MemberSubscribed && sub.Status == newsletter.SubscriberActive
		out = append(out, PreferenceList{Slug: l.Slug, Name: l.Name, Description: l.Description, On: on})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SavePreferences sets the partner's lists to want; no list at all is an
// opt-out from everything.
func (a *App) SavePreferences(ctx context.Context, email string, want map[string]bool) ([]PreferenceList, error) {
	cur, err := a.Preferences(ctx, email)
	if err != nil {
		return nil, err
	}
	for _, l := range cur {
		if l.On == want[l.Slug] {
			continue
		}
		if err := a.store.SetMembership(ctx, email, l.Slug, want[l.Slug]); err != nil {
			return nil, err
		}
	}
	if len(want) == 0 {
		if err := a.store.Unsubscribe(ctx, email, "", "preferences: no lists"); err != nil {
			return nil, err
		}
	}
	return a.Preferences(ctx, email)
}

// ConfirmSubscription is a partner's own confirmation of a double opt-in
// membership (the POST behind the emailed link).
func (a *App) ConfirmSubscription(ctx context.Context, email, list string) error {
	_, err := a.store.Confirm(ctx, email, list)
	return err
}

// ArchivedEditions returns the editions that went out, newest first: the
// archive never shows drafts, scheduled or cancelled ones.
func (a *App) ArchivedEditions(ctx context.Context) ([]*newsletter.Edition, error) {
	all, err := a.store.Editions(ctx, 0)
	if err != nil {
		return nil, err
	}
	var out []*newsletter.Edition
	for _, e := range all {
		if archived(e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// ArchivePage renders the public web version of an edition that went out.
func (a *App) ArchivePage(ctx context.Context, id string) ([]byte, error) {
	e, err := a.store.GetEdition(ctx, id)
	if err != nil {
		return nil, err
	}
	if !archived(e) {
		return nil, newsletter.Errorf(newsletter.ENOTFOUND, "edition %s is not in the archive", id)
	}
	return a.Renderer.Archive(e, a.Links.WebVersion(e.ID))
}

func archived(e *newsletter.Edition) bool {
	return e.Hash != "" && e.State != newsletter.EditionCancelled
}

// Ping reports whether Redis answers.
func (a *App) Ping(ctx context.Context) error {
	if err := a.store.Client().Ping(ctx).Err(); err != nil {
		return newsletter.Errorf(newsletter.EUNAVAILABLE, "Redis is not reachable: %v", err)
	}
	return nil
}

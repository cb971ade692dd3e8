package app

import (
	"context"

	"newsletter"
)

// CreateList creates a list and returns it as stored.
func (a *App) CreateList(ctx context.Context, l newsletter.List) (*newsletter.List, error) {
	if err := a.store.CreateList(ctx, l); err != nil {
		return nil, err
	}
	got, err := a.store.GetList(ctx, l.Slug)
	return got, a.audited(ctx, err, "list.create", l.Slug, nil, got)
}

// GetList returns one live list.
func (a *App) GetList(ctx context.Context, slug string) (*newsletter.List, error) {
	return a.store.GetList(ctx, slug)
}

// Lists returns every live list with its membership counts.
func (a *App) Lists(ctx context.Context) ([]newsletter.ListInfo, error) {
	return a.store.Lists(ctx)
}

// ListChange changes a list; nil fields stay as they are.
type ListChange struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	DoubleOptIn *bool   `json:"double_opt_in"`
	Public      *bool   `json:"public"`
}

// UpdateList applies ch to list slug and returns the list as stored.
func (a *App) UpdateList(ctx context.Context, slug string, ch ListChange) (*newsletter.List, error) {
	if ch.Name == nil && ch.Description == nil && ch.DoubleOptIn == nil && ch.Public == nil {
		return nil, newsletter.Errorf(newsletter.EINVALID, "nothing to change on list %s: give a new name, description, double opt-in or public setting", slug)
	}
	if ch.Name != nil && *ch.Name == "" {
		return nil, newsletter.Errorf(newsletter.EINVALID, "a list's name cannot be empty: give the new display name")
	}
	if err := a.store.UpdateList(ctx, slug, ch.Name, ch.Description, ch.DoubleOptIn, ch.Public); err != nil {
		return nil, err
	}
	a.audit(ctx, "list.update", slug, nil, ch)
	return a.store.GetList(ctx, slug)
}

// DeleteList deletes a list; its history (deliveries, audit) is kept.
func (a *App) DeleteList(ctx context.Context, slug string) error {
	return a.audited(ctx, a.store.DeleteList(ctx, slug), "list.delete", slug, nil, nil)
}

// ListMembers is one page of a list's subscribed members, at most limit
// (a page may be short; NextCursor "" is the end).
func (a *App) ListMembers(ctx context.Context, slug, cursor string, limit int) (*newsletter.SearchResult, error) {
	if _, err := a.store.GetList(ctx, slug); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	return a.store.MembersPage(ctx, slug, cursor, limit)
}

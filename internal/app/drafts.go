package app

import (
	"context"
	"strings"

	"newsletter"
	"newsletter/internal/edition"
)

// DraftChange changes an edition that is not frozen yet; nil fields stay.
type DraftChange struct {
	Subject   *string `json:"subject"`
	Preheader *string `json:"preheader"`
	Body      *string `json:"body"` // Markdown
}

// UpdateDraft applies ch to edition id while it is a draft (or scheduled:
// it is frozen only when it is sent) and returns it as stored, with the
// encoding guard's findings. What cannot be rendered is refused and
// nothing changes.
func (a *App) UpdateDraft(ctx context.Context, id string, ch DraftChange) (*newsletter.Edition, []edition.Finding, error) {
	if ch.Subject != nil && strings.TrimSpace(*ch.Subject) == "" {
		return nil, nil, newsletter.Errorf(newsletter.EINVALID, "the subject is empty: write a subject")
	}
	if ch.Body != nil && strings.TrimSpace(*ch.Body) == "" {
		return nil, nil, newsletter.Errorf(newsletter.EINVALID, "the text is empty: write the text of the newsletter")
	}
	e, err := a.store.UpdateEdition(ctx, id, func(e *newsletter.Edition) error {
		if e.Hash != "" || e.State == newsletter.EditionCancelled {
			return newsletter.Errorf(newsletter.ECONFLICT, "edition %s is %s and can no longer be changed: create a new edition", id, e.State)
		}
		ch.apply(e)
		if _, err := a.Renderer.Render(e); err != nil {
			return a.renderError("edition "+id, err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return e, edition.CheckEdition(e), nil
}

// GetEdition returns one edition as stored.
func (a *App) GetEdition(ctx context.Context, id string) (*newsletter.Edition, error) {
	return a.store.GetEdition(ctx, id)
}

func (ch DraftChange) apply(e *newsletter.Edition) {
	if ch.Subject != nil {
		e.Subject = strings.Join(strings.Fields(*ch.Subject), " ")
	}
	if ch.Preheader != nil {
		e.Preheader = strings.Join(strings.Fields(*ch.Preheader), " ")
	}
	if ch.Body != nil {
		e.Body = strings.ReplaceAll(*ch.Body, "\r\n", "\n")
		e.Format = edition.FormatMarkdown
	}
}

// PreviewDraft renders edition id with ch applied, without storing
// anything: the live preview while an editor types. It also returns the
// encoding guard's findings and the link check of the changed edition.
func (a *App) PreviewDraft(ctx context.Context, id string, ch DraftChange) (html, text []byte, findings []edition.Finding, links []edition.Link, err error) {
	e, err := a.store.GetEdition(ctx, id)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ch.apply(e)
	html, text, _, err = a.preview(e)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return html, text, edition.CheckEdition(e), edition.Links(e), nil
}

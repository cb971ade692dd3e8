package app

import (
	"context"

	"newsletter"
)

// Placeholders for use cases whose implementation is being built (issue 11:
// the recipient ledger, pause and resume). Their signatures are fixed; the
// web interface and the CLI build on them.

var errNotBuilt = newsletter.Errorf(newsletter.EINTERNAL, "not built yet")

// Deliveries calls each with every delivery of edition id, in a stable
// order, optionally only those in state (""= all). It streams: memory does
// not grow with the number of recipients.
func (a *App) Deliveries(ctx context.Context, id string, state newsletter.DeliveryState, each func(newsletter.DeliveryRow) error) error {
	return errNotBuilt
}

// PauseEdition stops sending edition id until ResumeEdition: calls already
// in flight finish; nothing else is sent.
func (a *App) PauseEdition(ctx context.Context, id string) (*newsletter.Edition, error) {
	return nil, errNotBuilt
}

// ResumeEdition continues sending a paused edition.
func (a *App) ResumeEdition(ctx context.Context, id string) (*newsletter.Edition, error) {
	return nil, errNotBuilt
}

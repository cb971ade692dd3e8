package app

import (
	"context"

	"newsletter"
)

type actorKey struct{}

// WithActor returns ctx saying that acct is the person (or token) making
// the change: the audit log records it with every change made through ctx.
func WithActor(ctx context.Context, acct newsletter.Account) context.Context {
	return context.WithValue(ctx, actorKey{}, acct)
}

// ActorFrom returns the account making the change, if any (none for the
// workers, the webhook and the public pages).
func ActorFrom(ctx context.Context) (newsletter.Account, bool) {
	a, ok := ctx.Value(actorKey{}).(newsletter.Account)
	return a, ok
}

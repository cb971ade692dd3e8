// Package webctx carries who is signed in through a request's context, from
// the authentication middleware (internal/httpserver) to the pages
// (internal/webui) and the API handlers.
package webctx

import (
	"context"

	"newsletter"
)

// Session is the signed-in account of a request. CSRF is the session's
// form token: every state-changing form carries it in a hidden field named
// "csrf". It is empty for requests authenticated by an API token (no
// browser, no ambient credentials).
type Session struct {
	Account newsletter.Account
	CSRF    string
	ID      string // the server-side session id; empty for API tokens
}

type key struct{}

// With returns ctx carrying s.
func With(ctx context.Context, s Session) context.Context {
	return context.WithValue(ctx, key{}, s)
}

// From returns the session ctx carries.
func From(ctx context.Context) (Session, bool) {
	s, ok := ctx.Value(key{}).(Session)
	return s, ok
}

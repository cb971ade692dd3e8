package httpserver

import (
	"net/http"

	"newsletter"
	"newsletter/internal/metrics"
)

// Route is one registered pattern (http.ServeMux syntax) and the
// permission it needs. Every route of the server is in the one table
// Routes returns, so a test can walk all of them.
type Route struct {
	Pattern string
	// Perm is what the signed-in account's role must allow; Public: no
	// account needed.
	Perm    newsletter.Permission
	Handler http.Handler
}

// Public marks a route that needs no account: the partners' pages, the
// archive, the webhook, the health check and the sign-in page.
const Public newsletter.Permission = 0

// Routes is the server's route table. To add a route, add it here (a
// public page), in api or adminAPI (the JSON API), or hand it in
// Server.AdminRoutes (admin pages), with its permission.
func (s *Server) Routes() []Route {
	var rs []Route
	add := func(pattern string, p newsletter.Permission, h http.HandlerFunc) {
		rs = append(rs, Route{Pattern: pattern, Perm: p, Handler: h})
	}
	// Operations: liveness and readiness are public and tell nothing but
	// what is not ready; Prometheus needs its own bearer token
	// (NEWSLETTER_METRICS_TOKEN; without one it is not served).
	add("GET /healthz", Public, metrics.Healthz)
	add("GET /readyz", Public, metrics.Readyz(s.App.Readiness(false)))
	add("GET /metrics", Public, metrics.Protect(s.App.Cfg.MetricsToken, s.App.Metrics().Handler()).ServeHTTP)
	if s.Webhook != nil {
		// Authenticated by SNS's signature, not by an account.
		rs = append(rs, Route{Pattern: "/webhooks/ses", Perm: Public, Handler: s.Webhook})
	}
	// Partners: signed links, no login, no cookies.
	add("GET /u/{token}", Public, s.unsubscribePage)
	add("POST /u/{token}", Public, s.unsubscribePost)
	add("GET /p/{token}", Public, s.preferencesPage)
	add("POST /p/{token}", Public, s.preferencesPost)
	add("POST /p/{token}/renew", Public, s.padded(s.renewPreferences))
	add("GET /subscribe", Public, s.subscribeForm)
	add("POST /subscribe", Public, s.padded(s.subscribePost))
	// GET only shows a button: link scanners fetch links in emails, and
	// a fetch must not confirm anything.
	add("GET /c/{token}", Public, s.confirmPage)
	add("POST /c/{token}", Public, s.confirmPost)
	// The bad-link page's offer of a fresh preferences link.
	add("POST /new-link", Public, s.padded(s.newLink))
	add("GET /archive/{$}", Public, s.archiveIndex)
	add("GET /archive/feed.atom", Public, s.archiveFeed)
	add("GET /archive/{id}", Public, s.archiveEdition)
	add("GET /{$}", Public, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/archive/", http.StatusFound)
	})
	// Signing in and out.
	add("GET /admin/login", Public, s.loginPage)
	add("POST /admin/login", Public, s.loginPost)
	add("POST /admin/logout", Public, s.logout)
	// Admins, editors and viewers.
	s.api(add)
	admin := s.Admin
	if admin == nil {
		admin = http.NotFoundHandler()
	}
	// Viewers read; whatever changes something needs an editor at least
	// (the pages check finer permissions, or hand their routes in
	// AdminRoutes).
	rs = append(rs, Route{Pattern: "GET /admin/", Perm: newsletter.PermRead, Handler: admin},
		Route{Pattern: "/admin/", Perm: newsletter.PermEditions, Handler: admin})
	rs = append(rs, s.AdminRoutes...)
	return rs
}

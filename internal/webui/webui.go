package webui

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/httpserver"
	"newsletter/internal/i18n"
	"newsletter/internal/webctx"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options steer the pages.
type Options struct {
	// Location is the time zone of the dates shown and of the times typed
	// (default: the app's NEWSLETTER_TIME_ZONE, else Europe/Amsterdam).
	Location *time.Location
	Logger   *slog.Logger
	// LoginURL and LogoutURL are the authentication pages (default
	// /admin/login and /admin/logout).
	LoginURL, LogoutURL string
}

// UI serves the admin pages.
type UI struct {
	app   *app.App
	o     Options
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New returns the handler of the admin pages, with its routes under
// /admin/ (the full request path, not stripped). Mount it as
// httpserver.Server.Admin, as `serve` and `dev` do: the sign-in
// middleware there finds the session, checks the form token of every
// change and bounds a posted form's size; the pages check the finer
// permission of each route.
func New(a *app.App, o Options) http.Handler {
	if o.Location == nil {
		o.Location = loadLocation(a.Cfg.TimeZone)
	}
	if o.Logger == nil {
		o.Logger = a.Logger
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LoginURL == "" {
		o.LoginURL = "/admin/login"
	}
	if o.LogoutURL == "" {
		o.LogoutURL = "/admin/logout"
	}
	u := &UI{app: a, o: o, pages: parsePages(), mux: http.NewServeMux()}
	u.routes()
	return u
}

func loadLocation(name string) *time.Location {
	if name == "" {
		name = "Europe/Amsterdam"
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) { u.mux.ServeHTTP(w, r) }

// route registers h for pattern, open to accounts whose role has perm.
func (u *UI) route(pattern string, perm newsletter.Permission, h func(w http.ResponseWriter, r *http.Request, p *page)) {
	u.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s, ok := webctx.From(r.Context())
		if !ok || s.Account.Email == "" {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, u.o.LoginURL+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		p := u.newPage(r, s)
		if !s.Account.Role.Can(perm) {
			u.fail(w, p, http.StatusForbidden, p.T("err.forbidden"))
			return
		}
		// The form token (and the size of a posted form) is checked by
		// the authentication middleware these pages are mounted behind
		// (httpserver.Server.Admin), before the body reaches them.
		h(w, r, p)
	})
}

func (u *UI) routes() {
	static, _ := fs.Sub(staticFS, "static")
	u.mux.Handle("GET /admin/static/", http.StripPrefix("/admin/static/", http.FileServerFS(static)))
	r, e, s, acc := newsletter.PermRead, newsletter.PermEditions, newsletter.PermSubscribers, newsletter.PermAccounts

	u.route("GET /admin/{$}", r, u.dashboard)

	u.route("GET /admin/editions", r, u.editionsPage)
	u.route("GET /admin/editions/new", e, u.newEditionPage)
	u.route("POST /admin/editions", e, u.createEdition)
	u.route("GET /admin/editions/{id}", r, u.editionPage)
	u.route("POST /admin/editions/{id}", e, u.saveEdition)
	u.route("GET /admin/editions/{id}/email", r, u.emailHTML)
	u.route("POST /admin/editions/{id}/render", e, u.renderDraft)
	u.route("POST /admin/editions/{id}/fix", e, u.fixEdition)
	u.route("POST /admin/editions/{id}/test", e, u.testSend)
	u.route("GET /admin/editions/{id}/publish", e, u.confirmPublish)
	u.route("POST /admin/editions/{id}/publish", e, u.publish)
	u.route("POST /admin/editions/{id}/pause", e, u.control("pause"))
	u.route("POST /admin/editions/{id}/resume", e, u.control("resume"))
	u.route("POST /admin/editions/{id}/cancel", e, u.control("cancel"))
	u.route("GET /admin/editions/{id}/progress", r, u.progress)
	u.route("GET /admin/editions/{id}/deliveries", e, u.ledger)
	u.route("GET /admin/editions/{id}/deliveries.csv", e, u.ledgerCSV)
	u.route("POST /admin/editions/{id}/resend-failed", e, u.resendFailed)

	u.route("GET /admin/lists", r, u.listsPage)
	u.route("POST /admin/lists", s, u.createList)
	u.route("GET /admin/lists/{slug}", r, u.listPage)
	u.route("POST /admin/lists/{slug}", s, u.updateList)
	u.route("GET /admin/lists/{slug}/delete", s, u.confirmDeleteList)
	u.route("POST /admin/lists/{slug}/delete", s, u.deleteList)
	u.route("GET /admin/lists/{slug}/import", s, u.importPage)
	u.route("POST /admin/lists/{slug}/import", s, u.importPost)

	u.route("GET /admin/subscribers", s, u.subscribersPage)
	u.route("GET /admin/subscribers/export", s, u.exportCSV)
	u.route("GET /admin/subscribers/{email}", s, u.subscriberPage)
	u.route("POST /admin/subscribers/{email}", s, u.updateSubscriber)
	u.route("POST /admin/subscribers/{email}/unsubscribe", s, u.unsubscribe)
	u.route("POST /admin/subscribers/{email}/block", s, u.block)
	u.route("GET /admin/subscribers/{email}/privacy", s, u.privacyExport)
	u.route("GET /admin/subscribers/{email}/erase", s, u.confirmErase)
	u.route("POST /admin/subscribers/{email}/erase", s, u.erase)

	u.route("GET /admin/suppressions", s, u.suppressionsPage)
	u.route("POST /admin/suppressions/remove", s, u.unsuppress)

	u.route("GET /admin/audit", acc, u.auditPage)
}

// page is what every template gets: the language, the account, the form
// token, and the page's own data.
type page struct {
	Lang    i18n.Lang
	Account newsletter.Account
	CSRF    string
	Path    string
	Title   string
	Flash   string
	Error   string
	Data    any
	ui      *UI
	loc     *time.Location
}

func (u *UI) newPage(r *http.Request, s webctx.Session) *page {
	return &page{Lang: i18n.Parse(s.Account.Lang), Account: s.Account, CSRF: s.CSRF, Path: r.URL.Path,
		Flash: flashKey(r.URL.Query().Get("ok")), ui: u, loc: u.o.Location}
}

// Can reports whether the signed-in account may do what needs perm
// ("read", "editions", "subscribers", "accounts").
func (p *page) Can(perm string) bool { return p.Account.Role.Can(permissions[perm]) }

var permissions = map[string]newsletter.Permission{"read": newsletter.PermRead, "editions": newsletter.PermEditions,
	"subscribers": newsletter.PermSubscribers, "accounts": newsletter.PermAccounts}

// Login and Logout are the authentication pages.
func (p *page) Login() string  { return p.ui.o.LoginURL }
func (p *page) Logout() string { return p.ui.o.LogoutURL }

// When writes t as people write it ("1 december 2026, 09:00"), "" for zero.
func (p *page) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return p.Lang.DateTime(t, p.loc)
}

// render writes the page tmpl with status.
func (u *UI) render(w http.ResponseWriter, p *page, status int, tmpl string, data any) {
	t, ok := u.pages[tmpl]
	if !ok {
		panic("webui: no page " + tmpl)
	}
	p.Data = data
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		u.o.Logger.Error("render page", "page", tmpl, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// fail shows an error page.
func (u *UI) fail(w http.ResponseWriter, p *page, status int, msg string) {
	p.Title = p.T("err.title")
	p.Error = msg
	u.render(w, p, status, "error", nil)
}

// failErr shows err as an error page with the status its code maps to.
func (u *UI) failErr(w http.ResponseWriter, p *page, err error) {
	u.fail(w, p, httpserver.StatusOf(err), p.errText(err))
}

// errText is what a person is told about err: the app's own message for
// what they can fix (it names the problem and the fix; the app writes it
// in English, so Dutch pages say so in front), a general line otherwise.
func (p *page) errText(err error) string {
	var e *newsletter.Error
	if !errors.As(err, &e) || newsletter.ErrorCode(err) == newsletter.EINTERNAL {
		p.ui.o.Logger.Error("admin page", "path", p.Path, "err", err)
		return p.T("err.internal")
	}
	return p.T("err.app", err.Error())
}

// flashKey keeps only a known message key (the page shows its text):
// a link cannot make a page say anything else.
func flashKey(k string) string {
	if _, ok := catalog[i18n.NL]["ok."+k]; ok {
		return "ok." + k
	}
	return ""
}

// back redirects to path after a change, with the message ok.<msg>.
func back(w http.ResponseWriter, r *http.Request, path, msg string) {
	if msg != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "ok=" + url.QueryEscape(msg)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func escapePath(s string) string { return url.PathEscape(s) }

func editionPath(id string) string { return "/admin/editions/" + url.PathEscape(id) }
func listPath(slug string) string  { return "/admin/lists/" + url.PathEscape(slug) }
func subscriberPath(email string) string {
	return "/admin/subscribers/" + url.PathEscape(email)
}

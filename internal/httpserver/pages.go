package httpserver

import (
	"errors"
	"html/template"
	"net/http"
	"strings"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/i18n"
	"newsletter/internal/token"
)

// The public pages: one layout, every string from the page's language
// catalog (publictext.go), fluid from 320 px up.
var pages = template.Must(template.New("layout").Parse(`{{define "top"}}<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{{.Title}}{{if .Brand}} · {{.Brand}}{{end}}</title>
{{- if .Feed}}<link rel="alternate" type="application/atom+xml" href="/archive/feed.atom" title="{{.Brand}}">{{end}}
<style>:root{color-scheme:light dark}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:40rem;margin:0 auto;padding:1.5rem 1rem 3rem;color:#222;background:#fff;line-height:1.5;overflow-wrap:break-word}
h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0 1rem}
button,.button{display:inline-block;font:inherit;font-size:1rem;min-height:44px;padding:.65rem 1.2rem;border:0;border-radius:4px;background:#1f5f8b;color:#fff;cursor:pointer;text-decoration:none;box-sizing:border-box;max-width:100%}
input[type=email],input[type=text]{font:inherit;width:100%;max-width:24rem;box-sizing:border-box;padding:.55rem;border:1px solid #888;border-radius:4px;margin:.25rem 0 .75rem}
label{display:block}.check{display:flex;gap:.5rem;align-items:flex-start;margin:.5rem 0}.check input{flex:none;margin-top:.35rem;width:1.1rem;height:1.1rem}
.brand{color:#555;font-weight:600;margin:0}.brand a{color:inherit;text-decoration:none}
.muted{color:#595959;font-size:.95rem} li{margin:.6rem 0} a{color:#1f5f8b}
.items{list-style:none;padding:0}.items h2{font-size:1.15rem;margin:0}.items p{margin:.2rem 0}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin:1rem 0}
.pager{display:flex;justify-content:space-between;gap:1rem;flex-wrap:wrap}
.error{color:#a00000;font-weight:600}
footer{margin-top:3rem;border-top:1px solid #ddd;padding-top:1rem}
.hp{position:absolute;left:-10000px}
@media (prefers-color-scheme: dark){body{background:#121212;color:#e6e6e6}a{color:#8ec5ee}.muted,.brand{color:#b0b0b0}footer{border-color:#444}.error{color:#ff8a8a}input[type=email],input[type=text]{background:#1e1e1e;color:#e6e6e6}}
</style></head><body>
<p class="brand"><a href="/archive/{{.LangQuery}}">{{.Brand}}</a></p>{{end}}
{{define "bottom"}}<footer class="muted"><p><a href="/archive/{{.LangQuery}}">{{.T.T "footer.archive"}}</a> · <a href="/subscribe{{.LangQuery}}">{{.T.T "footer.subscribe"}}</a></p>
{{- with .Contact}}<p>{{$.T.T "footer.contact" .}}</p>{{end}}</footer></body></html>{{end}}
{{define "message"}}{{template "top" .}}<h1>{{.Title}}</h1><p>{{.Text}}</p>{{with .Extra}}<p>{{.}}</p>{{end}}
{{- if .Actions}}<p class="actions">{{range .Actions}}<a class="button" href="{{.URL}}">{{.Label}}</a>{{end}}</p>{{end}}{{template "bottom" .}}{{end}}
{{define "unsubscribe"}}{{template "top" .}}<h1>{{.T.T "unsub.title"}}</h1>
<p>{{.T.T "unsub.ask" .Email}}</p>
<form method="post"><input type="hidden" name="confirm" value="1"><button type="submit">{{.T.T "unsub.button"}}</button></form>
<p>{{.T.T "unsub.prefs"}} <a href="{{.PrefsURL}}">{{.T.T "unsub.prefsBtn"}}</a></p>
{{template "bottom" .}}{{end}}
{{define "expired"}}{{template "top" .}}<h1>{{.T.T "expired.title"}}</h1>
<p>{{.T.T "expired.text"}}</p>
<form method="post" action="{{.Action}}"><button type="submit">{{.T.T "expired.send"}}</button></form>
<p class="muted">{{.T.T "expired.unsub"}}</p>
{{template "bottom" .}}{{end}}
{{define "badlink"}}{{template "top" .}}<h1>{{.T.T "bad.title"}}</h1>
<p>{{.T.T "bad.text"}}</p><p>{{.T.T "bad.offer"}}</p>
<form method="post" action="/new-link{{.LangQuery}}"><label>{{.T.T "bad.email"}} <input type="email" name="email" required maxlength="254" autocomplete="email"></label>
<div class="hp" aria-hidden="true"><label>{{.T.T "sub.honeypot"}} <input type="text" name="website" tabindex="-1" autocomplete="off"></label></div>
<button type="submit">{{.T.T "bad.send"}}</button></form>
{{template "bottom" .}}{{end}}
{{define "preferences"}}{{template "top" .}}<h1>{{.T.T "prefs.title"}}</h1>
<p>{{.T.T "prefs.choose" .Email}}</p>
{{if .Unsubscribed}}<p><strong>{{.T.T "prefs.unsubscribed"}}</strong></p>{{end}}
<form method="post">{{range .Lists}}<label class="check"><input type="checkbox" name="list" value="{{.Slug}}"{{if .On}} checked{{end}}><span>{{.Name}}{{if .Description}} <span class="muted">— {{.Description}}</span>{{end}}{{if eq .State "unconfirmed"}} <span class="muted">{{$.T.T "prefs.pending"}}</span>{{else if and .DoubleOptIn (not .On)}} <span class="muted">{{$.T.T "prefs.willConfirm"}}</span>{{end}}</span></label>{{end}}
<p><button type="submit">{{.T.T "prefs.save"}}</button></p></form>
{{if .Saved}}<p><strong>{{.T.T "prefs.saved"}}</strong></p>{{end}}
<p class="muted">{{.T.T "prefs.none"}}</p>
{{template "bottom" .}}{{end}}`))

type pageData struct {
	Title, Text, Extra, Brand, Email, PrefsURL string
	Lists                                      []prefList
	Saved, Unsubscribed                        bool
	Action                                     string // the form's target, where it is not the page itself
	Actions                                    []pageLink
	// Subscribe form and confirm page.
	ListSlug, ListName, Name, Error string
	Choices                         []prefList // the public lists, on /subscribe without a list
	// Archive index.
	Archive *archiveView
	Feed    bool

	Lang      i18n.Lang
	T         tr
	LangQuery string // "?lang=en" when the page's language came from the query
	Contact   string // the sender's contact address
}

type pageLink struct{ Label, URL string }

type prefList struct {
	Slug, Name, Description, State string
	On, DoubleOptIn                bool
}

// page starts the data of a page in lang.
func (s *Server) page(r *http.Request, lang i18n.Lang) pageData {
	d := pageData{Lang: lang, T: tr{lang}, Brand: s.App.Cfg.BrandName, Contact: s.App.Cfg.Contact()}
	if q := r.URL.Query().Get("lang"); q == string(lang) {
		d.LangQuery = "?lang=" + q
	}
	return d
}

func (s *Server) render(w http.ResponseWriter, status int, name string, d pageData) {
	if d.T.lang == "" {
		d.T, d.Lang = tr{i18n.NL}, i18n.NL
	}
	if d.Brand == "" {
		d.Brand = s.App.Cfg.BrandName
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", string(d.Lang))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, d); err != nil {
		s.Logger.Error("render page", "page", name, "err", err)
	}
}

// message renders the message page with the strings title and text.
func (s *Server) message(w http.ResponseWriter, r *http.Request, lang i18n.Lang, status int, title, text string, args ...any) {
	d := s.page(r, lang)
	d.Title, d.Text = d.T.T(title), d.T.T(text, args...)
	s.render(w, status, "message", d)
}

// badLink answers a link that is damaged or forged: it offers to email a
// fresh one, and names whom to ask.
func (s *Server) badLink(w http.ResponseWriter, r *http.Request, err error) {
	s.Logger.Debug("refused link", "err", err)
	d := s.page(r, requestLang(r, ""))
	d.Title = d.T.T("bad.title")
	s.render(w, http.StatusBadRequest, "badlink", d)
}

// notFound is the public pages' answer to a path that leads nowhere.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.message(w, r, requestLang(r, ""), http.StatusNotFound, "notfound.title", "notfound.text")
}

// publicNotFound replaces the router's own "404 page not found" (plain
// text, English) outside the API with the public not-found page, in the
// reader's language. Handlers' own answers (HTML pages, JSON errors) pass
// unchanged, and so does the router's 405.
func (s *Server) publicNotFound(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&notFoundWriter{ResponseWriter: w, page: func() { s.notFound(w, r) }}, r)
	})
}

// notFoundWriter swaps a plain-text 404 for page.
type notFoundWriter struct {
	http.ResponseWriter
	page    func()
	swapped bool
}

func (n *notFoundWriter) WriteHeader(status int) {
	if status == http.StatusNotFound && strings.HasPrefix(n.Header().Get("Content-Type"), "text/plain") {
		n.swapped = true
		n.Header().Del("Content-Type")
		n.page()
		return
	}
	n.ResponseWriter.WriteHeader(status)
}

func (n *notFoundWriter) Write(b []byte) (int, error) {
	if n.swapped {
		return len(b), nil
	}
	return n.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (n *notFoundWriter) Unwrap() http.ResponseWriter { return n.ResponseWriter }

// publicFailure answers a public page whose use case failed: notFound
// (a text key) when the thing does not exist, else a friendly page; never
// the error's internals (a Redis address, a stack of causes), which go to
// the log.
func (s *Server) publicFailure(w http.ResponseWriter, r *http.Request, lang i18n.Lang, err error, notFoundTitle, notFoundText string) {
	if newsletter.ErrorCode(err) == newsletter.ENOTFOUND {
		s.message(w, r, lang, http.StatusNotFound, notFoundTitle, notFoundText)
		return
	}
	s.Logger.Error("public page failed", "path", r.URL.Path, "err", err)
	status := StatusOf(err)
	if status < 500 {
		status = http.StatusInternalServerError
	}
	s.message(w, r, lang, status, "error.title", "error.text")
}

// unsubscribeLang is the language of an unsubscribe page: the edition's
// whose link it is.
func (s *Server) unsubscribeLang(r *http.Request, c token.Claims) i18n.Lang {
	return requestLang(r, s.App.EditionLanguage(r.Context(), c.Edition))
}

func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	c, err := s.App.Links.Signer.Verify(r.PathValue("token"), token.Unsubscribe, s.App.Now())
	if err != nil {
		s.badLink(w, r, err)
		return
	}
	d := s.page(r, s.unsubscribeLang(r, c))
	d.Title, d.Email, d.PrefsURL = d.T.T("unsub.title"), c.Email, s.prefsURL(c.Email, d.Lang)
	s.render(w, http.StatusOK, "unsubscribe", d)
}

// prefsURL is email's preferences link, keeping the page's language.
func (s *Server) prefsURL(email string, lang i18n.Lang) string {
	return s.App.Links.Preferences(email) + "?lang=" + string(lang)
}

// unsubscribePost serves both the RFC 8058 one-click POST (body
// "List-Unsubscribe=One-Click", sent by mail clients without cookies or
// JavaScript) and the confirmation form.
func (s *Server) unsubscribePost(w http.ResponseWriter, r *http.Request) {
	c, err := s.App.Links.Signer.Verify(r.PathValue("token"), token.Unsubscribe, s.App.Now())
	if err != nil {
		s.badLink(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	// RFC 8058: the one-click POST may come urlencoded or as
	// multipart/form-data; ParseMultipartForm reads either into PostForm.
	if err := r.ParseMultipartForm(4096); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		_ = r.ParseForm()
	}
	lang := s.unsubscribeLang(r, c)
	oneClick := r.PostForm.Get("List-Unsubscribe") == "One-Click"
	if !oneClick && r.PostForm.Get("confirm") == "" {
		s.message(w, r, lang, http.StatusBadRequest, "unsub.title", "unsub.confirm")
		return
	}
	reason := "link in edition " + c.Edition
	if oneClick {
		reason = "one-click (RFC 8058), edition " + c.Edition
	}
	if err := s.App.Unsubscribe(r.Context(), c.Email, reason); err != nil {
		s.Logger.Error("unsubscribe", "err", err)
		s.message(w, r, lang, http.StatusServiceUnavailable, "error.title", "unsub.failed")
		return
	}
	s.Logger.Info("unsubscribed", "one_click", oneClick, "edition_id", c.Edition)
	d := s.page(r, lang)
	d.Title, d.Text, d.Extra = d.T.T("unsub.done"), d.T.T("unsub.doneText", c.Email), d.T.T("unsub.undo")
	d.Actions = []pageLink{{d.T.T("unsub.toPrefs"), s.prefsURL(c.Email, lang)}, {d.T.T("unsub.toArch"), "/archive/" + d.LangQuery}}
	s.render(w, http.StatusOK, "message", d)
}

func (s *Server) preferencesData(r *http.Request, p *app.Preferences) pageData {
	d := s.page(r, requestLang(r, ""))
	d.Title, d.Email, d.Unsubscribed = d.T.T("prefs.title"), p.Email, p.Unsubscribed
	for _, l := range p.Lists {
		d.Lists = append(d.Lists, prefList{Slug: l.Slug, Name: l.Name, Description: l.Description, State: string(l.State), On: l.On, DoubleOptIn: l.DoubleOptIn})
	}
	return d
}

// renewPreferences emails a fresh preferences link to the address of an
// authentic (if expired) link; the answer is the same whatever happens.
func (s *Server) renewPreferences(w http.ResponseWriter, r *http.Request) {
	c, err := s.App.Links.Signer.Verify(r.PathValue("token"), token.Preferences, s.App.Now())
	if err != nil && !errors.Is(err, token.ErrExpired) {
		s.badLink(w, r, err)
		return
	}
	s.sendFreshLink(w, r, c.Email)
}

// newLink emails a fresh preferences link to the address typed on the
// bad-link page. The answer is the same whatever the address.
func (s *Server) newLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		s.message(w, r, requestLang(r, ""), http.StatusBadRequest, "bad.title", "sub.badForm")
		return
	}
	if r.PostForm.Get(honeypot) != "" {
		s.Logger.Info("new-link form honeypot filled; nothing done")
		s.message(w, r, requestLang(r, ""), http.StatusOK, "sent.title", "sent.text")
		return
	}
	s.freshLinkAnswer(w, r, s.App.RequestPreferencesLink(r.Context(), r.PostForm.Get("email"), s.clientAddr(r)))
}

func (s *Server) sendFreshLink(w http.ResponseWriter, r *http.Request, email string) {
	s.freshLinkAnswer(w, r, s.App.SendPreferencesLink(r.Context(), email, s.clientAddr(r)))
}

// freshLinkAnswer is the one answer to a request for a fresh link.
func (s *Server) freshLinkAnswer(w http.ResponseWriter, r *http.Request, err error) {
	lang := requestLang(r, "")
	if err != nil && !errors.Is(err, app.ErrTooManyRequests) && newsletter.ErrorCode(err) != newsletter.EINVALID {
		s.publicFailure(w, r, lang, err, "notfound.title", "notfound.text")
		return
	}
	s.message(w, r, lang, http.StatusOK, "sent.title", "sent.text")
}

// preferencesClaims verifies the page's link; an expired one gets the
// offer of a fresh link, a bad one the bad-link page.
func (s *Server) preferencesClaims(w http.ResponseWriter, r *http.Request) (token.Claims, bool) {
	c, err := s.App.Links.Signer.Verify(r.PathValue("token"), token.Preferences, s.App.Now())
	if errors.Is(err, token.ErrExpired) {
		d := s.page(r, requestLang(r, ""))
		d.Title, d.Action = d.T.T("expired.title"), "/p/"+r.PathValue("token")+"/renew"+d.LangQuery
		s.render(w, http.StatusBadRequest, "expired", d)
		return c, false
	}
	if err != nil {
		s.badLink(w, r, err)
		return c, false
	}
	return c, true
}

func (s *Server) preferencesPage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.preferencesClaims(w, r)
	if !ok {
		return
	}
	lists, err := s.App.Preferences(r.Context(), c.Email)
	if err != nil {
		s.publicFailure(w, r, requestLang(r, ""), err, "notfound.title", "address.text")
		return
	}
	s.render(w, http.StatusOK, "preferences", s.preferencesData(r, lists))
}

func (s *Server) preferencesPost(w http.ResponseWriter, r *http.Request) {
	c, ok := s.preferencesClaims(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	want := map[string]bool{}
	for _, l := range r.PostForm["list"] {
		want[l] = true
	}
	lists, err := s.App.SavePreferences(r.Context(), c.Email, want)
	if err != nil {
		s.publicFailure(w, r, requestLang(r, ""), err, "notfound.title", "address.text")
		return
	}
	d := s.preferencesData(r, lists)
	d.Saved = true
	s.render(w, http.StatusOK, "preferences", d)
}

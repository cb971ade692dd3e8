package httpserver

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strings"

	"newsletter"
	"newsletter/internal/app"
)

// The sign-in page, sign-out and the pages that refuse a request: small
// and self-contained (template
// and CSS in authpages/), Dutch by default and English with ?lang=en or
// for an account that chose English.

//go:embed authpages
var authFiles embed.FS

var (
	authTmpl = template.Must(template.ParseFS(authFiles, "authpages/auth.html"))
	authCSS  = func() template.CSS {
		b, err := authFiles.ReadFile("authpages/auth.css")
		if err != nil {
			panic(err)
		}
		return template.CSS(b) // our own file, not input
	}()
)

// authText holds every string of these pages, per language.
var authText = map[string]map[string]string{
	"nl": {
		"login_title": "Inloggen", "email": "E-mailadres", "password": "Wachtwoord", "login_button": "Inloggen",
		"other_lang": "English", "login_failed": "Onjuist e-mailadres of wachtwoord. Controleer beide en probeer het opnieuw.",
		"too_many":     "Te veel inlogpogingen. Wacht een paar minuten en probeer het opnieuw.",
		"bad_form":     "Het formulier is te groot of onleesbaar. Probeer het opnieuw.",
		"signin_title": "Log eerst in", "signin_text": "Deze pagina is alleen voor ingelogde gebruikers.",
		"forbidden_title": "Geen toegang", "forbidden_text": "Uw rol geeft geen toegang tot deze pagina of handeling. Vraag zo nodig een beheerder.",
		"csrf_title": "Formulier verlopen", "csrf_text": "Het formulier hoort niet (meer) bij uw sessie. Laad de pagina opnieuw en probeer het nog eens.",
		"crossorigin_title": "Geweigerd", "crossorigin_text": "Dit verzoek kwam van een andere website en is daarom geweigerd.",
		"unavailable_title": "Even geduld", "unavailable_text": "Dit lukte nu niet door een storing. Probeer het over een paar minuten opnieuw.",
		"toolarge_title": "Te groot", "toolarge_text": "Het formulier of bestand is groter dan 20 MB. Splits het bestand en probeer het opnieuw.",
		"to_login": "Naar de inlogpagina",
	},
	"en": {
		"login_title": "Sign in", "email": "Email address", "password": "Password", "login_button": "Sign in",
		"other_lang": "Nederlands", "login_failed": "Wrong email address or password. Check both and try again.",
		"too_many":     "Too many sign-in attempts. Wait a few minutes and try again.",
		"bad_form":     "The form is too large or unreadable. Please try again.",
		"signin_title": "Please sign in", "signin_text": "This page is for signed-in users only.",
		"forbidden_title": "No access", "forbidden_text": "Your role does not give access to this page or action. Ask an admin if you need it.",
		"csrf_title": "Form expired", "csrf_text": "This form does not belong to your session (any more). Reload the page and try again.",
		"crossorigin_title": "Refused", "crossorigin_text": "This request came from another website and was refused.",
		"unavailable_title": "Please wait", "unavailable_text": "This did not work because of an outage. Please try again in a few minutes.",
		"toolarge_title": "Too large", "toolarge_text": "The form or file is larger than 20 MB. Split the file and try again.",
		"to_login": "To the sign-in page",
	},
}

type authPage struct {
	Lang, Title, Brand string
	CSS                template.CSS
	T                  map[string]string
	// Sign-in form.
	Email, Error, Next, OtherLang, OtherLangURL string
	// Message pages.
	Text, Link, LinkText string
}

// langOf is the language of a page: the account's, else ?lang=en (or the
// sign-in form's lang field), else Dutch.
func langOf(r *http.Request, acct *newsletter.Account) string {
	if acct != nil && acct.Lang == "en" {
		return "en"
	}
	if r.URL.Query().Get("lang") == "en" || r.PostForm.Get("lang") == "en" {
		return "en"
	}
	return "nl"
}

func (s *Server) renderAuth(w http.ResponseWriter, status int, name string, p authPage) {
	if p.Lang != "en" {
		p.Lang = "nl"
	}
	p.T, p.Brand, p.CSS = authText[p.Lang], s.App.Cfg.BrandName, authCSS
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := authTmpl.ExecuteTemplate(w, name, p); err != nil {
		s.Logger.Error("render page", "page", name, "err", err)
	}
}

// authMessage answers with one of the message pages (key: signin,
// forbidden, csrf, crossorigin, unavailable).
func (s *Server) authMessage(w http.ResponseWriter, status int, lang, key string) {
	t := authText[lang]
	p := authPage{Lang: lang, Title: t[key+"_title"], Text: t[key+"_text"]}
	if key == "signin" || key == "csrf" {
		p.Link, p.LinkText = "/admin/login?lang="+lang, t["to_login"]
	}
	s.renderAuth(w, status, "message", p)
}

// safeNext is where to go after signing in: a path under /admin/ of this
// site, never another site (no open redirect).
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/admin/") ||
		path.Clean(u.Path) != strings.TrimSuffix(u.Path, "/") ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(u.Path, "/admin/login") {
		return "/admin/"
	}
	return u.RequestURI()
}

func (s *Server) loginForm(w http.ResponseWriter, status int, lang, email, next, errKey string) {
	other := "en"
	if lang == "en" {
		other = "nl"
	}
	p := authPage{Lang: lang, Title: authText[lang]["login_title"], Email: email, Next: safeNext(next), OtherLang: other,
		OtherLangURL: "/admin/login?lang=" + other + "&next=" + url.QueryEscape(safeNext(next))}
	if errKey != "" {
		p.Error = authText[lang][errKey]
	}
	s.renderAuth(w, status, "login", p)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.loginForm(w, http.StatusOK, langOf(r, nil), "", r.URL.Query().Get("next"), "")
}

// loginPost signs in. Whatever was wrong (no such account, wrong
// password) the answer is one and the same; a session the client already
// had is ended, and the new one has a new id.
func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.loginForm(w, http.StatusBadRequest, langOf(r, nil), "", "", "bad_form")
		return
	}
	lang, email, next := langOf(r, nil), r.PostForm.Get("email"), r.PostForm.Get("next")
	sess, err := s.App.Login(r.Context(), email, r.PostForm.Get("password"), s.clientAddr(r))
	switch {
	case errors.Is(err, app.ErrLoginFailed):
		s.loginForm(w, http.StatusUnauthorized, lang, email, next, "login_failed")
		return
	case errors.Is(err, app.ErrTooManyLogins):
		s.loginForm(w, http.StatusTooManyRequests, lang, email, next, "too_many")
		return
	case err != nil:
		s.Logger.Error("sign-in failed", "err", err)
		s.authMessage(w, StatusOf(err), lang, "unavailable")
		return
	}
	if old, err := r.Cookie(CookieName(s.secureCookies())); err == nil {
		if err := s.App.Logout(r.Context(), old.Value); err != nil {
			s.Logger.Warn("ending the previous session", "err", err)
		}
	}
	http.SetCookie(w, s.sessionCookie(sess.ID))
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

func (s *Server) sessionCookie(value string) *http.Cookie {
	return &http.Cookie{Name: CookieName(s.secureCookies()), Value: value, Path: "/",
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode}
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	c := s.sessionCookie("")
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// logout ends the session (the form carries its token, so no other site
// can sign anyone out) and goes to the sign-in page.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	lang := "nl"
	if c, err := r.Cookie(CookieName(s.secureCookies())); err == nil {
		sess, err := s.App.SessionFor(r.Context(), c.Value)
		if err == nil {
			if ok, _ := csrfOK(w, r, sess.CSRF); !ok {
				s.forbidden(w, r, sess.Account, errCSRF)
				return
			}
			lang = langOf(r, &sess.Account)
			if err := s.App.Logout(r.Context(), c.Value); err != nil {
				s.Logger.Error("sign-out failed", "err", err)
				s.authMessage(w, StatusOf(err), lang, "unavailable")
				return
			}
		}
	}
	s.clearCookie(w)
	http.Redirect(w, r, "/admin/login?lang="+lang, http.StatusSeeOther)
}

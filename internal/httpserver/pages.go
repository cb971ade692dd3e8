package httpserver

import (
	"errors"
	"html/template"
	"net/http"

	"newsletter"

	"newsletter/internal/app"
	"newsletter/internal/token"
)

var pages = template.Must(template.New("layout").Parse(`{{define "top"}}<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222;line-height:1.5}
button{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:4px;background:#1f5f8b;color:#fff;cursor:pointer}
.muted{color:#666;font-size:.9rem} li{margin:.3rem 0} a{color:#1f5f8b}</style></head><body>
<p class="muted">{{.Brand}}</p>{{end}}
{{define "bottom"}}</body></html>{{end}}
{{define "message"}}{{template "top" .}}<h1>{{.Title}}</h1><p>{{.Text}}</p>{{if .Extra}}<p class="muted">{{.Extra}}</p>{{end}}{{template "bottom" .}}{{end}}
{{define "unsubscribe"}}{{template "top" .}}<h1>Afmelden</h1>
<p>Wilt u <strong>{{.Email}}</strong> afmelden voor de nieuwsbrief? U ontvangt daarna geen edities meer.</p>
<form method="post"><input type="hidden" name="confirm" value="1"><button type="submit">Ja, meld mij af</button></form>
<p class="muted">Unsubscribe {{.Email}} from this newsletter: press the button. Liever alleen bepaalde lijsten? <a href="{{.PrefsURL}}">Wijzig uw voorkeuren</a>.</p>
{{template "bottom" .}}{{end}}
{{define "expired"}}{{template "top" .}}<h1>Deze link is verlopen</h1>
<p>Voor uw privacy werkt een link naar uw voorkeuren een beperkte tijd. Wij sturen u graag een nieuwe.</p>
<form method="post" action="{{.Action}}"><button type="submit">Stuur mij een nieuwe link</button></form>
<p class="muted">Afmelden kan altijd met de link onderaan elke nieuwsbrief.</p>
{{template "bottom" .}}{{end}}
{{define "preferences"}}{{template "top" .}}<h1>Uw voorkeuren</h1>
<p>Kies welke lijsten <strong>{{.Email}}</strong> ontvangt.</p>
{{if .Unsubscribed}}<p><strong>U bent nu afgemeld voor alle nieuwsbrieven.</strong> Vink een lijst aan en sla op om die weer te ontvangen.</p>{{end}}
<form method="post">{{range .Lists}}<label><input type="checkbox" name="list" value="{{.Slug}}"{{if .On}} checked{{end}}> {{.Name}}</label>{{if .Description}} <span class="muted">— {{.Description}}</span>{{end}}{{if eq .State "unconfirmed"}} <span class="muted">(wacht op uw bevestiging per e-mail)</span>{{else if and .DoubleOptIn (not .On)}} <span class="muted">(u krijgt eerst een e-mail om te bevestigen)</span>{{end}}<br>{{end}}
<p><button type="submit">Opslaan</button></p></form>
{{if .Saved}}<p><strong>Opgeslagen.</strong></p>{{end}}
<p class="muted">Geen enkele lijst aangevinkt betekent: geen nieuwsbrieven meer.</p>
{{template "bottom" .}}{{end}}`))

type pageData struct {
	Title, Text, Extra, Brand, Email, PrefsURL string
	Lists                                      []prefList
	Saved, Unsubscribed                        bool
	Action                                     string // the form's target, where it is not the page itself
	// Subscribe form and confirm page.
	ListSlug, ListName, Error string
}

type prefList struct {
	Slug, Name, Description, State string
	On, DoubleOptIn                bool
}

func (s *Server) render(w http.ResponseWriter, status int, name string, d pageData) {
	d.Brand = s.App.Cfg.BrandName
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, d); err != nil {
		s.Logger.Error("render page", "page", name, "err", err)
	}
}

func (s *Server) badLink(w http.ResponseWriter, err error) {
	s.Logger.Debug("refused link", "err", err)
	s.render(w, http.StatusBadRequest, "message", pageData{Title: "Deze link werkt niet",
		Text: "De link is ongeldig, gewijzigd of verlopen. Gebruik de link uit de meest recente nieuwsbrief."})
}

// What a public page says when the thing it is about does not exist.
var (
	pageNotFound    = pageData{Title: "Niet gevonden", Text: "Deze pagina bestaat niet (meer). Controleer de link."}
	listNotFound    = pageData{Title: "Lijst niet gevonden", Text: "Deze nieuwsbrief bestaat niet (meer). Controleer de link."}
	addressNotFound = pageData{Title: "Niet gevonden", Text: "Dit adres staat niet (meer) in onze lijsten."}
)

// publicFailure answers a public page whose use case failed: notFound
// when the thing does not exist, else a friendly page; never the error's
// internals (a Redis address, a stack of causes), which go to the log.
func (s *Server) publicFailure(w http.ResponseWriter, r *http.Request, err error, notFound pageData) {
	if newsletter.ErrorCode(err) == newsletter.ENOTFOUND {
		s.render(w, http.StatusNotFound, "message", notFound)
		return
	}
	s.Logger.Error("public page failed", "path", r.URL.Path, "err", err)
	s.render(w, StatusOf(err), "message", pageData{Title: "Even geduld",
		Text: "Dit lukte nu niet door een storing. Probeer het over een paar minuten opnieuw."})
}

func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	c, err := s.App.Links.Signer.Verify(r.PathValue("token"), token.Unsubscribe, s.App.Now())
	if err != nil {
		s.badLink(w, err)
		return
	}
	s.render(w, http.StatusOK, "unsubscribe", pageData{Title: "Afmelden", Email: c.Email, PrefsURL: s.App.Links.Preferences(c.Email)})
}

// unsubscribePost serves both the RFC 8058 one-click POST (body
// "List-Unsubscribe=One-Click", sent by mail clients without cookies or
// JavaScript) and the confirmation form.
func (s *Server) unsubscribePost(w http.ResponseWriter, r *http.Request) {
	c, err := s.App.Links.Signer.Verify(r.PathValue("token"), token.Unsubscribe, s.App.Now())
	if err != nil {
		s.badLink(w, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	// RFC 8058: the one-click POST may come urlencoded or as
	// multipart/form-data; ParseMultipartForm reads either into PostForm.
	if err := r.ParseMultipartForm(4096); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		_ = r.ParseForm()
	}
	oneClick := r.PostForm.Get("List-Unsubscribe") == "One-Click"
	if !oneClick && r.PostForm.Get("confirm") == "" {
		s.render(w, http.StatusBadRequest, "message", pageData{Title: "Afmelden", Text: "Bevestig het afmelden met de knop op de vorige pagina."})
		return
	}
	reason := "link in edition " + c.Edition
	if oneClick {
		reason = "one-click (RFC 8058), edition " + c.Edition
	}
	if err := s.App.Unsubscribe(r.Context(), c.Email, reason); err != nil {
		s.Logger.Error("unsubscribe", "err", err)
		s.render(w, http.StatusServiceUnavailable, "message", pageData{Title: "Even geduld", Text: "Afmelden lukte nu niet door een storing. Probeer het over een paar minuten opnieuw."})
		return
	}
	s.Logger.Info("unsubscribed", "one_click", oneClick, "edition_id", c.Edition)
	s.render(w, http.StatusOK, "message", pageData{Title: "U bent afgemeld",
		Text:  c.Email + " ontvangt de nieuwsbrief niet meer. Per ongeluk? Via de voorkeuren kunt u zich opnieuw aanmelden.",
		Extra: "You have been unsubscribed."})
}

func (s *Server) preferencesData(p *app.Preferences) pageData {
	d := pageData{Title: "Voorkeuren", Email: p.Email, Unsubscribed: p.Unsubscribed}
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
		s.badLink(w, err)
		return
	}
	if err := s.App.SendPreferencesLink(r.Context(), c.Email, clientAddr(r)); err != nil && !errors.Is(err, app.ErrTooManyRequests) {
		s.publicFailure(w, r, err, pageNotFound)
		return
	}
	s.render(w, http.StatusOK, "message", pageData{Title: "Nieuwe link onderweg",
		Text: "Als dit adres bij ons bekend is, ontvangt u binnen enkele minuten een e-mail met een nieuwe link naar uw voorkeuren."})
}

// preferencesClaims verifies the page's link; an expired one gets the
// offer of a fresh link, a bad one the bad-link page.
func (s *Server) preferencesClaims(w http.ResponseWriter, r *http.Request) (token.Claims, bool) {
	c, err := s.App.Links.Signer.Verify(r.PathValue("token"), token.Preferences, s.App.Now())
	if errors.Is(err, token.ErrExpired) {
		s.render(w, http.StatusBadRequest, "expired", pageData{Title: "Link verlopen", Action: "/p/" + r.PathValue("token") + "/renew"})
		return c, false
	}
	if err != nil {
		s.badLink(w, err)
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
		s.publicFailure(w, r, err, addressNotFound)
		return
	}
	s.render(w, http.StatusOK, "preferences", s.preferencesData(lists))
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
		s.publicFailure(w, r, err, addressNotFound)
		return
	}
	d := s.preferencesData(lists)
	d.Saved = true
	s.render(w, http.StatusOK, "preferences", d)
}

package httpserver

import (
	"errors"
	"html/template"
	"net"
	"net/http"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/token"
)

// The public subscribe form and the double opt-in confirm page share the
// layout of pages.go.
var _ = template.Must(pages.New("subscribe").Parse(`{{template "top" .}}<h1>Aanmelden: {{.ListName}}</h1>
<p>Vul uw e-mailadres in. U krijgt een e-mail met een link om uw aanmelding te bevestigen.</p>
{{if .Error}}<p><strong>{{.Error}}</strong></p>{{end}}
<form method="post" action="/subscribe"><input type="hidden" name="list" value="{{.ListSlug}}">
<label>E-mailadres <input type="email" name="email" value="{{.Email}}" required maxlength="254" autocomplete="email"></label>
<div aria-hidden="true" style="position:absolute;left:-10000px"><label>Laat dit veld leeg <input type="text" name="website" tabindex="-1" autocomplete="off"></label></div>
<p><button type="submit">Aanmelden</button></p></form>
{{template "bottom" .}}`))

var _ = template.Must(pages.New("confirm").Parse(`{{template "top" .}}<h1>Aanmelding bevestigen</h1>
<p>Wilt u <strong>{{.Email}}</strong> aanmelden voor <strong>{{.ListName}}</strong>?</p>
<form method="post"><input type="hidden" name="confirm" value="1"><button type="submit">Ja, bevestig mijn aanmelding</button></form>
<p class="muted">Confirm your subscription with the button. Niet aangemeld? Sluit dan deze pagina; zonder bevestiging ontvangt u niets.</p>
{{template "bottom" .}}`))

func (s *Server) subscribeForm(w http.ResponseWriter, r *http.Request) {
	l, err := s.App.GetList(r.Context(), r.URL.Query().Get("list"))
	if err != nil {
		s.publicFailure(w, r, err, listNotFound)
		return
	}
	s.render(w, http.StatusOK, "subscribe", pageData{Title: "Aanmelden", ListSlug: l.Slug, ListName: l.Name})
}

// subscribePost answers the same whether or not the address was known, so
// the form cannot be used to find out who is subscribed.
func (s *Server) subscribePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		s.render(w, http.StatusBadRequest, "message", pageData{Title: "Aanmelden", Text: "Het formulier is te groot of onleesbaar. Probeer het opnieuw."})
		return
	}
	slug, raw := r.PostForm.Get("list"), r.PostForm.Get("email")
	l, err := s.App.GetList(r.Context(), slug)
	if err != nil {
		s.publicFailure(w, r, err, listNotFound)
		return
	}
	if r.PostForm.Get(honeypot) != "" {
		// Only a robot fills the hidden field: answer as if it worked.
		s.Logger.Info("subscribe form honeypot filled; nothing done")
		s.subscribeAnswer(w, l)
		return
	}
	if err := s.App.Subscribe(r.Context(), slug, raw, clientAddr(r)); err != nil {
		if errors.Is(err, app.ErrTooManyRequests) {
			s.render(w, http.StatusTooManyRequests, "message", pageData{Title: "Even geduld",
				Text: "Er komen nu te veel aanmeldingen binnen. Probeer het over een uur opnieuw."})
			return
		}
		if newsletter.ErrorCode(err) == newsletter.EINVALID {
			s.render(w, http.StatusBadRequest, "subscribe", pageData{Title: "Aanmelden", ListSlug: l.Slug, ListName: l.Name, Email: raw,
				Error: "Dit e-mailadres klopt niet. Controleer het en probeer het opnieuw."})
			return
		}
		s.publicFailure(w, r, err, listNotFound)
		return
	}
	s.subscribeAnswer(w, l)
}

// honeypot is a form field people do not see and robots fill in.
const honeypot = "website"

// subscribeAnswer is the one answer to a subscription request, whatever
// the store knew of the address.
func (s *Server) subscribeAnswer(w http.ResponseWriter, l *newsletter.List) {
	s.render(w, http.StatusOK, "message", pageData{Title: "Bijna klaar",
		Text: "Als dit adres zich kan aanmelden, ontvangt u binnen enkele minuten een e-mail. Klik op de link in die e-mail om uw aanmelding voor " + l.Name + " te bevestigen."})
}

// clientAddr is the requester's IP address, for the per-client quota.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) confirmClaims(w http.ResponseWriter, r *http.Request) (token.Claims, *newsletter.List, bool) {
	c, err := s.App.Links.Signer.Verify(r.PathValue("token"), token.Confirm, s.App.Now())
	if err != nil {
		s.badLink(w, err)
		return c, nil, false
	}
	l, err := s.App.GetList(r.Context(), c.List)
	if err != nil {
		s.publicFailure(w, r, err, listNotFound)
		return c, nil, false
	}
	return c, l, true
}

func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	c, l, ok := s.confirmClaims(w, r)
	if !ok {
		return
	}
	s.render(w, http.StatusOK, "confirm", pageData{Title: "Aanmelding bevestigen", Email: c.Email, ListName: l.Name})
}

func (s *Server) confirmPost(w http.ResponseWriter, r *http.Request) {
	c, l, ok := s.confirmClaims(w, r)
	if !ok {
		return
	}
	if err := s.App.ConfirmSubscription(r.Context(), c.Email, c.List); err != nil {
		switch newsletter.ErrorCode(err) {
		case newsletter.ENOTFOUND, newsletter.ECONFLICT:
			s.render(w, StatusOf(err), "message", pageData{Title: "Niet bevestigd",
				Text: "Er is voor dit adres geen aanmelding om te bevestigen. Meld u opnieuw aan."})
		default:
			s.publicFailure(w, r, err, listNotFound)
		}
		return
	}
	s.Logger.Info("subscription confirmed", "list", c.List)
	s.render(w, http.StatusOK, "message", pageData{Title: "Aanmelding bevestigd",
		Text:  c.Email + " ontvangt voortaan " + l.Name + ". Afmelden kan met de link onderaan elke nieuwsbrief.",
		Extra: "Your subscription is confirmed."})
}

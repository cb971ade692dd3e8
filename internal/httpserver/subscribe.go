package httpserver

import (
	"errors"
	"html/template"
	"net"
	"net/http"
	"slices"

	"github.com/realclientip/realclientip-go"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/i18n"
	"newsletter/internal/token"
)

// The public subscribe form and the double opt-in confirm page share the
// layout of pages.go. Without ?list= the form offers the public lists.
var _ = template.Must(pages.New("subscribe").Parse(`{{template "top" .}}<h1>{{.Title}}</h1>
<p>{{.T.T "sub.intro"}}</p>
{{with .Error}}<p class="error" role="alert">{{.}}</p>{{end}}
{{if or .ListSlug .Choices}}<form method="post" action="/subscribe{{.LangQuery}}">
{{- if .ListSlug}}<input type="hidden" name="list" value="{{.ListSlug}}">
{{- else}}<fieldset><legend>{{.T.T "sub.choose"}}</legend>{{range $i, $l := .Choices}}<label class="check"><input type="radio" name="list" value="{{$l.Slug}}" required{{if $l.On}} checked{{end}}><span>{{$l.Name}}{{with $l.Description}} <span class="muted">— {{.}}</span>{{end}}</span></label>{{end}}</fieldset>{{end}}
<label>{{.T.T "sub.email"}} <input type="email" name="email" value="{{.Email}}" required maxlength="254" autocomplete="email"></label>
<label>{{.T.T "sub.name"}} <input type="text" name="name" value="{{.Name}}" maxlength="100" autocomplete="name"></label>
<div class="hp" aria-hidden="true"><label>{{.T.T "sub.honeypot"}} <input type="text" name="website" tabindex="-1" autocomplete="off"></label></div>
<p><button type="submit">{{.T.T "sub.button"}}</button></p></form>
{{- else}}<p>{{.T.T "sub.noLists"}}</p>{{end}}
{{template "bottom" .}}`))

var _ = template.Must(pages.New("confirm").Parse(`{{template "top" .}}<h1>{{.T.T "confirm.title"}}</h1>
<p>{{.T.T "confirm.ask" .Email .ListName}}</p>
<form method="post"><input type="hidden" name="confirm" value="1"><button type="submit">{{.T.T "confirm.button"}}</button></form>
<p class="muted">{{.T.T "confirm.ignore"}}</p>
{{template "bottom" .}}`))

// subscribeData is the form for list slug ("" offers the public lists).
func (s *Server) subscribeData(r *http.Request, lang i18n.Lang, slug string) (pageData, error) {
	d := s.page(r, lang)
	d.Title = d.T.T("sub.title")
	if slug != "" {
		l, err := s.App.GetList(r.Context(), slug)
		if err != nil {
			return d, err
		}
		d.Title, d.ListSlug, d.ListName = d.T.T("sub.titleList", l.Name), l.Slug, l.Name
		return d, nil
	}
	lists, err := s.App.PublicLists(r.Context())
	if err != nil {
		return d, err
	}
	for _, l := range lists {
		d.Choices = append(d.Choices, prefList{Slug: l.Slug, Name: l.Name, Description: l.Description, On: len(lists) == 1})
	}
	return d, nil
}

func (s *Server) subscribeForm(w http.ResponseWriter, r *http.Request) {
	lang := requestLang(r, "")
	d, err := s.subscribeData(r, lang, r.URL.Query().Get("list"))
	if err != nil {
		s.publicFailure(w, r, lang, err, "confirm.noListHead", "confirm.noList")
		return
	}
	s.render(w, http.StatusOK, "subscribe", d)
}

// subscribePost answers the same whether or not the address was known, so
// the form cannot be used to find out who is subscribed.
func (s *Server) subscribePost(w http.ResponseWriter, r *http.Request) {
	lang := requestLang(r, "")
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		s.message(w, r, lang, http.StatusBadRequest, "sub.title", "sub.badForm")
		return
	}
	slug, raw, name := r.PostForm.Get("list"), r.PostForm.Get("email"), r.PostForm.Get("name")
	if slug == "" {
		d, err := s.subscribeData(r, lang, "")
		if err != nil {
			s.publicFailure(w, r, lang, err, "confirm.noListHead", "confirm.noList")
			return
		}
		d.Email, d.Name, d.Error = raw, name, d.T.T("sub.noList")
		s.render(w, http.StatusBadRequest, "subscribe", d)
		return
	}
	l, err := s.App.GetList(r.Context(), slug)
	if err != nil {
		s.publicFailure(w, r, lang, err, "confirm.noListHead", "confirm.noList")
		return
	}
	if r.PostForm.Get(honeypot) != "" {
		// Only a robot fills the hidden field: answer as if it worked.
		s.Logger.Info("subscribe form honeypot filled; nothing done")
		s.subscribeAnswer(w, r, lang, l)
		return
	}
	if err := s.App.SubscribeNamed(r.Context(), slug, raw, name, s.clientAddr(r)); err != nil {
		if errors.Is(err, app.ErrTooManyRequests) {
			s.message(w, r, lang, http.StatusTooManyRequests, "error.title", "sub.busy")
			return
		}
		if newsletter.ErrorCode(err) == newsletter.EINVALID {
			d, _ := s.subscribeData(r, lang, slug)
			d.Email, d.Name, d.Error = raw, name, d.T.T("sub.badEmail")
			s.render(w, http.StatusBadRequest, "subscribe", d)
			return
		}
		s.publicFailure(w, r, lang, err, "confirm.noListHead", "confirm.noList")
		return
	}
	s.subscribeAnswer(w, r, lang, l)
}

// honeypot is a form field people do not see and robots fill in.
const honeypot = "website"

// subscribeAnswer is the one answer to a subscription request, whatever
// the store knew of the address.
func (s *Server) subscribeAnswer(w http.ResponseWriter, r *http.Request, lang i18n.Lang, l *newsletter.List) {
	s.message(w, r, lang, http.StatusOK, "sub.almost", "sub.almostText", l.Name)
}

// clientAddr is the requester's IP address, for the per-client quotas:
// the connection's, or, when it comes from one of the trusted reverse
// proxies (NEWSLETTER_TRUSTED_PROXIES), the rightmost address of
// X-Forwarded-For that is not a trusted proxy. A header from anyone else
// is ignored: it would let a client pick a new address per request.
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	trusted := s.App.Cfg.TrustedProxies
	ip := net.ParseIP(host)
	if len(trusted) == 0 || ip == nil || !slices.ContainsFunc(trusted, func(n net.IPNet) bool { return n.Contains(ip) }) {
		return host
	}
	strat, err := realclientip.NewRightmostTrustedRangeStrategy("X-Forwarded-For", trusted)
	if err != nil {
		return host
	}
	if client := strat.ClientIP(r.Header, r.RemoteAddr); client != "" {
		return client
	}
	return host // no forwarded address, or only proxies: the proxy's own
}

func (s *Server) confirmClaims(w http.ResponseWriter, r *http.Request) (token.Claims, *newsletter.List, bool) {
	c, err := s.App.Links.Signer.Verify(r.PathValue("token"), token.Confirm, s.App.Now())
	if err != nil {
		s.badLink(w, r, err)
		return c, nil, false
	}
	l, err := s.App.GetList(r.Context(), c.List)
	if err != nil {
		s.publicFailure(w, r, requestLang(r, ""), err, "confirm.noListHead", "confirm.noList")
		return c, nil, false
	}
	return c, l, true
}

func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	c, l, ok := s.confirmClaims(w, r)
	if !ok {
		return
	}
	d := s.page(r, requestLang(r, ""))
	d.Title, d.Email, d.ListName = d.T.T("confirm.title"), c.Email, l.Name
	s.render(w, http.StatusOK, "confirm", d)
}

func (s *Server) confirmPost(w http.ResponseWriter, r *http.Request) {
	c, l, ok := s.confirmClaims(w, r)
	if !ok {
		return
	}
	lang := requestLang(r, "")
	if err := s.App.ConfirmSubscription(r.Context(), c.Email, c.List); err != nil {
		switch newsletter.ErrorCode(err) {
		case newsletter.ENOTFOUND, newsletter.ECONFLICT:
			s.message(w, r, lang, StatusOf(err), "confirm.none", "confirm.noneText")
		default:
			s.publicFailure(w, r, lang, err, "confirm.noListHead", "confirm.noList")
		}
		return
	}
	s.Logger.Info("subscription confirmed", "list", c.List)
	s.message(w, r, lang, http.StatusOK, "confirm.done", "confirm.doneText", c.Email, l.Name)
}

package httpserver

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/webctx"
)

// Who may do what: every non-public route goes through require, which
// accepts
//   - the session cookie of a signed-in account (pages, and the API from
//     those pages), with the session's form token on every change;
//   - Authorization: Bearer with an account's API token (its role);
//   - Authorization: Bearer $NEWSLETTER_ADMIN_TOKEN (admin, for automation).
// HTTP Basic is refused: a browser would send cached credentials along
// with any site's form post.

// adminTokenAccount is who NEWSLETTER_ADMIN_TOKEN acts as (the audit log
// names it "admin-token").
func adminTokenAccount() newsletter.Account {
	return newsletter.Account{Email: "admin-token", Role: newsletter.RoleAdmin, Lang: "nl"}
}

// CookieName is the session cookie's name: with https the __Host- prefix
// makes browsers insist on Secure, Path=/ and no Domain.
func CookieName(secure bool) string {
	if secure {
		return "__Host-nl_session"
	}
	return "nl_session"
}

// CSRFField is the form field (and CSRFHeader the header) that carries the
// session's form token on a state-changing request.
const (
	CSRFField  = "csrf"
	CSRFHeader = "X-CSRF-Token"
)

// how a request proved who it is.
type credentialKind int

const (
	anonymous credentialKind = iota
	bySession
	byToken
)

var (
	errSignIn = newsletter.Errorf(newsletter.EUNAUTHORIZED,
		"sign in first: send Authorization: Bearer TOKEN (create one with `newsletter users token EMAIL`), or sign in at /admin/login")
	errNotBearer = newsletter.Errorf(newsletter.EUNAUTHORIZED,
		"only bearer tokens are accepted (HTTP Basic is not): send Authorization: Bearer TOKEN, made with `newsletter users token EMAIL`")
	errCSRF = newsletter.Errorf(newsletter.EFORBIDDEN,
		"the form token is missing or wrong: reload the page and try again (API clients: send the session's token in X-CSRF-Token, or use a bearer token)")
)

func (s *Server) secureCookies() bool { return strings.HasPrefix(s.App.Cfg.BaseURL, "https://") }

// require serves h to a request whose account has permission p.
func (s *Server) require(p newsletter.Permission, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, kind, err := s.authenticate(w, r)
		if err != nil {
			s.unauthorized(w, r, kind, err)
			return
		}
		if kind == bySession && !safeMethod(r.Method) {
			ok, err := csrfOK(w, r, sess.CSRF)
			if err != nil {
				s.tooLarge(w, r, sess.Account)
				return
			}
			if !ok {
				s.forbidden(w, r, sess.Account, errCSRF)
				return
			}
		}
		if !sess.Account.Role.Can(p) {
			s.forbidden(w, r, sess.Account, newsletter.Errorf(newsletter.EFORBIDDEN,
				"your role (%s) does not allow this: it needs the %s role; ask an admin", sess.Account.Role, leastRole(p)))
			return
		}
		ctx := app.WithActor(webctx.With(r.Context(), sess), sess.Account)
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// authenticate finds the request's account: a bearer token if an
// Authorization header is sent (a wrong one is refused, never passed over
// for the cookie), else the session cookie.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (webctx.Session, credentialKind, error) {
	if v := r.Header.Get("Authorization"); v != "" {
		tok, ok := strings.CutPrefix(v, "Bearer ")
		if !ok || tok == "" {
			return webctx.Session{}, byToken, errNotBearer
		}
		if want := s.App.Cfg.AdminToken; want != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1 {
			return webctx.Session{Account: adminTokenAccount()}, byToken, nil
		}
		acct, err := s.App.AuthenticateToken(r.Context(), tok)
		if err != nil {
			return webctx.Session{}, byToken, err
		}
		return webctx.Session{Account: *acct}, byToken, nil
	}
	c, err := r.Cookie(CookieName(s.secureCookies()))
	if err != nil {
		return webctx.Session{}, anonymous, errSignIn
	}
	sess, err := s.App.SessionFor(r.Context(), c.Value)
	if err != nil {
		if newsletter.ErrorCode(err) == newsletter.EUNAUTHORIZED {
			s.clearCookie(w)
		}
		return webctx.Session{}, anonymous, err
	}
	return webctx.Session{Account: sess.Account, CSRF: sess.CSRF, ID: sess.ID}, bySession, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// MaxFormBytes bounds the body of a form a signed-in browser posts (a
// CSV import or an edition file included): the form is read here, for its
// token, before any page sees it.
const MaxFormBytes = 20 << 20

// csrfOK checks the form token of a state-changing request from a
// session: in the X-CSRF-Token header, or the "csrf" form field (a
// multipart form is parsed for it, up to MaxFormBytes: r.MultipartForm is
// then the handler's). The error is a body over MaxFormBytes.
func csrfOK(w http.ResponseWriter, r *http.Request, want string) (bool, error) {
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		err := r.ParseMultipartForm(1 << 20)
		if tooBig := new(http.MaxBytesError); errors.As(err, &tooBig) {
			return false, err
		}
		got = r.PostFormValue(CSRFField)
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1, nil
}

// leastRole is the least role with permission p.
func leastRole(p newsletter.Permission) newsletter.Role {
	for _, r := range newsletter.Roles {
		if r.Can(p) {
			return r
		}
	}
	return newsletter.RoleAdmin
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// unauthorized answers a request without a valid account: 401 JSON for
// the API and for bad tokens; for a page, GET goes to the sign-in page
// and anything else gets a 401 page.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, kind credentialKind, err error) {
	if newsletter.ErrorCode(err) != newsletter.EUNAUTHORIZED {
		// Redis down and the like: not the client's fault.
		s.Logger.Error("authentication failed", "path", r.URL.Path, "err", err)
		if isAPI(r) || kind == byToken {
			writeError(w, err)
			return
		}
		s.authMessage(w, StatusOf(err), langOf(r, nil), "unavailable")
		return
	}
	if isAPI(r) || kind == byToken {
		w.Header().Set("WWW-Authenticate", `Bearer realm="newsletter"`)
		writeError(w, err)
		return
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	s.authMessage(w, http.StatusUnauthorized, langOf(r, nil), "signin")
}

// forbidden answers a signed-in account whose role does not reach, or a
// change without the form token: 403 JSON for the API, a page otherwise.
func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, acct newsletter.Account, err error) {
	s.Logger.Info("request refused", "path", r.URL.Path, "method", r.Method, "role", acct.Role, "reason", err.Error())
	if isAPI(r) {
		writeError(w, err)
		return
	}
	key := "forbidden"
	if err == errCSRF {
		key = "csrf"
	}
	s.authMessage(w, http.StatusForbidden, langOf(r, &acct), key)
}

// tooLarge answers a form over MaxFormBytes.
func (s *Server) tooLarge(w http.ResponseWriter, r *http.Request, acct newsletter.Account) {
	s.Logger.Info("form too large", "path", r.URL.Path, "limit", MaxFormBytes)
	if isAPI(r) {
		writeError(w, newsletter.Errorf(newsletter.EINVALID, "the request body is over %d MiB: send a smaller file, or use a bearer token for large imports", MaxFormBytes>>20))
		return
	}
	s.authMessage(w, http.StatusRequestEntityTooLarge, langOf(r, &acct), "toolarge")
}

// crossOrigin refuses state-changing requests a browser sends from
// another origin (Go's CrossOriginProtection: Sec-Fetch-Site, else Origin
// against Host). The one-click unsubscribe POST of RFC 8058 comes from
// mail providers (and webmail pages) by design and is authenticated by
// its signed link; the webhook by SNS's signature.
func (s *Server) crossOrigin(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.AddInsecureBypassPattern("POST /u/{token}")
	cop.AddInsecureBypassPattern("/webhooks/ses")
	// Behind a proxy that rewrites Host, the public origin still counts.
	if u, err := url.Parse(s.App.Cfg.BaseURL); err == nil && u.Scheme != "" && u.Host != "" {
		if err := cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			s.Logger.Warn("NEWSLETTER_BASE_URL is not usable as a trusted origin", "err", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Logger.Info("cross-origin request refused", "path", r.URL.Path, "method", r.Method)
		if isAPI(r) {
			writeError(w, newsletter.Errorf(newsletter.EFORBIDDEN, "cross-origin request refused: changes are accepted only from this site's own pages, or from API clients that send no Origin"))
			return
		}
		s.authMessage(w, http.StatusForbidden, langOf(r, nil), "crossorigin")
	}))
	return cop.Handler(h)
}

package httpserver_test

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/httpserver"
	"newsletter/internal/password"
)

// publicRoutes are the routes that need no account: the partners' pages,
// the archive, the webhook, the health check and signing in and out. A
// route made public by mistake fails TestRouteTable.
var publicRoutes = []string{
	"GET /healthz", "GET /readyz",
	"GET /metrics", // behind its own bearer token (NEWSLETTER_METRICS_TOKEN), not an account
	"/webhooks/ses",
	"GET /u/{token}", "POST /u/{token}",
	"GET /p/{token}", "POST /p/{token}", "POST /p/{token}/renew", "POST /new-link",
	"GET /subscribe", "POST /subscribe",
	"GET /c/{token}", "POST /c/{token}",
	"GET /archive/{$}", "GET /archive/feed.atom", "GET /archive/{id}",
	"GET /{$}",
	"GET /admin/login", "POST /admin/login", "POST /admin/logout",
}

// Bodies that would change the store if a refused request got through.
var mutatingBodies = map[string]string{
	"POST /api/v1/lists":        `{"slug":"sneaky","name":"Sneaky"}`,
	"POST /api/v1/subscribers":  `{"email":"sneaky@example.org","list":"bedrijven"}`,
	"POST /api/v1/suppressions": `{"email":"sneaky@example.org","reason":"sneaky"}`,
}

// routes is the server's route table.
func routes(t *testing.T, a *app.App) []httpserver.Route {
	t.Helper()
	rs := serverFor(a, nil).Routes()
	if len(rs) < 30 {
		t.Fatalf("only %d routes in the table", len(rs))
	}
	return rs
}

// Every route pattern written in the package's source is in the route
// table: nothing is registered past it (and so past its permission).
func TestRouteTable(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	var table, public []string
	for _, r := range routes(t, a) {
		if slices.Contains(table, r.Pattern) {
			t.Errorf("route %q is in the table twice", r.Pattern)
		}
		table = append(table, r.Pattern)
		if r.Perm == httpserver.Public {
			public = append(public, r.Pattern)
		}
	}
	slices.Sort(public)
	want := slices.Clone(publicRoutes)
	slices.Sort(want)
	if !slices.Equal(public, want) {
		t.Errorf("public routes are\n%q\nwant\n%q", public, want)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// A route is registered by a call whose first argument is its
		// pattern (add, h, mux.Handle, mux.HandleFunc), or by a Route
		// literal's Pattern.
		ast.Inspect(f, func(n ast.Node) bool {
			var lit *ast.BasicLit
			switch n := n.(type) {
			case *ast.CallExpr:
				name := ""
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				if len(n.Args) > 0 && slices.Contains([]string{"add", "h", "Handle", "HandleFunc"}, name) {
					lit, _ = n.Args[0].(*ast.BasicLit)
				}
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Pattern" {
					lit, _ = n.Value.(*ast.BasicLit)
				}
			}
			if lit == nil || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			found++
			if !slices.Contains(table, s) {
				t.Errorf("%s: pattern %q is registered outside the route table", name, s)
			}
			return true
		})
	}
	if found < 30 {
		t.Fatalf("found only %d route patterns in the source", found)
	}
}

// concrete turns a pattern into methods and a path to request.
func concrete(pattern string) (methods []string, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		path, method = pattern, ""
	}
	path = strings.NewReplacer("{slug}", "bedrijven", "{email}", "jan@example.org", "{id}", "ed-unknown",
		"{token}", "not-a-token", "{$}", "").Replace(path)
	if strings.HasSuffix(path, "/admin/") {
		path += "editions"
	}
	switch method {
	case "":
		// GET and HEAD of a method-less pattern are the GET pattern's,
		// where there is one; the webhook answers them 405.
		return []string{"POST", "PUT", "PATCH", "DELETE"}, path
	case "GET":
		return []string{"GET", "HEAD"}, path
	}
	return []string{method}, path
}

func bodyFor(pattern string) string {
	if b, ok := mutatingBodies[pattern]; ok {
		return b
	}
	return "{}"
}

// wantRefused checks a 401 from the sign-in check itself (a JSON error
// with the unauthorized code), not from a handler.
func wantRefused(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("%s: status %d, want 401 (body %s)", what, rec.Code, rec.Body)
		return
	}
	var e struct{ Code, Error string }
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code != newsletter.EUNAUTHORIZED {
		t.Errorf("%s: body %s, want a JSON error with code %q", what, rec.Body, newsletter.EUNAUTHORIZED)
	}
	if rec.Header().Get("WWW-Authenticate") != `Bearer realm="newsletter"` {
		t.Errorf("%s: WWW-Authenticate %q, want only Bearer", what, rec.Header().Get("WWW-Authenticate"))
	}
}

// wantAnonymousRefused checks the answer to a request without
// credentials: the API says 401; a page sends a GET to the sign-in page
// and refuses anything else.
func wantAnonymousRefused(t *testing.T, what, method, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	switch {
	case strings.HasPrefix(path, "/api/"):
		wantRefused(t, what, rec)
	case method == "GET" || method == "HEAD":
		if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/login?next=") {
			t.Errorf("%s: status %d Location %q, want 303 to the sign-in page", what, rec.Code, loc)
		}
	case rec.Code != http.StatusUnauthorized:
		t.Errorf("%s: status %d, want 401", what, rec.Code)
	}
}

// Nothing the store holds changed: no list, subscriber or suppression
// from mutatingBodies exists.
func wantUntouched(t *testing.T, a *app.App) {
	t.Helper()
	ctx := context.Background()
	if _, err := a.GetList(ctx, "sneaky"); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("a refused request created a list (err %v)", err)
	}
	if _, err := a.ShowSubscriber(ctx, "sneaky@example.org"); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("a refused request created a subscriber (err %v)", err)
	}
	if sp, err := a.Suppressions(ctx); err != nil || len(sp) != 0 {
		t.Errorf("a refused request changed the suppressions: %v %v", sp, err)
	}
	if ls, err := a.Lists(ctx); err != nil || len(ls) != 1 {
		t.Errorf("lists after refused requests: %+v %v, want only bedrijven", ls, err)
	}
}

// credential is one way of (not) presenting a token.
type credential struct {
	name string
	set  func(*http.Request)
}

func header(v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", v) }
}

func basic(user, pw string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, pw) }
}

// Anonymous requests are refused on every non-public route and method,
// and the public routes stay public.
func TestEveryRouteRefusesAnonymous(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	mustList(t, a, "bedrijven", "")
	h := serve(a, nil)
	for _, rt := range routes(t, a) {
		methods, path := concrete(rt.Pattern)
		for _, m := range methods {
			rec := do(h, m, path, bodyFor(rt.Pattern), func(r *http.Request) { r.Header.Set("Content-Type", "application/json") })
			what := m + " " + path + " (" + rt.Pattern + ")"
			if rt.Perm != httpserver.Public {
				wantAnonymousRefused(t, what, m, path, rec)
				continue
			}
			if rt.Pattern == "POST /admin/login" && rec.Code == http.StatusUnauthorized && strings.Contains(rec.Body.String(), "Onjuist e-mailadres of wachtwoord") {
				continue // the sign-in form refusing no credentials
			}
			if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden || strings.HasPrefix(rec.Header().Get("Location"), "/admin/login?next") {
				t.Errorf("public %s: status %d Location %q: it asks for an account", what, rec.Code, rec.Header().Get("Location"))
			}
		}
	}
	wantUntouched(t, a)
}

// Without NEWSLETTER_ADMIN_TOKEN there is no admin token: an empty
// bearer (which would equal the empty setting) or the old token opens
// nothing.
func TestAdminClosedWithoutToken(t *testing.T) {
	t.Parallel()
	a := openApp(t, func(c *app.Config) { c.AdminToken = "" })
	mustList(t, a, "bedrijven", "")
	h := serve(a, nil)
	creds := []credential{
		{"empty bearer", header("Bearer ")},
		{"bearer", header("Bearer " + testToken)},
		{"basic with empty password", basic("admin", "")},
		{"basic empty user and password", basic("", "")},
		{"basic", basic("admin", testToken)},
	}
	for _, rt := range routes(t, a) {
		if rt.Perm == httpserver.Public {
			continue
		}
		methods, path := concrete(rt.Pattern)
		for _, c := range creds {
			for _, m := range methods {
				set := func(r *http.Request) { r.Header.Set("Content-Type", "application/json"); c.set(r) }
				wantRefused(t, m+" "+path+" with "+c.name, do(h, m, path, bodyFor(rt.Pattern), set))
			}
		}
	}
	wantUntouched(t, a)
}

func TestAdminTokenChecks(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	mustList(t, a, "bedrijven", "")
	h := serve(a, nil)
	last := testToken[len(testToken)-1]
	sameLen := testToken[:len(testToken)-1] + string(last^1)
	refused := []credential{
		{"empty bearer", header("Bearer ")},
		{"bearer without a space", header("Bearer" + testToken)},
		{"basic with empty password", basic("admin", "")},
		{"basic with empty user and password", basic("", "")},
		{"basic with a wrong password", basic("admin", sameLen)},
		// HTTP Basic is gone: with credentials cached by a browser, any
		// site could post to the API.
		{"basic with the right token as password", basic("admin", testToken)},
		{"basic with the right token as user", basic(testToken, "")},
		{"bearer prefix len-1", header("Bearer " + testToken[:len(testToken)-1])},
		{"bearer prefix half", header("Bearer " + testToken[:len(testToken)/2])},
		{"bearer prefix one char", header("Bearer " + testToken[:1])},
		{"bearer token plus one char", header("Bearer " + testToken + "0")},
		{"bearer token plus space", header("Bearer " + testToken + " ")},
		{"bearer wrong token same length", header("Bearer " + sameLen)},
		{"token without scheme", header(testToken)},
		{"an account token's shape", header("Bearer nlt_" + strings.Repeat("A", 43))},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			for _, rt := range routes(t, a) {
				if rt.Perm == httpserver.Public {
					continue
				}
				methods, path := concrete(rt.Pattern)
				for _, m := range methods {
					rec := do(h, m, path, bodyFor(rt.Pattern), func(r *http.Request) {
						r.Header.Set("Content-Type", "application/json")
						c.set(r)
					})
					wantRefused(t, m+" "+path, rec)
				}
			}
		})
	}
	wantUntouched(t, a)

	t.Run("right bearer token", func(t *testing.T) {
		for _, p := range []string{"POST /api/v1/lists", "POST /api/v1/subscribers", "POST /api/v1/suppressions"} {
			methods, path := concrete(p)
			if rec := do(h, methods[0], path, bodyFor(p), bearer(testToken)); rec.Code != http.StatusCreated {
				t.Errorf("%s: status %d, want 201: %s", p, rec.Code, rec.Body)
			}
		}
		for _, rt := range routes(t, a) {
			if rt.Perm == httpserver.Public {
				continue
			}
			methods, path := concrete(rt.Pattern)
			for _, m := range methods {
				if rec := do(h, m, path, bodyFor(rt.Pattern), bearer(testToken)); rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden {
					t.Errorf("%s %s with the admin token: %d %s", m, path, rec.Code, rec.Body)
				}
			}
		}
	})
}

// fastHashes makes password hashing cheap for a test's accounts.
func fastHashes(a *app.App) { a.PasswordParams = &password.Params{Memory: 64, Time: 1, Threads: 1} }

// tokenFor adds an account with role and returns a new API token of it.
func tokenFor(t *testing.T, a *app.App, email string, role newsletter.Role) string {
	t.Helper()
	fastHashes(a)
	ctx := context.Background()
	if _, err := a.AddAccount(ctx, email, role, testPassword); err != nil {
		t.Fatal(err)
	}
	tok, err := a.NewAPIToken(ctx, email, "test")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A viewer's token gets 403 on every change (and on personal data); an
// editor's on every subscriber and account route; each where its role
// does not reach, on every route of the table.
func TestRolesOnEveryRoute(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	mustList(t, a, "bedrijven", "")
	h := serve(a, nil)
	toks := map[newsletter.Role]string{
		newsletter.RoleViewer: tokenFor(t, a, "kijker@example.org", newsletter.RoleViewer),
		newsletter.RoleEditor: tokenFor(t, a, "schrijver@example.org", newsletter.RoleEditor),
		newsletter.RoleAdmin:  tokenFor(t, a, "baas@example.org", newsletter.RoleAdmin),
	}
	checked := map[newsletter.Role]int{}
	for _, role := range newsletter.Roles {
		tok := toks[role]
		if role == newsletter.RoleAdmin {
			// Neither the viewer's nor the editor's requests changed
			// anything; the admin's may.
			wantUntouched(t, a)
		}
		for _, rt := range routes(t, a) {
			if rt.Perm == httpserver.Public {
				continue
			}
			methods, path := concrete(rt.Pattern)
			for _, m := range methods {
				rec := do(h, m, path, bodyFor(rt.Pattern), bearer(tok))
				what := string(role) + " " + m + " " + path
				if role.Can(rt.Perm) {
					if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden {
						t.Errorf("%s: %d, but the role may: %s", what, rec.Code, rec.Body)
					}
					continue
				}
				checked[role]++
				if rec.Code != http.StatusForbidden {
					t.Errorf("%s: status %d, want 403", what, rec.Code)
				} else if strings.HasPrefix(path, "/api/") && !strings.Contains(rec.Body.String(), `"forbidden"`) {
					t.Errorf("%s: 403 body %s is not the JSON error", what, rec.Body)
				}
				if role == newsletter.RoleViewer && m != "GET" && m != "HEAD" && rec.Code < 400 {
					t.Errorf("a viewer changed something: %s", what)
				}
			}
		}
	}
	// A viewer changes nothing, whatever the route.
	for _, rt := range routes(t, a) {
		methods, path := concrete(rt.Pattern)
		for _, m := range methods {
			if m == "GET" || m == "HEAD" || rt.Perm == httpserver.Public {
				continue
			}
			if rec := do(h, m, path, bodyFor(rt.Pattern), bearer(toks[newsletter.RoleViewer])); rec.Code != http.StatusForbidden {
				t.Errorf("viewer %s %s: %d, want 403", m, path, rec.Code)
			}
		}
	}
	// The role rules the issue states, route by route.
	wantPerm := map[string]newsletter.Permission{
		"POST /api/v1/editions/{id}/publish":     newsletter.PermEditions,
		"POST /api/v1/editions":                  newsletter.PermEditions,
		"GET /api/v1/editions":                   newsletter.PermRead,
		"POST /api/v1/suppressions":              newsletter.PermSubscribers,
		"GET /api/v1/subscribers/export":         newsletter.PermSubscribers,
		"DELETE /api/v1/subscribers/{email}":     newsletter.PermSubscribers,
		"POST /api/v1/lists/{slug}/import":       newsletter.PermSubscribers,
		"GET /api/v1/audit":                      newsletter.PermAccounts,
		"GET /admin/editions/{id}/preview":       newsletter.PermRead,
		"GET /api/v1/subscribers/{email}":        newsletter.PermSubscribers,
		"POST /api/v1/editions/{id}/cancel":      newsletter.PermEditions,
		"GET /api/v1/subscribers/counts":         newsletter.PermRead,
		"POST /api/v1/subscribers/{email}/block": newsletter.PermSubscribers,
	}
	for _, rt := range routes(t, a) {
		if p, ok := wantPerm[rt.Pattern]; ok && rt.Perm != p {
			t.Errorf("%s needs permission %d, want %d", rt.Pattern, rt.Perm, p)
		}
	}
	if checked[newsletter.RoleViewer] < 20 || checked[newsletter.RoleEditor] < 15 || checked[newsletter.RoleAdmin] != 0 {
		t.Errorf("refusals checked per role: %v", checked)
	}
}

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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/app"
)

// adminRoutes is every route behind requireAdmin, as registered in api.go
// and admin_api.go. TestAdminRoutesListed keeps it in step with the code.
var adminRoutes = []string{
	"GET /api/v1/lists",
	"POST /api/v1/lists",
	"PATCH /api/v1/lists/{slug}",
	"DELETE /api/v1/lists/{slug}",
	"POST /api/v1/lists/{slug}/import",
	"GET /api/v1/subscribers/export",
	"GET /api/v1/subscribers/{email}",
	"GET /api/v1/subscribers",
	"POST /api/v1/subscribers",
	"GET /api/v1/subscribers/counts",
	"PATCH /api/v1/subscribers/{email}",
	"DELETE /api/v1/subscribers/{email}",
	"DELETE /api/v1/subscribers/{email}/lists/{slug}",
	"POST /api/v1/subscribers/{email}/block",
	"GET /api/v1/subscribers/{email}/personal-data",
	"GET /api/v1/editions",
	"POST /api/v1/editions",
	"GET /api/v1/editions/{id}",
	"POST /api/v1/editions/{id}/publish",
	"POST /api/v1/editions/{id}/test",
	"POST /api/v1/editions/{id}/cancel",
	"POST /api/v1/editions/{id}/resend-unknown",
	"POST /api/v1/editions/{id}/pause",
	"POST /api/v1/editions/{id}/resume",
	"GET /api/v1/editions/{id}/deliveries",
	"GET /api/v1/deadletters",
	"GET /api/v1/deadletters/{id}",
	"POST /api/v1/deadletters/{id}/replay",
	"GET /admin/editions/{id}/preview",
	"GET /api/v1/report",
	"GET /api/v1/suppressions",
	"POST /api/v1/suppressions",
	"DELETE /api/v1/suppressions/{email}",
}

// Bodies that would change the store if a refused request got through.
var mutatingBodies = map[string]string{
	"POST /api/v1/lists":        `{"slug":"sneaky","name":"Sneaky"}`,
	"POST /api/v1/subscribers":  `{"email":"sneaky@example.org","list":"bedrijven"}`,
	"POST /api/v1/suppressions": `{"email":"sneaky@example.org","reason":"sneaky"}`,
}

var routePattern = regexp.MustCompile(`^([A-Z]+ )?/(api|admin)/`)

// Every admin route pattern in the package's source is in adminRoutes,
// so a route added later is covered by the auth tests below.
func TestAdminRoutesListed(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var found []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// A route is registered by a call whose first argument is its
		// pattern (mux.HandleFunc, or the api's own h(...)).
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && routePattern.MatchString(s) {
				found = append(found, s)
			}
			return true
		})
	}
	if len(found) == 0 {
		t.Fatal("no route patterns found in the package source")
	}
	for _, p := range found {
		if !slices.Contains(adminRoutes, p) {
			t.Errorf("route %q is registered but not in adminRoutes: add it so its authentication is tested", p)
		}
	}
	for _, p := range adminRoutes {
		if !slices.Contains(found, p) {
			t.Errorf("adminRoutes lists %q, which the code no longer registers", p)
		}
	}
}

// concrete turns a pattern into a method and a path to request.
func concrete(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.NewReplacer("{slug}", "bedrijven", "{email}", "jan@example.org", "{id}", "ed-unknown").Replace(path)
	return method, path
}

func bodyFor(pattern string) string {
	if b, ok := mutatingBodies[pattern]; ok {
		return b
	}
	return "{}"
}

// wantRefused checks a 401 from the auth check itself (JSON error with
// the unauthorized code), not from a handler.
func wantRefused(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("%s: status %d, want 401 (body %s)", what, rec.Code, rec.Body)
		return
	}
	body := rec.Body.Bytes()
	var e struct{ Code, Error string }
	if err := json.Unmarshal(body, &e); err != nil || e.Code != newsletter.EUNAUTHORIZED {
		t.Errorf("%s: body %s, want a JSON error with code %q", what, body, newsletter.EUNAUTHORIZED)
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

// credential is one way of (not) presenting the admin token.
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

// Without NEWSLETTER_ADMIN_TOKEN the admin side is closed: every route,
// every method, whatever credentials are sent (an empty bearer included,
// which would equal the empty configured token).
func TestAdminClosedWithoutToken(t *testing.T) {
	t.Parallel()
	a := openApp(t, func(c *app.Config) { c.AdminToken = "" })
	mustList(t, a, "bedrijven", "")
	h := serve(a, nil)
	creds := []credential{
		{"no Authorization", func(*http.Request) {}},
		{"empty bearer", header("Bearer ")},
		{"bearer", header("Bearer " + testToken)},
		{"basic with empty password", basic("admin", "")},
		{"basic empty user and password", basic("", "")},
		{"basic", basic("admin", testToken)},
	}
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	for _, p := range adminRoutes {
		method, path := concrete(p)
		for _, c := range creds {
			set := func(r *http.Request) { r.Header.Set("Content-Type", "application/json"); c.set(r) }
			rec := do(h, method, path, bodyFor(p), set)
			wantRefused(t, p+" with "+c.name, rec)
			if !strings.Contains(rec.Body.String(), "NEWSLETTER_ADMIN_TOKEN") {
				t.Errorf("%s with %s: %s does not say the admin API is disabled", p, c.name, rec.Body)
			}
			// Other methods on the same path: refused or not allowed,
			// never served.
			for _, m := range methods {
				rec := do(h, m, path, bodyFor(p), set)
				if s := rec.Code; s != http.StatusUnauthorized && s != http.StatusMethodNotAllowed {
					t.Errorf("%s %s with %s: status %d, want 401 or 405", m, path, c.name, s)
				}
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
		{"no Authorization", func(*http.Request) {}},
		{"empty bearer", header("Bearer ")},
		{"bearer without a space", header("Bearer" + testToken)},
		{"basic with empty password", basic("admin", "")},
		{"basic with empty user and password", basic("", "")},
		{"basic with a wrong password", basic("admin", sameLen)},
		{"bearer prefix len-1", header("Bearer " + testToken[:len(testToken)-1])},
		{"bearer prefix half", header("Bearer " + testToken[:len(testToken)/2])},
		{"bearer prefix one char", header("Bearer " + testToken[:1])},
		{"bearer token plus one char", header("Bearer " + testToken + "0")},
		{"bearer token plus space", header("Bearer " + testToken + " ")},
		{"bearer wrong token same length", header("Bearer " + sameLen)},
		{"token without scheme", header(testToken)},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range adminRoutes {
				method, path := concrete(p)
				rec := do(h, method, path, bodyFor(p), func(r *http.Request) {
					r.Header.Set("Content-Type", "application/json")
					c.set(r)
				})
				wantRefused(t, p, rec)
				if rec.Code == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("%s: 401 without WWW-Authenticate", p)
				}
			}
		})
	}
	wantUntouched(t, a)

	// Current behaviour, to be changed: HTTP Basic with the admin token
	// as the password is accepted like the bearer token. When Basic auth
	// is removed this subtest must be turned into a refusal.
	t.Run("basic with the right token as password is accepted today", func(t *testing.T) {
		rec := do(h, "GET", "/api/v1/lists", "", basic("admin", testToken))
		if rec.Code != http.StatusOK {
			t.Errorf("status %d, want 200 (current Basic auth behaviour): %s", rec.Code, rec.Body)
		}
	})

	t.Run("right bearer token", func(t *testing.T) {
		for _, p := range []string{"POST /api/v1/lists", "POST /api/v1/subscribers", "POST /api/v1/suppressions"} {
			method, path := concrete(p)
			if rec := do(h, method, path, bodyFor(p), bearer(testToken)); rec.Code != http.StatusCreated {
				t.Errorf("%s: status %d, want 201: %s", p, rec.Code, rec.Body)
			}
		}
		for _, p := range adminRoutes {
			method, path := concrete(p)
			if rec := do(h, method, path, bodyFor(p), bearer(testToken)); rec.Code == http.StatusUnauthorized {
				t.Errorf("%s with the right token: 401 %s", p, rec.Body)
			}
		}
	})
}

package webui_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/i18n"
	"newsletter/internal/webui"
)

// Hostile values: every page must show them as text.
const (
	evilSubject = `<script>alert("s1")</script> Juni`
	evilList    = `<script>alert("l1")</script> Scholen`
	evilName    = `<script>alert("n1")</script> Mariëtte`
	evilOrg     = `<img src=x onerror=alert("o1")>`
)

type seeded struct {
	edition string
	email   string // a subscriber with a hostile name
}

// seed fills the store as an admin would: two overlapping lists, people,
// a suppression, a draft.
func seed(t *testing.T, e *env) seeded {
	t.Helper()
	ctx := context.Background()
	a := e.App
	for _, l := range []newsletter.List{{Slug: "scholen", Name: evilList}, {Slug: "bedrijven", Name: "Bedrijven"}} {
		if _, err := a.CreateList(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	imp := func(list, csv string) {
		t.Helper()
		if _, err := a.Import(ctx, list, strings.NewReader(csv), newsletter.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	imp("scholen", "email,name,organisation\n\"mariette@example.org\",\""+strings.ReplaceAll(evilName, `"`, `""`)+"\",\""+strings.ReplaceAll(evilOrg, `"`, `""`)+"\"\nb@example.org,B,ROC\nc@example.org,C,ROC\n")
	imp("bedrijven", "email,name\nb@example.org,B\nd@example.org,D\nsuppressed@example.org,S\n")
	if _, err := a.Suppress(ctx, "suppressed@example.org", "hard bounce in a test"); err != nil {
		t.Fatal(err)
	}
	ed, _, err := a.CreateEdition(ctx, "juni.md", []byte("---\nsubject: "+evilSubject+"\n---\nBeste partners,\n\nHet nieuws van ├ęn maand.\n"))
	if err != nil {
		t.Fatal(err)
	}
	return seeded{edition: ed.ID, email: "mariette@example.org"}
}

type pageCase struct {
	path string
	perm newsletter.Permission
}

func pages(s seeded) []pageCase {
	ed := "/admin/editions/" + s.edition
	sub := "/admin/subscribers/" + url.PathEscape(s.email)
	return []pageCase{
		{"/admin/", newsletter.PermRead},
		{"/admin/editions", newsletter.PermRead},
		{"/admin/editions?q=juni&state=draft", newsletter.PermRead},
		{"/admin/editions/new", newsletter.PermEditions},
		{ed, newsletter.PermRead},
		{ed + "/email", newsletter.PermRead},
		{ed + "/publish?lists=scholen&lists=bedrijven", newsletter.PermEditions},
		{ed + "/deliveries", newsletter.PermEditions},
		{"/admin/lists", newsletter.PermRead},
		{"/admin/lists/scholen", newsletter.PermRead},
		{"/admin/lists/scholen/delete", newsletter.PermSubscribers},
		{"/admin/lists/scholen/import", newsletter.PermSubscribers},
		{"/admin/subscribers", newsletter.PermSubscribers},
		{"/admin/subscribers?q=mariette", newsletter.PermSubscribers},
		{sub, newsletter.PermSubscribers},
		{sub + "/erase", newsletter.PermSubscribers},
		{"/admin/suppressions", newsletter.PermSubscribers},
		{"/admin/audit", newsletter.PermAccounts},
	}
}

var postForm = regexp.MustCompile(`(?s)<form[^>]*method="post".*?</form>`)

// Every page answers each role as its permission says, and every POST
// form on it carries the session's form token.
func TestPagesPerRole(t *testing.T) {
	e := newEnv(t, false)
	s := seed(t, e)
	for _, role := range newsletter.Roles {
		c := e.as(role, "nl")
		for _, pc := range pages(s) {
			st, body := c.get(pc.path)
			want := http.StatusOK
			if !role.Can(pc.perm) {
				want = http.StatusForbidden
			}
			if st != want {
				t.Errorf("GET %s as %s: %d, want %d", pc.path, role, st, want)
				continue
			}
			forms := postForm.FindAllString(body, -1)
			for _, f := range forms {
				if !strings.Contains(f, `name="csrf" value="`+c.csrf+`"`) {
					t.Errorf("GET %s as %s: a POST form without the form token:\n%s", pc.path, role, f)
				}
			}
			if st == http.StatusOK && !strings.HasSuffix(pc.path, "/email") && len(forms) == 0 {
				t.Errorf("GET %s as %s: no sign-out form", pc.path, role)
			}
		}
	}
}

// Without a session the pages send the browser to the login page, and a
// POST gets 401.
func TestAnonymousRefused(t *testing.T) {
	e := newEnv(t, false)
	s := seed(t, e)
	anon := &client{t: t, e: e, c: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for _, pc := range pages(s) {
		req, _ := http.NewRequest(http.MethodGet, e.URL+pc.path, nil)
		st, _, h := anon.do(req)
		if st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/admin/login?next=") {
			t.Errorf("anonymous GET %s: %d %q, want 303 to the login page", pc.path, st, h.Get("Location"))
		}
	}
	st, _, _ := anon.post("/admin/lists", url.Values{"slug": {"x"}})
	if st != http.StatusUnauthorized {
		t.Errorf("anonymous POST: %d", st)
	}
	if _, err := e.App.GetList(context.Background(), "x"); err == nil {
		t.Error("an anonymous POST created a list")
	}
}

// Titles, subjects, list and subscriber names are text on every page.
func TestHostileValuesEscaped(t *testing.T) {
	e := newEnv(t, false)
	s := seed(t, e)
	c := e.as(newsletter.RoleAdmin, "nl")
	seen := map[string]bool{}
	for _, pc := range pages(s) {
		if strings.HasSuffix(pc.path, "/email") {
			continue // the email itself, in a sandboxed frame; render escapes it (its own tests)
		}
		body := c.mustGet(pc.path)
		for _, bad := range []string{"<script>alert", "<img src=x"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: %q unescaped", pc.path, bad)
			}
		}
		for _, v := range []string{evilSubject, evilList, evilName, evilOrg} {
			if strings.Contains(body, escapeHTML(v)) {
				seen[v] = true
			}
		}
	}
	for _, v := range []string{evilSubject, evilList, evilName, evilOrg} {
		if !seen[v] {
			t.Errorf("%q is shown on no page: the test checks nothing for it", v)
		}
	}
}

func escapeHTML(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}

// Both languages have the same strings, and a page in one language shows
// none of the other's.
func TestEveryPageInOneLanguage(t *testing.T) {
	nl, en := webui.Catalog(i18n.NL), webui.Catalog(i18n.EN)
	for k := range nl {
		if _, ok := en[k]; !ok {
			t.Errorf("%q has no English text", k)
		}
	}
	for k := range en {
		if _, ok := nl[k]; !ok {
			t.Errorf("%q has no Dutch text", k)
		}
	}
	e := newEnv(t, false)
	s := seed(t, e)
	for _, lang := range []i18n.Lang{i18n.NL, i18n.EN} {
		own, other := nl, en
		if lang == i18n.EN {
			own, other = en, nl
		}
		foreign := foreignFragments(own, other)
		c := e.as(newsletter.RoleAdmin, string(lang))
		for _, pc := range pages(s) {
			if strings.HasSuffix(pc.path, "/email") {
				continue
			}
			body := c.mustGet(pc.path)
			if !strings.Contains(body, `<html lang="`+string(lang)+`"`) {
				t.Errorf("GET %s in %s: the page says another language", pc.path, lang)
			}
			text := visibleText(body)
			for _, f := range foreign {
				if strings.Contains(text, f) {
					t.Errorf("GET %s in %s shows %q of the other language", pc.path, lang, f)
				}
			}
		}
	}
}

var verb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// foreignFragments are the pieces (between format verbs) of the other
// language's strings that the own language never uses, long enough not to
// match by chance.
func foreignFragments(own, other map[string]string) []string {
	var ownText strings.Builder
	for _, v := range own {
		ownText.WriteString(v + "\n")
	}
	seen := map[string]bool{}
	var out []string
	for _, v := range other {
		for _, f := range verb.Split(v, -1) {
			f = strings.TrimSpace(f)
			if len([]rune(f)) < 6 || seen[f] || strings.Contains(ownText.String(), f) {
				continue
			}
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

var (
	emailText  = regexp.MustCompile(`(?s)<pre id="plain">.*?</pre>`)
	shownAttrs = regexp.MustCompile(`(?:placeholder|title|aria-label|alt)="([^"]*)"`)
	tag        = regexp.MustCompile(`(?s)<[^>]*>`)
)

// visibleText is what a person reads on a page: its text and the
// attributes a browser shows, without the email's own text (written in
// the edition's language, which is the editor's choice).
func visibleText(body string) string {
	body = emailText.ReplaceAllString(body, "")
	var b strings.Builder
	for _, m := range shownAttrs.FindAllStringSubmatch(body, -1) {
		b.WriteString(m[1] + "\n")
	}
	b.WriteString(tag.ReplaceAllString(body, "\n"))
	return html.UnescapeString(b.String())
}

// Downloads of personal data are for admins; the ledger for editors.
func TestDownloadsPerRole(t *testing.T) {
	e := newEnv(t, false)
	s := seed(t, e)
	for _, tc := range []struct {
		path string
		perm newsletter.Permission
	}{
		{"/admin/subscribers/export?sep=semicolon", newsletter.PermSubscribers},
		{"/admin/subscribers/" + s.email + "/privacy", newsletter.PermSubscribers},
		{"/admin/editions/" + s.edition + "/deliveries.csv", newsletter.PermEditions},
	} {
		for _, role := range newsletter.Roles {
			st, body := e.as(role, "nl").get(tc.path)
			want := http.StatusOK
			if !role.Can(tc.perm) {
				want = http.StatusForbidden
			}
			if st != want {
				t.Errorf("GET %s as %s: %d, want %d", tc.path, role, st, want)
			}
			if want == http.StatusForbidden && strings.Contains(body, s.email) {
				t.Errorf("GET %s as %s: the refusal shows personal data", tc.path, role)
			}
		}
	}
}

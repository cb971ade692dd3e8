package webui_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/app"
)

// auditRow is one row of the audit table: when, who, action, target,
// before, after (as text).
// The action cell shows what the action means and has its code as title.
var auditRow = regexp.MustCompile(`(?s)<tr><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td><td[^>]*class="action"><span title="(.*?)">.*?</span></td><td[^>]*class="wrap">(.*?)</td><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td></tr>`)

func auditRows(body string) [][]string {
	var rows [][]string
	for _, m := range auditRow.FindAllStringSubmatch(body, -1) {
		rows = append(rows, m[1:])
	}
	return rows
}

// The audit log page shows who changed what, when, with the state before
// and after, to admins only; its filters and pages work, and hostile
// values in before/after are text.
func TestAuditPage(t *testing.T) {
	e := newEnv(t, false)
	admin, editor, viewer := e.as(newsletter.RoleAdmin, "nl"), e.as(newsletter.RoleEditor, "nl"), e.as(newsletter.RoleViewer, "nl")
	hostile := `<script>alert("a1")</script> Oost`
	admin.mustPost("/admin/lists", url.Values{"slug": {"oost"}, "name": {hostile}})
	admin.mustPost("/admin/lists/oost", url.Values{"name": {"Regio Oost"}, "description": {`<img src=x onerror=alert("a2")>`}})
	editor.mustPost("/admin/editions", url.Values{"subject": {"Nieuws"}, "body": {"Tekst"}})

	for _, c := range []*client{editor, viewer} {
		if st, body := c.get("/admin/audit"); st != http.StatusForbidden || strings.Contains(body, "list.create") {
			t.Errorf("GET /admin/audit as %s: %d, want 403 without entries", c.role, st)
		}
	}
	body := admin.mustGet("/admin/audit")
	for _, bad := range []string{"<script>alert", "<img src=x"} {
		if strings.Contains(body, bad) {
			t.Errorf("the audit page shows %q unescaped", bad)
		}
	}
	rows := auditRows(body)
	byAction := map[string][]string{}
	for _, r := range rows {
		byAction[r[2]] = r
	}
	create, ok := byAction["list.create"]
	if !ok {
		t.Fatalf("no list.create on the audit page: %q", rows)
	}
	// Communication staff read what happened, in their language, not codes.
	if !strings.Contains(body, `<span title="list.create">lijst aangemaakt</span>`) {
		t.Error("the Dutch audit page does not say what list.create means")
	}
	if en := e.as(newsletter.RoleAdmin, "en").mustGet("/admin/audit"); !strings.Contains(en, `<span title="list.create">list created</span>`) {
		t.Error("the English audit page does not say what list.create means")
	}
	if !strings.Contains(create[1], "admin@example.org") || create[3] != "oost" || create[0] == "" {
		t.Errorf("list.create row: %q", create)
	}
	if after := html.UnescapeString(create[5]); !strings.Contains(after, jsonText(hostile)) {
		t.Errorf("list.create's after does not show the name as written: %q", after)
	}
	if upd, ok := byAction["list.update"]; !ok || !strings.Contains(html.UnescapeString(upd[5]), jsonText(`<img src=x onerror=alert("a2")>`)) {
		t.Errorf("list.update row (with the description in after): %q", upd)
	}
	if ed, ok := byAction["edition.create"]; !ok || !strings.Contains(ed[1], "editor@example.org") {
		t.Errorf("edition.create row (by the editor): %q", ed)
	}
	// Filters: by actor, by action (a family), by target.
	for _, tc := range []struct {
		query string
		want  func(r []string) bool
	}{
		{"actor=editor@example.org", func(r []string) bool { return strings.Contains(r[1], "editor@example.org") }},
		{"action=list.", func(r []string) bool { return strings.HasPrefix(r[2], "list.") }},
		{"target=oost", func(r []string) bool { return r[3] == "oost" }},
	} {
		rows := auditRows(admin.mustGet("/admin/audit?" + tc.query))
		if len(rows) == 0 {
			t.Errorf("?%s: no rows", tc.query)
		}
		for _, r := range rows {
			if !tc.want(r) {
				t.Errorf("?%s shows %q", tc.query, r)
			}
		}
	}
	if rows := auditRows(admin.mustGet("/admin/audit?actor=nobody@example.org")); len(rows) != 0 {
		t.Errorf("a filter that matches nothing shows %d rows", len(rows))
	}
	if st, _ := admin.get("/admin/audit?cursor=not-a-cursor"); st != http.StatusBadRequest {
		t.Errorf("a made-up cursor: %d, want 400", st)
	}
}

// The audit log is read a page at a time: the older entries are behind
// the page's link, none twice, none lost, the filter kept.
func TestAuditPaging(t *testing.T) {
	e := newEnv(t, false)
	admin := e.as(newsletter.RoleAdmin, "nl")
	ctx := app.WithActor(context.Background(), e.account(newsletter.RoleAdmin, "nl"))
	const n = 60
	for i := range n {
		if _, err := e.App.CreateList(ctx, newsletter.List{Slug: fmt.Sprintf("lijst-%02d", i), Name: "L"}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	next := "/admin/audit?action=list.create"
	pages := 0
	for next != "" {
		body := admin.mustGet(next)
		pages++
		for _, r := range auditRows(body) {
			if r[2] != "list.create" {
				t.Errorf("the filter is lost on page %d: %q", pages, r)
			}
			seen[r[3]]++
		}
		next = ""
		if m := regexp.MustCompile(`id="audit-next" href="([^"]+)"`).FindStringSubmatch(body); m != nil {
			next = html.UnescapeString(m[1])
		}
		if pages > 5 {
			t.Fatal("the pages do not end")
		}
	}
	if pages != 2 {
		t.Errorf("%d entries in %d pages, want 2 pages of at most 50", n, pages)
	}
	for i := range n {
		if slug := fmt.Sprintf("lijst-%02d", i); seen[slug] != 1 {
			t.Errorf("%s shown %d times", slug, seen[slug])
		}
	}
}

// A subscriber's history shows the changes people made to it (the audit
// log: who, what, before/after) and the suppression log's lines.
func TestSubscriberHistory(t *testing.T) {
	e := newEnv(t, false)
	s := seed(t, e)
	admin := e.as(newsletter.RoleAdmin, "nl")
	path := "/admin/subscribers/" + url.PathEscape(s.email)
	hostile := `<script>alert("h1")</script> Marie`
	admin.mustPost(path, url.Values{"name": {hostile}, "organisation": {"ROC"}})
	admin.mustPost(path+"/block", url.Values{"reason": {`asked by phone <b>today</b>`}})
	body := admin.mustGet(path)
	m := regexp.MustCompile(`(?s)<ul id="history" class="history">(.*?)</ul>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no history on the subscriber's page")
	}
	hist := m[1]
	if strings.Contains(hist, "<script>alert") || strings.Contains(hist, "<b>today") {
		t.Errorf("the history shows a hostile value unescaped:\n%s", hist)
	}
	text := html.UnescapeString(hist)
	for _, want := range []string{"subscriber.update", "subscriber.block", "admin@example.org", jsonText(hostile), // the audit log
		"suppression.block"} { // the suppression log
		if !strings.Contains(text, want) {
			t.Errorf("the history lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{">abonnee gewijzigd<", ">adres geblokkeerd<"} { // what the codes mean, in Dutch
		if !strings.Contains(hist, want) {
			t.Errorf("the history does not say %q:\n%s", want, hist)
		}
	}
	// Looking at the page is not a change, nor an access export.
	if strings.Contains(text, "personal_data") {
		t.Errorf("viewing the page is in its history:\n%s", text)
	}
	// Newest first: the block came after the update.
	if strings.Index(text, "subscriber.block") > strings.Index(text, "subscriber.update") {
		t.Errorf("the history is not newest first:\n%s", text)
	}
	// Another address's history does not show these.
	other := admin.mustGet("/admin/subscribers/" + url.PathEscape("b@example.org"))
	if strings.Contains(other, "subscriber.block") {
		t.Error("b@example.org's history shows another address's changes")
	}
}

// Pause and resume from the edition page: the page shows the edition as
// paused with a resume button, and after resume the sending continues to
// the end.
func TestPauseResumeFromEditionPage(t *testing.T) {
	e := newIdleEnv(t, true)
	seedAudience(t, e)
	ed := e.as(newsletter.RoleEditor, "nl")
	ctx := context.Background()
	edn, _, err := e.App.CreateEdition(ctx, "pauze.md", []byte("---\nsubject: Pauze\n---\nBeste partners,\n\nTekst.\n"))
	if err != nil {
		t.Fatal(err)
	}
	path := "/admin/editions/" + edn.ID
	ed.mustPost(path+"/publish", url.Values{"lists": {"scholen"}})
	if body := ed.mustGet(path); !strings.Contains(body, `id="pause"`) || strings.Contains(body, `id="resume"`) {
		t.Fatal("a published edition's page offers no pause (or a resume)")
	}
	loc := ed.mustPost(path+"/pause", nil)
	if !strings.HasSuffix(loc, "?ok=paused") {
		t.Fatalf("after pause: %q", loc)
	}
	body := ed.mustGet(loc)
	if !regexp.MustCompile(`id="edition-state">gepauzeerd<`).MatchString(body) {
		t.Errorf("the page does not show the edition as paused:\n%s", stateLine(body))
	}
	if !strings.Contains(body, `id="resume"`) || strings.Contains(body, `id="pause"`) {
		t.Error("a paused edition's page offers no resume (or still a pause)")
	}
	if !strings.Contains(body, "Het versturen is gepauzeerd.") {
		t.Error("no message that sending is paused")
	}
	e.startWork()
	if loc = ed.mustPost(path+"/resume", nil); !strings.HasSuffix(loc, "?ok=resumed") {
		t.Fatalf("after resume: %q", loc)
	}
	if body := ed.mustGet(loc); strings.Contains(body, `id="edition-state">gepauzeerd<`) || !strings.Contains(body, "Het versturen gaat verder.") {
		t.Errorf("after resume the page still shows paused:\n%s", stateLine(body))
	}
	waitUntil(t, "the edition is sent after resume", func() bool {
		st, err := e.App.EditionStatus(ctx, edn.ID)
		return err == nil && st.State == string(newsletter.EditionSent)
	})
	if body := ed.mustGet(path); !strings.Contains(body, `id="edition-state">verstuurd<`) {
		t.Errorf("the page does not show the edition as sent:\n%s", stateLine(body))
	}
	if n := len(e.SES.Messages()); n != 3 {
		t.Errorf("SES got %d messages, want scholen's 3", n)
	}
	// Pausing a sent edition is refused with the app's reason.
	if st, body, _ := ed.post(path+"/pause", nil); st != http.StatusConflict || !strings.Contains(body, "nothing left to pause") {
		t.Errorf("pause after sending: %d", st)
	}
	// Both were done by the editor, and are in the audit log.
	pg, err := e.App.AuditLog(ctx, newsletter.AuditFilter{Target: edn.ID, Action: "edition."}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, en := range pg.Entries {
		got[en.Action] = en.Actor
	}
	if got["edition.pause"] != "editor@example.org" || got["edition.resume"] != "editor@example.org" {
		t.Errorf("audit of pause and resume: %v", got)
	}
}

// jsonText is s as it stands in a JSON string (quotes escaped, < as <).
func jsonText(s string) string {
	return strings.NewReplacer(`"`, `\"`).Replace(s)
}

func stateLine(body string) string {
	if m := regexp.MustCompile(`<span class="state[^>]*>[^<]*</span>`).FindString(body); m != "" {
		return m
	}
	return "(no state badge)"
}

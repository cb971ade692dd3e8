package webui_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/httpserver"
)

// postFile sends a multipart form with one file, as a browser does.
func (c *client) postFile(path, field, name, content string, extra url.Values) (int, string) {
	c.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField(httpserver.CSRFField, c.csrf)
	for k, vs := range extra {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile(field, name)
	_, _ = fw.Write([]byte(content))
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.e.URL+path, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", c.e.URL)
	st, body, _ := c.do(req)
	return st, body
}

func TestListLifecycle(t *testing.T) {
	e := newEnv(t, false)
	admin := e.as(newsletter.RoleAdmin, "nl")
	ctx := context.Background()
	if loc := admin.mustPost("/admin/lists", url.Values{"slug": {"regio-oost"}, "name": {"Regio Oost"}, "description": {"Partners in het oosten"}}); loc != "/admin/lists/regio-oost?ok=listcreated" {
		t.Errorf("after create: %q", loc)
	}
	body := admin.mustGet("/admin/lists/regio-oost?ok=listcreated")
	for _, want := range []string{"Regio Oost", "Partners in het oosten", "De lijst is aangemaakt."} {
		if !strings.Contains(body, want) {
			t.Errorf("list page lacks %q", want)
		}
	}
	admin.mustPost("/admin/lists/regio-oost", url.Values{"name": {"Regio Oost-Nederland"}, "description": {"Anders"}, "public": {"1"}})
	l, err := e.App.GetList(ctx, "regio-oost")
	if err != nil || l.Name != "Regio Oost-Nederland" || l.Description != "Anders" || !l.Public {
		t.Errorf("after rename: %+v %v", l, err)
	}
	// Deleting asks for the slug: a wrong one deletes nothing.
	if st, body, _ := admin.post("/admin/lists/regio-oost/delete", url.Values{"confirm": {"regio"}}); st != http.StatusBadRequest || !strings.Contains(body, "niet verwijderd") {
		t.Errorf("delete with the wrong slug: %d", st)
	}
	if _, err := e.App.GetList(ctx, "regio-oost"); err != nil {
		t.Fatalf("deleted with the wrong slug: %v", err)
	}
	admin.mustPost("/admin/lists/regio-oost/delete", url.Values{"confirm": {"regio-oost"}})
	if _, err := e.App.GetList(ctx, "regio-oost"); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("after delete: %v", err)
	}
	// A bad slug is refused with the app's reason.
	if st, body, _ := admin.post("/admin/lists", url.Values{"slug": {"Met Spaties"}}); st != http.StatusBadRequest || !strings.Contains(body, "Met Spaties") {
		t.Errorf("bad slug: %d\n%s", st, body)
	}
}

func TestRoleAndTokenChecks(t *testing.T) {
	e := newEnv(t, false)
	s := seed(t, e)
	ctx := context.Background()
	viewer, editor, admin := e.as(newsletter.RoleViewer, "nl"), e.as(newsletter.RoleEditor, "nl"), e.as(newsletter.RoleAdmin, "en")
	pub := url.Values{"lists": {"scholen"}}
	for _, tc := range []struct {
		c    *client
		path string
		form url.Values
	}{
		{viewer, "/admin/editions/" + s.edition + "/publish", pub},
		{viewer, "/admin/editions/" + s.edition + "/fix", nil},
		{viewer, "/admin/editions", url.Values{"subject": {"x"}, "body": {"y"}}},
		{editor, "/admin/lists", url.Values{"slug": {"nieuw"}}},
		{editor, "/admin/subscribers/" + s.email + "/erase", url.Values{"confirm": {s.email}}},
		{editor, "/admin/suppressions/remove", url.Values{"email": {"suppressed@example.org"}, "reason": {"x"}}},
	} {
		if st, _, _ := tc.c.post(tc.path, tc.form); st != http.StatusForbidden {
			t.Errorf("POST %s as %s: %d, want 403", tc.path, tc.c.role, st)
		}
	}
	if e, _ := e.App.GetEdition(ctx, s.edition); e.State != newsletter.EditionDraft {
		t.Errorf("a refused publish changed the edition: %s", e.State)
	}
	// A viewer's pages offer no publish and no edit.
	body := viewer.mustGet("/admin/editions/" + s.edition)
	for _, bad := range []string{`id="publish"`, `id="draft"`, `/fix"`, "/test\""} {
		if strings.Contains(body, bad) {
			t.Errorf("the viewer's edition page has %s", bad)
		}
	}
	if !strings.Contains(editor.mustGet("/admin/editions/"+s.edition), `id="publish"`) {
		t.Error("the editor's edition page has no publish button: the check above tests nothing")
	}
	// A form without the session's token, or with another's, is refused.
	for _, tok := range []string{"", editor.csrf} {
		if st, _, _ := admin.post("/admin/lists", url.Values{"slug": {"zonder-token"}, "csrf": {tok}}); st != http.StatusForbidden {
			t.Errorf("POST with form token %q: %d, want 403", tok, st)
		}
	}
	if _, err := e.App.GetList(ctx, "zonder-token"); err == nil {
		t.Error("a POST without the form token created a list")
	}
}

func TestEditionFlow(t *testing.T) {
	e := newEnv(t, false)
	s := seed(t, e)
	ctx := context.Background()
	ed := e.as(newsletter.RoleEditor, "nl")
	loc := ed.mustPost("/admin/editions", url.Values{"subject": {"Nieuws van juli"}, "preheader": {"Kort"}, "body": {"Beste partners,\n\nDit is ├ęn test."}})
	m := regexp.MustCompile(`^/admin/editions/([a-z0-9]+)\?ok=created$`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("after create: %q", loc)
	}
	id := m[1]
	body := ed.mustGet("/admin/editions/" + id)
	for _, want := range []string{"Nieuws van juli", "„├ę” wordt „é”", `id="fix"`, "Dit is ├ęn test."} {
		if !strings.Contains(body, want) {
			t.Errorf("edition page lacks %q", want)
		}
	}
	// The live preview renders unsaved text without storing it.
	st, js, _ := ed.post("/admin/editions/"+id+"/render", url.Values{"body": {"Ongeschreven ├ęn tekst"}})
	if st != http.StatusOK || !strings.Contains(js, "Ongeschreven") || !strings.Contains(js, `"Suggested":"é"`) {
		t.Errorf("live preview: %d %s", st, js)
	}
	ed.mustPost("/admin/editions/"+id+"/fix", nil)
	got, _ := e.App.GetEdition(ctx, id)
	if !strings.Contains(got.Body, "Dit is én test.") {
		t.Errorf("after fix: %q", got.Body)
	}
	ed.mustPost("/admin/editions/"+id, url.Values{"subject": {"Nieuws van augustus"}, "preheader": {"Zomer"}, "body": {"Nieuwe tekst"}})
	if got, _ = e.App.GetEdition(ctx, id); got.Subject != "Nieuws van augustus" || got.Preheader != "Zomer" || got.Body != "Nieuwe tekst" {
		t.Errorf("after save: %+v", got)
	}
	ed.mustPost("/admin/editions/"+id+"/test", url.Values{"to": {"test@example.org"}})
	// The confirmation counts b (on both lists) once and leaves out the
	// suppressed address: a, b, c, d.
	conf := ed.mustGet("/admin/editions/" + id + "/publish?lists=scholen&lists=bedrijven")
	if !strings.Contains(conf, "4 ontvangers") || !strings.Contains(conf, "dubbele adressen (1)") || !strings.Contains(conf, "onbestelbare adressen (1)") {
		t.Errorf("confirmation page:\n%s", conf)
	}
	if !strings.Contains(conf, `<input type="hidden" name="lists" value="bedrijven">`) {
		t.Error("the confirmation does not carry the lists")
	}
	if st, _, _ := ed.post("/admin/editions/"+id+"/publish", url.Values{}); st != http.StatusBadRequest {
		t.Errorf("publish without lists: %d", st)
	}
	ed.mustPost("/admin/editions/"+id+"/publish", url.Values{"lists": {"scholen", "bedrijven"}})
	if got, _ = e.App.GetEdition(ctx, id); got.Hash == "" {
		t.Errorf("not published: %+v", got)
	}
	// Scheduling through the same form.
	other := s.edition
	if _, err := e.App.FixEdition(ctx, other); err != nil {
		t.Fatal(err)
	}
	at := e.App.Now().Add(48 * 3600e9).In(mustZone(t)).Format("2006-01-02T15:04")
	if conf := ed.mustGet("/admin/editions/" + other + "/publish?lists=bedrijven&at=" + url.QueryEscape(at)); !strings.Contains(conf, "Ja, inplannen") {
		t.Error("no scheduling confirmation")
	}
	ed.mustPost("/admin/editions/"+other+"/publish", url.Values{"lists": {"bedrijven"}, "at": {at}})
	if got, _ := e.App.GetEdition(ctx, other); got.State != newsletter.EditionScheduled {
		t.Errorf("not scheduled: %s", got.State)
	}
	if dash := ed.mustGet("/admin/"); !strings.Contains(dash, "naar bedrijven") {
		t.Error("the dashboard does not show the schedule with its lists")
	}
	if loc := ed.mustPost("/admin/editions/"+other+"/cancel", nil); !strings.HasSuffix(loc, "?ok=cancelled") {
		t.Errorf("after cancel: %q", loc)
	}
	if got, _ := e.App.GetEdition(ctx, other); got.State != newsletter.EditionCancelled {
		t.Errorf("not cancelled: %s", got.State)
	}
	// A scheduled edition sent now from the same form.
	third, _, err := e.App.CreateEdition(ctx, "derde.md", []byte("---\nsubject: Derde\n---\nTekst\n"))
	if err != nil {
		t.Fatal(err)
	}
	ed.mustPost("/admin/editions/"+third.ID+"/publish", url.Values{"lists": {"bedrijven"}, "at": {at}})
	ed.mustPost("/admin/editions/"+third.ID+"/publish", url.Values{"lists": {"bedrijven"}})
	if got, _ := e.App.GetEdition(ctx, third.ID); got.Hash == "" {
		t.Errorf("a scheduled edition confirmed for now was not sent: %s", got.State)
	}
	// Importing a plain-text file makes a draft named after it.
	st, page := ed.postFile("/admin/editions", "file", "oud.txt", "Nieuwsbrief oktober\n\nBeste partners,\n\nDe tekst.\n", nil)
	if st != http.StatusSeeOther {
		t.Errorf("import a text file: %d %s", st, page)
	}
}

func TestSubscriberPages(t *testing.T) {
	e := newEnv(t, false)
	s := seed(t, e)
	ctx := context.Background()
	admin := e.as(newsletter.RoleAdmin, "nl")
	if body := admin.mustGet("/admin/subscribers?q=MARIETTE"); !strings.Contains(body, "mariette@example.org") {
		t.Error("search without accents does not find Mariëtte")
	}
	if body := admin.mustGet("/admin/subscribers?q=roc"); !strings.Contains(body, "b@example.org") || strings.Contains(body, "d@example.org") {
		t.Error("search by organisation")
	}
	sub := "/admin/subscribers/" + s.email
	admin.mustPost(sub, url.Values{"name": {"Mariëtte de Boer"}, "organisation": {"Gemeente"}})
	if d, _ := e.App.ShowSubscriber(ctx, s.email); d.Subscriber.Name != "Mariëtte de Boer" {
		t.Errorf("after edit: %+v", d.Subscriber)
	}
	if st, _, _ := admin.post(sub+"/block", url.Values{"reason": {""}}); st != http.StatusBadRequest {
		t.Errorf("block without a reason: %d", st)
	}
	admin.mustPost("/admin/subscribers/c@example.org/unsubscribe", url.Values{"list": {"scholen"}})
	if d, _ := e.App.ShowSubscriber(ctx, "c@example.org"); d.Lists["scholen"] != "" {
		t.Errorf("still on the list: %v", d.Lists)
	}
	// Erase asks for the address, and refuses one that is not stored.
	if st, _, _ := admin.post(sub+"/erase", url.Values{"confirm": {"iemand@example.org"}}); st != http.StatusBadRequest {
		t.Errorf("erase with a wrong address typed: %d", st)
	}
	if _, err := e.App.ShowSubscriber(ctx, s.email); err != nil {
		t.Fatalf("erased with a wrong address typed: %v", err)
	}
	if st, _, _ := admin.post("/admin/subscribers/nooit@example.org/erase", url.Values{"confirm": {"nooit@example.org"}}); st != http.StatusNotFound {
		t.Errorf("erase of an address that is not stored: %d, want 404", st)
	}
	if rep, err := e.App.Import(ctx, "scholen", strings.NewReader("email\nnooit@example.org\n"), newsletter.ImportOptions{}); err != nil || rep.Imported != 1 {
		t.Errorf("an address that was never stored is refused after a failed erase: %+v %v", rep, err)
	}
	if body := admin.mustGet(sub + "/privacy"); !strings.Contains(body, `"email": "mariette@example.org"`) {
		t.Errorf("privacy export: %s", body)
	}
	admin.mustPost(sub+"/erase", url.Values{"confirm": {s.email}})
	if _, err := e.App.ShowSubscriber(ctx, s.email); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("after erase: %v", err)
	}
	// Export: Dutch Excel gets ";" and a byte-order mark.
	if body := admin.mustGet("/admin/subscribers/export?list=bedrijven&sep=semicolon"); !strings.HasPrefix(body, "\ufeffemail;name;") {
		t.Errorf("export for Excel: %q", body[:min(len(body), 40)])
	}
	if body := admin.mustGet("/admin/subscribers/export?list=bedrijven&sep=comma"); !strings.HasPrefix(body, "email,name,") {
		t.Errorf("export with commas: %q", body[:min(len(body), 40)])
	}
	// Suppressions: filter, and lifting one needs a reason.
	if body := admin.mustGet("/admin/suppressions?reason=manual"); !strings.Contains(body, "suppressed@example.org") {
		t.Error("the suppression is not listed")
	}
	if body := admin.mustGet("/admin/suppressions?q=niemand"); strings.Contains(body, "suppressed@example.org") {
		t.Error("the filter does not filter")
	}
	if st, _, _ := admin.post("/admin/suppressions/remove", url.Values{"email": {"suppressed@example.org"}, "reason": {" "}}); st != http.StatusBadRequest {
		t.Errorf("unsuppress without a reason: %d", st)
	}
	admin.mustPost("/admin/suppressions/remove", url.Values{"email": {"suppressed@example.org"}, "reason": {"address fixed by the partner"}})
	if ss, _ := e.App.Suppressions(ctx); len(ss) != 0 {
		t.Errorf("still suppressed: %+v", ss)
	}
}

// The CSV upload shows the columns, imports with the mapping, and reports
// each refused row with its line number and reason.
func TestImportWithMapping(t *testing.T) {
	e := newEnv(t, false)
	seed(t, e)
	admin := e.as(newsletter.RoleAdmin, "nl")
	csv := "adres;wie;bedrijf\nx@example.org;X;ROC\nniet-een-adres;Y;Z\n\ny@example.org;Y;Gemeente\nx@example.org;X;dubbel\n"
	st, body := admin.postFile("/admin/lists/bedrijven/import", "file", "leden.csv", csv, nil)
	if st != http.StatusOK || !strings.Contains(body, "Welke kolom is wat?") || !strings.Contains(body, "<td>adres</td>") || !strings.Contains(body, "<td>niet-een-adres</td>") {
		t.Fatalf("preview: %d\n%s", st, body)
	}
	data := regexp.MustCompile(`name="data" value="([^"]*)"`).FindStringSubmatch(body)
	if data == nil {
		t.Fatal("no data in the preview form")
	}
	st, body, _ = admin.post("/admin/lists/bedrijven/import", url.Values{"data": {data[1]}, "col0": {"email"}, "col1": {"name"}, "col2": {"organisation"}})
	if st != http.StatusOK {
		t.Fatalf("import: %d\n%s", st, body)
	}
	if !strings.Contains(body, "2 nieuw, 0 bijgewerkt, 0 ongewijzigd, 2 geweigerd.") {
		t.Errorf("report counts:\n%s", body)
	}
	rows := regexp.MustCompile(`<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>`).FindAllStringSubmatch(body, -1)
	if len(rows) != 2 || rows[0][1] != "3" || rows[1][1] != "6" || rows[0][3] == "" || rows[1][3] == "" {
		t.Errorf("refused rows %q, want lines 3 and 6 with reasons", rows)
	}
	if d, err := e.App.ShowSubscriber(context.Background(), "y@example.org"); err != nil || d.Subscriber.Organisation != "Gemeente" {
		t.Errorf("mapped import: %+v %v", d, err)
	}
}

// The progress stream of an edition that is not being sent says so once
// and ends.
func TestProgressStream(t *testing.T) {
	e := newEnv(t, false)
	s := seed(t, e)
	st, body := e.as(newsletter.RoleViewer, "nl").get("/admin/editions/" + s.edition + "/progress")
	if st != http.StatusOK || !strings.HasPrefix(body, "event: progress\ndata: {\"state\":\"draft\"") {
		t.Errorf("progress: %d %q", st, body)
	}
}

// Bad input on the forms gets a page that names the problem, and changes
// nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t, false)
	s := seed(t, e)
	ed, admin := e.as(newsletter.RoleEditor, "nl"), e.as(newsletter.RoleAdmin, "nl")
	pub := "/admin/editions/" + s.edition + "/publish"
	for _, tc := range []struct {
		c      *client
		method string
		path   string
		form   url.Values
		status int
		says   string
	}{
		{ed, "GET", pub + "?lists=scholen&at=morgen", nil, 400, "is niet te lezen"},
		{ed, "GET", pub, nil, 400, "Kies ten minste één lijst"},
		{ed, "GET", pub + "?lists=bestaat-niet", nil, 404, "bestaat-niet"},
		{ed, "POST", "/admin/editions", url.Values{"subject": {""}, "body": {"tekst"}}, 400, "Vul een onderwerp en een tekst in"},
		{ed, "POST", "/admin/editions/" + s.edition, url.Values{"subject": {" "}}, 400, "subject is empty"},
		{ed, "GET", "/admin/editions/bestaat-niet", nil, 404, "bestaat-niet"},
		{admin, "GET", "/admin/subscribers?q=x&cursor=!!", nil, 400, "cursor"},
		{admin, "GET", "/admin/lists/scholen?cursor=abc", nil, 400, "cursor"},
		{admin, "POST", "/admin/lists/scholen/import", url.Values{}, 400, "Kies eerst een bestand"},
		{admin, "POST", "/admin/subscribers/niemand@example.org", url.Values{"name": {"X"}}, 404, "niemand@example.org"},
	} {
		var st int
		var body string
		if tc.method == "GET" {
			st, body = tc.c.get(tc.path)
		} else {
			st, body, _ = tc.c.post(tc.path, tc.form)
		}
		if st != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("%s %s: %d, want %d saying %q", tc.method, tc.path, st, tc.status, tc.says)
		}
	}
	if got, _ := e.App.GetEdition(context.Background(), s.edition); got.State != newsletter.EditionDraft || got.Subject != evilSubject {
		t.Errorf("bad input changed the edition: %+v", got)
	}
}

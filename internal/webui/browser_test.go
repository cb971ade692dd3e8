package webui_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/browsertest"
)

// signIn signs in as the test account of role (and lang) through the
// real sign-in page, as a person does, and checks that it leads to the
// dashboard.
func signIn(t *testing.T, ctx context.Context, e *env, role newsletter.Role, lang string) {
	t.Helper()
	acct := e.account(role, lang)
	browse(t, ctx, e, "/admin/login")
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), acct.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testPassword),
	)
	submit(t, ctx, `form[action="/admin/login"] button[type=submit]`)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if loc != e.URL+"/admin/" {
		t.Fatalf("sign in as %s: at %s, want the dashboard", role, loc)
	}
}

// browse opens path and fails the test unless it answers 200.
func browse(t *testing.T, ctx context.Context, e *env, path string) {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(e.URL+path))
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	if resp.Status != 200 {
		t.Fatalf("open %s: status %d", path, resp.Status)
	}
}

// submit clicks sel and waits for the page it leads to.
func submit(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
	if resp.Status != 200 {
		t.Fatalf("click %s: the page answered %d", sel, resp.Status)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

func textContent(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// An admin creates a list, uploads a CSV with bad rows and sees their
// line numbers and reasons.
func TestBrowserAdminImportsCSV(t *testing.T) {
	ctx := browsertest.New(t)
	e := newEnv(t, false)
	signIn(t, ctx, e, newsletter.RoleAdmin, "nl")
	browse(t, ctx, e, "/admin/lists")
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#new-list input[name=slug]`), "regio-oost"),
		chromedp.SendKeys(chromedp.CSS(`#new-list input[name=name]`), "Regio Oost"),
	)
	submit(t, ctx, `#new-list button[type=submit]`)
	if h := text(t, ctx, "h1"); !strings.Contains(h, "Regio Oost") {
		t.Fatalf("after creating the list: %q", h)
	}
	submit(t, ctx, "#import")
	file := filepath.Join(t.TempDir(), "partners.csv")
	csv := "email;naam;organisatie\njan@example.org;Jan;ROC\ngeen-adres;Piet;Gemeente\nmarie@example.org;Marie;School\n;Leeg;Niets\njan@example.org;Jan;ROC\n"
	if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.SetUploadFiles(chromedp.CSS(`input[name=file]`), []string{file}))
	submit(t, ctx, "#upload")
	browsertest.Screenshot(t, ctx, "import-mapping")
	if got := text(t, ctx, "main"); !strings.Contains(got, "geen-adres") {
		t.Errorf("the preview does not show the rows: %q", got)
	}
	submit(t, ctx, "#do-import")
	browsertest.Screenshot(t, ctx, "import-report")
	if got := text(t, ctx, "#import-counts"); !strings.Contains(got, "2 nieuw") || !strings.Contains(got, "3 geweigerd") {
		t.Errorf("counts: %q", got)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#rejected tbody tr")].map(tr => [...tr.cells].map(td => td.textContent))`))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range rows {
		lines = append(lines, r[0])
		if len(r) < 3 || strings.TrimSpace(r[2]) == "" {
			t.Errorf("refused row without a reason: %q", r)
		}
	}
	if strings.Join(lines, ",") != "3,5,6" {
		t.Errorf("refused lines %v, want 3,5,6 (%q)", lines, rows)
	}
	browse(t, ctx, e, "/admin/lists")
	browsertest.Screenshot(t, ctx, "lists")
}

// An editor writes an edition with a mojibake, sees it in the preview,
// repairs it with one click, sends a test, publishes to two overlapping
// lists after a confirmation with the deduplicated count, watches the
// progress reach 100 % and opens the recipient ledger.
func TestBrowserEditorPublishes(t *testing.T) {
	ctx := browsertest.New(t)
	e := newEnv(t, true)
	seedAudience(t, e)
	signIn(t, ctx, e, newsletter.RoleEditor, "nl")
	browse(t, ctx, e, "/admin/editions/new")
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name=subject]`), "Nieuws van december"),
		chromedp.SendKeys(chromedp.CSS(`input[name=preheader]`), "Het laatste van het jaar"),
		chromedp.SetValue(chromedp.CSS(`textarea[name=body]`), "Beste partners,\n\nDit is ├ęn mooi jaar geweest.\n\n## Agenda\n\nZie https://example.org/agenda voor alles."),
	)
	browsertest.Screenshot(t, ctx, "edition-new")
	submit(t, ctx, `form[action="/admin/editions"]:not([enctype]) button[type=submit]`)
	if got := text(t, ctx, "#finding-list"); !strings.Contains(got, "„├ę” wordt „é”") {
		t.Fatalf("the finding is not shown: %q", got)
	}
	if got := textContent(t, ctx, "#plain"); !strings.Contains(got, "├ęn") {
		t.Errorf("the plain-text preview does not show the text: %q", got)
	}
	// The live preview follows the text as it is typed.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const t = document.querySelector("textarea[name=body]"); t.focus(); t.setSelectionRange(t.value.length, t.value.length); return true })()`)); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`textarea[name=body]`), "\n\nNog een zin."))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("plain").textContent.includes("Nog een zin.")`)); err != nil {
		t.Errorf("the live preview did not follow the text: %v", err)
	}
	browsertest.Screenshot(t, ctx, "edition-edit")
	submit(t, ctx, "#fix")
	if got := text(t, ctx, "#findings"); !strings.Contains(got, "Geen verminkte tekens") {
		t.Errorf("after the repair: %q", got)
	}
	if got := textContent(t, ctx, "#plain"); !strings.Contains(got, "Dit is én mooi jaar") {
		t.Errorf("the repair is not in the preview: %q", got)
	}
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`input[name=to]`), "test@example.org"))
	submit(t, ctx, `form[action$="/test"] button`)
	if got := text(t, ctx, ".flash"); !strings.Contains(got, "testmail") {
		t.Errorf("after the test send: %q", got)
	}
	waitUntil(t, "the test email reaches SES", func() bool {
		for _, m := range e.SES.Messages() {
			if strings.Contains(strings.Join(m.To, ","), "test@example.org") {
				return true
			}
		}
		return false
	})
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`input[name=lists][value=scholen]`)),
		chromedp.Click(chromedp.CSS(`input[name=lists][value=bedrijven]`)),
	)
	submit(t, ctx, "#publish")
	browsertest.Screenshot(t, ctx, "publish-confirm")
	if got := text(t, ctx, "#recipients"); got != "5 ontvangers" {
		t.Errorf("confirmation count %q, want 5 (6 memberships, 1 on both lists, 1 suppressed: 5 people)", got)
	}
	submit(t, ctx, "#confirm")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("[data-progress]").getAttribute("data-percent") === "100"`,
		chromedp.WithPollingTimeout(2*time.Minute))); err != nil {
		t.Fatalf("progress did not reach 100 %%: %v", err)
	}
	if got := text(t, ctx, "[data-progress] .pct"); got != "100 %" {
		t.Errorf("progress shows %q", got)
	}
	browsertest.Screenshot(t, ctx, "edition-sent")
	submit(t, ctx, "#ledger")
	browsertest.Screenshot(t, ctx, "ledger")
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#ledger-table tbody tr")].map(tr => [...tr.cells].map(td => td.textContent.trim()))`))
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]string{} // SES's message id per recipient
	for _, m := range e.SES.Messages() {
		for _, to := range m.To {
			sent[to] = m.MessageID
		}
	}
	seen := map[string]bool{}
	for _, row := range rows {
		if len(row) != 5 {
			t.Fatalf("ledger row %q: want 5 cells", row)
		}
		email, state, reason, msgID := row[0], row[1], row[2], row[3]
		seen[email] = true
		if email == "s@example.org" { // suppressed: skipped, never sent
			if state != "overgeslagen" || reason != "suppressed" || msgID != "" {
				t.Errorf("ledger: the suppressed address shows %q, want overgeslagen (suppressed) without a message id", row)
			}
			continue
		}
		// The simulator's delivery notification may already have come in.
		if state != "verstuurd" && state != "afgeleverd" {
			t.Errorf("ledger: %s is %q, want verstuurd (or afgeleverd)", email, state)
		}
		if msgID == "" || msgID != sent[email] {
			t.Errorf("ledger: %s has message id %q, SES gave %q", email, msgID, sent[email])
		}
	}
	for _, want := range []string{"a@example.org", "b@example.org", "c@example.org", "d@example.org", "e@example.org", "s@example.org"} {
		if !seen[want] {
			t.Errorf("the ledger lacks %s: %q", want, rows)
		}
	}
	if len(rows) != 6 {
		t.Errorf("the ledger has %d rows, want the 5 recipients and the skipped one: %q", len(rows), rows)
	}
	browse(t, ctx, e, "/admin/")
	browsertest.Screenshot(t, ctx, "dashboard")
}

// seedAudience: scholen a, b, c; bedrijven b, d, e, s (s suppressed).
func seedAudience(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	for _, l := range []newsletter.List{{Slug: "scholen", Name: "Scholen"}, {Slug: "bedrijven", Name: "Bedrijven"}} {
		if _, err := e.App.CreateList(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	for list, csv := range map[string]string{
		"scholen":   "email,name\na@example.org,A\nb@example.org,B\nc@example.org,C\n",
		"bedrijven": "email,name\nb@example.org,B\nd@example.org,D\ne@example.org,E\ns@example.org,S\n",
	} {
		if _, err := e.App.Import(ctx, list, strings.NewReader(csv), newsletter.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.App.Suppress(ctx, "s@example.org", "bounced before"); err != nil {
		t.Fatal(err)
	}
}

// waitUntil polls cond; the deadline only turns a hang into a failure.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 2 minutes", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A viewer sees no publish button, and a publish forged from the viewer's
// own session (with its form token) gets 403.
func TestBrowserViewerCannotPublish(t *testing.T) {
	ctx := browsertest.New(t)
	e := newEnv(t, false)
	seedAudience(t, e)
	ed, _, err := e.App.CreateEdition(context.Background(), "x.md", []byte("---\nsubject: Voor iedereen\n---\nTekst\n"))
	if err != nil {
		t.Fatal(err)
	}
	signIn(t, ctx, e, newsletter.RoleViewer, "en")
	browse(t, ctx, e, "/admin/editions/"+ed.ID)
	browsertest.Screenshot(t, ctx, "edition-viewer")
	has, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector("#publish, #publish-form, #draft")`))
	if err != nil || has {
		t.Errorf("the viewer's page has a publish or edit form (%v)", err)
	}
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => {
		const csrf = document.querySelector('input[name=csrf]').value;
		return fetch(location.pathname + "/publish", {method: "POST", credentials: "same-origin",
			headers: {"Content-Type": "application/x-www-form-urlencoded"},
			body: "csrf=" + encodeURIComponent(csrf) + "&lists=scholen"}).then(r => r.status);
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if status != 403 {
		t.Errorf("forged publish from the viewer's session: %d, want 403", status)
	}
	if got, _ := e.App.GetEdition(context.Background(), ed.ID); got.Hash != "" || got.State != newsletter.EditionDraft {
		t.Errorf("the forged publish changed the edition: %s", got.State)
	}
}

// Every main page is usable at 390 px: nothing scrolls sideways.
func TestBrowserPhoneWidth(t *testing.T) {
	ctx := browsertest.New(t)
	e := newEnv(t, false)
	s := seed(t, e)
	// Something in the audit log (and the subscriber's history), with
	// long values in before/after.
	actx := app.WithActor(context.Background(), e.account(newsletter.RoleAdmin, "nl"))
	name, org := "Mariëtte van den Berg-Oosterhuis", "Regionaal Opleidingscentrum Twente, locatie Hengelo-Zuid"
	if err := e.App.UpdateSubscriber(actx, s.email, newsletter.SubscriberUpdate{Name: &name, Organisation: &org}); err != nil {
		t.Fatal(err)
	}
	desc := "Scholen in de regio die meedoen aan het leerwerkakkoord; " + strings.Repeat("lange beschrijving ", 8)
	if _, err := e.App.UpdateList(actx, "bedrijven", app.ListChange{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	signIn(t, ctx, e, newsletter.RoleAdmin, "nl")
	do(t, ctx, browsertest.Width(390))
	for name, path := range map[string]string{
		"dashboard": "/admin/", "editions": "/admin/editions", "edition": "/admin/editions/" + s.edition,
		"edition-new": "/admin/editions/new", "publish": "/admin/editions/" + s.edition + "/publish?lists=scholen&lists=bedrijven",
		"ledger": "/admin/editions/" + s.edition + "/deliveries", "lists": "/admin/lists", "list": "/admin/lists/scholen",
		"import": "/admin/lists/scholen/import", "subscribers": "/admin/subscribers", "subscriber": "/admin/subscribers/" + s.email,
		"erase": "/admin/subscribers/" + s.email + "/erase", "suppressions": "/admin/suppressions", "audit": "/admin/audit",
	} {
		browse(t, ctx, e, path)
		browsertest.NoHorizontalScroll(t, ctx, name+" at 390 px")
		browsertest.Screenshot(t, ctx, name+"-390")
	}
	// The menu opens on a phone.
	do(t, ctx, chromedp.Click(chromedp.CSS(".menu-label")))
	if vis, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector(".top nav")).display !== "none"`)); err != nil || !vis {
		t.Errorf("the menu does not open at 390 px (%v)", err)
	}
	browsertest.Screenshot(t, ctx, "menu-390")
	do(t, ctx, browsertest.Width(1280))
	for name, path := range map[string]string{
		"subscribers": "/admin/subscribers?q=mariette", "subscriber": "/admin/subscribers/" + s.email,
		"suppressions": "/admin/suppressions", "list": "/admin/lists/scholen", "editions": "/admin/editions",
		"audit": "/admin/audit",
	} {
		browse(t, ctx, e, path)
		browsertest.Screenshot(t, ctx, name)
	}
}

// The dashboard warns when an edition's or a list's bounce rate nears
// the SES review threshold: here one hard bounce in four emails.
func TestDashboardWarnsOfBounces(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	if _, err := e.App.CreateList(ctx, newsletter.List{Slug: "klein", Name: "Klein"}); err != nil {
		t.Fatal(err)
	}
	csv := "email\nsuccess+1@simulator.amazonses.com\nsuccess+2@simulator.amazonses.com\nsuccess+3@simulator.amazonses.com\nbounce@simulator.amazonses.com\n"
	if _, err := e.App.Import(ctx, "klein", strings.NewReader(csv), newsletter.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	ed, _, err := e.App.CreateEdition(ctx, "b.md", []byte("---\nsubject: Kleine ronde\n---\nTekst\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := e.as(newsletter.RoleViewer, "nl")
	if dash := c.mustGet("/admin/"); !strings.Contains(dash, "ruim onder de") {
		t.Fatal("the dashboard warns before anything was sent")
	}
	if _, err := e.App.Publish(ctx, ed.ID, []string{"klein"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the bounce is recorded", func() bool {
		st, err := e.App.EditionStatus(ctx, ed.ID)
		return err == nil && st.Counts["bounced"] == 1
	})
	dash := c.mustGet("/admin/")
	for _, want := range []string{"Editie „Kleine ronde”: 25 % bounces", "Lijst klein: 25 % bounces",
		"Verzendsnelheid van het SES-account:", "toegestane e-mails verstuurd"} {
		if !strings.Contains(dash, want) {
			t.Errorf("the dashboard does not warn %q", want)
		}
	}
}

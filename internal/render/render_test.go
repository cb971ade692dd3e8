package render

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"

	"newsletter"
)

// TestGoldenFixtures renders the project's own editions and compares the
// HTML and text parts with testdata/fixture_*.golden.*.
func TestGoldenFixtures(t *testing.T) {
	goldenEditions(t, "fixture_", fixtureEditions(t))
}

// TestGoldenSeeds is the seed layer of TestGoldenFixtures.
func TestGoldenSeeds(t *testing.T) {
	goldenEditions(t, "", seedEditions(t))
}

func goldenEditions(t *testing.T, prefix string, eds map[string]*newsletter.Edition) {
	t.Helper()
	r := testRenderer(t)
	names := make([]string, 0, len(eds))
	for n := range eds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			tp, err := r.Render(eds[name])
			if err != nil {
				t.Fatal(err)
			}
			h, txt := tp.Personalise(fixedPersonal)
			golden(t, filepath.Join("testdata", prefix+name+".golden.html"), h)
			golden(t, filepath.Join("testdata", prefix+name+".golden.txt"), txt)
		})
	}
}

func TestGoldenFull(t *testing.T) {
	r := testRenderer(t)
	e := fullEdition()
	tp, err := r.Render(e)
	if err != nil {
		t.Fatal(err)
	}
	h, txt := tp.Personalise(fixedPersonal)
	golden(t, filepath.Join("testdata", "full_en.golden.html"), h)
	golden(t, filepath.Join("testdata", "full_en.golden.txt"), txt)
	a, err := r.Archive(e, archiveLinks("https://nieuws.example.nl/archief/full-en"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "full_en.archive.golden.html"), a)
}

func TestWellFormed(t *testing.T) {
	eds := fixtureEditions(t)
	eds["full-en"] = fullEdition()
	wellFormedEditions(t, eds)
	t.Run("seeds", func(t *testing.T) { wellFormedEditions(t, seedEditions(t)) })
}

func wellFormedEditions(t *testing.T, eds map[string]*newsletter.Edition) {
	t.Helper()
	r := testRenderer(t)
	for name, e := range eds {
		t.Run(name, func(t *testing.T) {
			tp, err := r.Render(e)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := tp.Personalise(fixedPersonal)
			checkWellFormed(t, name, h)
			a, err := r.Archive(e, archiveLinks("https://nieuws.example.nl/archief/"+name))
			if err != nil {
				t.Fatal(err)
			}
			checkWellFormed(t, name+" archive", a)
		})
	}
}

// The checker itself must be able to fail.
func TestWellFormedCheckerRejects(t *testing.T) {
	body := func(s string) string { return `<html><body><div class="nl-body">` + s + `</div></body></html>` }
	for _, doc := range []string{
		`<html><body><p>unclosed</body></html>`,
		`<html><body><b><i>x</b></i></body></html>`,
		`<html><body></div></body></html>`,
		`<html><body><br></br></body></html>`,
		body(`<span>x</span>`),
		body(`<p class="x">x</p>`),
		body(`<img src="https://x/y.png" onerror="alert(1)">`),
		`<html><body><a href="javascript:alert(1)">x</a></body></html>`,
	} {
		if err := wellFormed([]byte(doc)); err == nil {
			t.Errorf("checker accepted %s", doc)
		}
	}
	if err := wellFormed([]byte(body(`<p>ok <a href="https://x.nl" rel="noopener">x</a><br></p>`))); err != nil {
		t.Errorf("checker rejected a good document: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*Brand)
		field string
	}{
		{"no name", func(b *Brand) { b.ProductName = " " }, "ProductName"},
		{"relative link", func(b *Brand) { b.ProductLink = "/home" }, "ProductLink"},
		{"script link", func(b *Brand) { b.ProductLink = "javascript:alert(1)" }, "ProductLink"},
		{"bad logo", func(b *Brand) { b.LogoURL = "ftp://x/logo.png" }, "LogoURL"},
		{"short colour", func(b *Brand) { b.PrimaryColor = "#FFF" }, "PrimaryColor"},
		{"css injection", func(b *Brand) { b.ButtonColor = "red;}</style><script>" }, "ButtonColor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testBrand()
			tc.edit(&b)
			_, err := New(b)
			var ne *newsletter.Error
			if !errors.As(err, &ne) || ne.Code != newsletter.EINVALID || !strings.Contains(ne.Message, tc.field) {
				t.Fatalf("New: got %v, want EINVALID naming %s", err, tc.field)
			}
		})
	}
	b := testBrand()
	b.PrimaryColor, b.ButtonColor = "", ""
	if _, err := New(b); err != nil {
		t.Fatalf("empty colours should get defaults: %v", err)
	}
}

func TestRenderValidates(t *testing.T) {
	r := testRenderer(t)
	for name, edit := range map[string]func(*newsletter.Edition){
		"language":    func(e *newsletter.Edition) { e.Language = "de" },
		"subject":     func(e *newsletter.Edition) { e.Subject = "a\r\nBcc: x@example.org" },
		"cta scheme":  func(e *newsletter.Edition) { e.CTAURL = "javascript:alert(1)" },
		"cta no text": func(e *newsletter.Edition) { e.CTAText = "" },
		"hero scheme": func(e *newsletter.Edition) { e.HeroImageURL = "data:image/png;base64,AAAA" },
	} {
		e := fullEdition()
		edit(e)
		_, err := r.Render(e)
		if newsletter.ErrorCode(err) != newsletter.EINVALID {
			t.Errorf("%s: Render got %v, want EINVALID", name, err)
		}
		_, err = r.Archive(e, archiveLinks("https://x.nl/a"))
		if newsletter.ErrorCode(err) != newsletter.EINVALID {
			t.Errorf("%s: Archive got %v, want EINVALID", name, err)
		}
	}
	if _, err := r.Archive(fullEdition(), archiveLinks("javascript:alert(1)")); newsletter.ErrorCode(err) != newsletter.EINVALID {
		t.Errorf("Archive with a bad URL: got %v", err)
	}
}

var hostile = []struct{ name, body string }{
	{"script block", "<script>alert('xss')</script>\n\nna"},
	{"script inline", "Hallo <script src=\"https://evil.example/x.js\"></script> wereld"},
	{"script mixed case", "<ScRiPt>alert(1)</sCrIpT>"},
	{"img onerror", "<img src=x onerror=\"alert(1)\">"},
	{"img onerror inline", "tekst <img src=\"https://x.nl/a.png\" onerror=alert(1)> tekst"},
	{"a onclick", "<a href=\"https://x.nl\" onclick=\"alert(1)\">x</a>"},
	{"js link", "[klik hier](javascript:alert(1))"},
	{"js link mixed case", "[klik](JaVaScRiPt:alert(1))"},
	{"js link entity", "[klik](javascript&colon;alert(1))"},
	{"js link tab", "[klik](java\tscript:alert(1))"},
	{"js reference link", "[klik][x]\n\n[x]: javascript:alert(1)"},
	{"vbscript", "[klik](vbscript:msgbox(1))"},
	{"iframe", "<iframe src=\"https://evil.example/\"></iframe>"},
	{"style block", "<style>body{display:none}</style>\n\ntekst"},
	{"style attr", "<p style=\"background:url(javascript:alert(1))\">x</p>"},
	{"data image", "![pixel](data:image/png;base64,iVBORw0KGgo=)"},
	{"data svg", "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"},
	{"data link", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"},
	{"conditional comment", "<!--[if mso]><script>alert(1)</script><![endif]-->\n\ntekst"},
	{"comment", "a <!-- verborgen --> b"},
	{"svg", "<svg onload=alert(1)><circle/></svg>"},
	{"object", "<object data=\"https://evil.example/x.swf\"></object>"},
	{"form", "<form action=\"https://evil.example\"><input name=pw></form>"},
	{"meta refresh", "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">"},
	{"base", "<base href=\"https://evil.example/\">"},
}

// forbidden are substrings (lower case) that no hostile edition may get
// into any output.
var forbidden = []string{
	"<script", "</script", "onerror", "onclick", "onload", "javascript:", "javascript&colon;", "vbscript",
	"<iframe", "display:none}", "data:", "<svg", "<object", "<form", "<input", "http-equiv",
	"<base", "[if mso]", "<!--", "verborgen", "evil.example",
}

func TestSanitiseHostileEditions(t *testing.T) {
	r := testRenderer(t)
	for _, tc := range hostile {
		t.Run(tc.name, func(t *testing.T) {
			e := fullEdition()
			e.Body = "Begin.\n\n" + tc.body + "\n\nEinde."
			tp, err := r.Render(e)
			if err != nil {
				t.Fatal(err)
			}
			h, txt := tp.Personalise(fixedPersonal)
			a, err := r.Archive(e, archiveLinks("https://nieuws.example.nl/archief/x"))
			if err != nil {
				t.Fatal(err)
			}
			for part, out := range map[string][]byte{"html": h, "text": txt, "archive": a} {
				low := strings.ToLower(string(out))
				for _, f := range forbidden {
					if strings.Contains(low, f) {
						t.Errorf("%s output contains %q", part, f)
					}
				}
				if !strings.Contains(low, "begin.") || !strings.Contains(low, "einde.") {
					t.Errorf("%s output lost the surrounding content", part)
				}
			}
			checkWellFormed(t, "html", h)
			checkWellFormed(t, "archive", a)
			// One <style>: the media query premailer leaves in <head>.
			if n := strings.Count(strings.ToLower(string(h)), "<style"); n != 1 {
				t.Errorf("html has %d <style> elements, want 1", n)
			}
		})
	}
}

// bluemonday must hold on its own, without goldmark dropping raw HTML.
func TestPolicyAlone(t *testing.T) {
	raw := `<p onclick="x()">a <script>alert(1)</script><a href="javascript:alert(1)">j</a>` +
		`<a href="https://ok.example/?a=1&amp;b=2">ok</a><img src="data:image/png;base64,AA" alt="d">` +
		`<img src="https://ok.example/i.png" alt="Kaart van Rijnmond"><iframe src="https://x"></iframe>` +
		`<style>p{}</style><!--[if mso]>x<![endif]--><a href="/relative">rel</a></p>`
	got := policy.Sanitize(raw)
	low := strings.ToLower(got)
	for _, f := range []string{"onclick", "<script", "javascript:", "data:", "<iframe", "<style", "<!--", "/relative"} {
		if strings.Contains(low, f) {
			t.Errorf("sanitised HTML contains %q: %s", f, got)
		}
	}
	for _, want := range []string{
		`<a href="https://ok.example/?a=1&amp;b=2" rel="noreferrer noopener" target="_blank">ok</a>`,
		`<img src="https://ok.example/i.png" alt="Kaart van Rijnmond">`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("sanitised HTML lacks %s: %s", want, got)
		}
	}
}

func TestEscaping(t *testing.T) {
	r := testRenderer(t)
	e := fullEdition()
	tp, err := r.Render(e)
	if err != nil {
		t.Fatal(err)
	}
	p := Personal{
		Name:           `<b>"Jan" & Co</b>`,
		UnsubscribeURL: `https://x.example/u?a=1&b="2"&c='3'<>`,
		PreferencesURL: "https://x.example/p?a=1&b=2",
		WebURL:         "https://x.example/w#frag",
	}
	h, txt := tp.Personalise(p)
	hs, ts := string(h), string(txt)
	if !strings.Contains(hs, "Dear &lt;b&gt;&#34;Jan&#34; &amp; Co&lt;/b&gt;,") {
		t.Errorf("name not HTML-escaped in HTML")
	}
	if strings.Contains(hs, `<b>"Jan"`) {
		t.Errorf("raw name in HTML")
	}
	if !strings.Contains(ts, "Dear "+p.Name+",") {
		t.Errorf("name not verbatim in text")
	}
	for _, u := range []string{p.UnsubscribeURL, p.PreferencesURL, p.WebURL} {
		if !strings.Contains(ts, u) {
			t.Errorf("text lacks raw URL %s", u)
		}
	}
	// Parsing the HTML must give back exactly the URLs we put in.
	hrefs := map[string]bool{}
	doc, err := html.Parse(bytes.NewReader(h))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "a" {
			hrefs[attr(n, "href")] = true
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, u := range []string{p.UnsubscribeURL, p.PreferencesURL, p.WebURL, e.CTAURL} {
		if !hrefs[u] {
			t.Errorf("no <a href> decodes to %q; hrefs: %v", u, hrefs)
		}
	}
	if !strings.Contains(hs, `href="https://x.example/u?a=1&amp;b=&#34;2&#34;&amp;c=&#39;3&#39;&lt;&gt;"`) {
		t.Errorf("unsubscribe URL not attribute-escaped")
	}
	checkWellFormed(t, "escaping", h)
}

func TestPersonalValuesSanitised(t *testing.T) {
	tp, err := testRenderer(t).Render(fullEdition())
	if err != nil {
		t.Fatal(err)
	}
	h, txt := tp.Personalise(Personal{
		Name:           "Jan\r\nBcc: evil\x00\xff",
		UnsubscribeURL: "javascript:alert(1)",
		PreferencesURL: "/relative",
		WebURL:         "",
	})
	for part, out := range map[string]string{"html": string(h), "text": string(txt)} {
		if strings.Contains(out, "javascript:") || strings.Contains(out, "/relative") {
			t.Errorf("%s kept an unsafe URL", part)
		}
		if strings.Contains(out, "Jan\r") || strings.Contains(out, "\nBcc") || strings.ContainsRune(out, 0) {
			t.Errorf("%s kept control characters of the name", part)
		}
		if !utf8.ValidString(out) {
			t.Errorf("%s is not valid UTF-8", part)
		}
	}
	if !strings.Contains(string(txt), "Unsubscribe: #") {
		t.Errorf("unsafe unsubscribe URL should become #:\n%s", txt)
	}
}

// Greetings are as the author wrote them: none stays none, fixed text
// stays fixed, and a greeting with the recipient's name gets the neutral
// form (configurable per language) for a recipient without one.
func TestGreeting(t *testing.T) {
	b := testBrand()
	b.NeutralGreeting = map[string]string{"en": "Dear colleague,"}
	custom, err := New(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		r                          *Renderer
		lang, greeting, name, want string
	}{
		{testRenderer(t), "nl", "Beste {naam},", "Anna", "Beste Anna,"},
		{testRenderer(t), "nl", "Beste {NAAM},", "", "Beste partner,"},
		{testRenderer(t), "nl", "Hallo {naam}!", "   ", "Beste partner,"},
		{testRenderer(t), "en", "Dear {name},", "", "Dear partner,"},
		{custom, "en", "Dear {name},", "", "Dear colleague,"},
		{custom, "nl", "Beste {naam},", "", "Beste partner,"},
		{testRenderer(t), "en", "Dear {name},", "Ann & Bob", "Dear Ann & Bob,"},
		{testRenderer(t), "nl", "Beste partners en vrienden van het Leerwerkakkoord,", "Anna", "Beste partners en vrienden van het Leerwerkakkoord,"},
		{testRenderer(t), "nl", "", "Anna", ""},
	} {
		e := fullEdition()
		e.Language, e.Greeting = tc.lang, tc.greeting
		tp, err := tc.r.Render(e)
		if err != nil {
			t.Fatal(err)
		}
		h, txt := tp.Personalise(Personal{Name: tc.name})
		wantHTML := `<p class="greeting" style="margin:0 0 16px 0">` + template.HTMLEscapeString(tc.want) + `</p>`
		if tc.want == "" {
			if strings.Contains(string(h), `class="greeting"`) || strings.Contains(string(txt), "Anna") || strings.Contains(string(txt), "partner,") {
				t.Errorf("%+v: a greeting was invented:\n%s", tc, txt)
			}
		} else if !strings.Contains(string(h), wantHTML) {
			t.Errorf("%+v: HTML greeting wrong, want %s", tc, wantHTML)
		}
		if tc.want != "" && !strings.Contains(string(txt), "\n\n"+tc.want+"\n\n") {
			t.Errorf("%+v: text greeting wrong:\n%s", tc, txt)
		}
		if !PersonalGreeting(tc.greeting) && tc.name != "" && strings.Contains(string(h), tc.name) {
			t.Errorf("%+v: name used despite a fixed greeting", tc)
		}
		gh, gt := tp.Greeting(tc.name)
		if PersonalGreeting(tc.greeting) && (gh != template.HTMLEscapeString(tc.want) || gt != tc.want) {
			t.Errorf("%+v: Greeting() = %q, %q", tc, gh, gt)
		}
	}
	if _, err := New(Brand{ProductName: "X", ProductLink: "https://x.nl", NeutralGreeting: map[string]string{"nl": "Beste\nBcc: x"}}); newsletter.ErrorCode(err) != newsletter.EINVALID {
		t.Errorf("a neutral greeting of two lines was accepted: %v", err)
	}
}

// Edition content cannot produce placeholders: the tokens are random per
// Render, and if content did carry the current token Render refuses.
func TestPlaceholdersNotForgeable(t *testing.T) {
	fixed := testRenderer(t)
	const base = "nl0123456789abcdef0123456789abcdef"
	fixed.tokens = func() (string, error) { return base, nil }

	forged := "Links: " + base + "U " + base + "N {{Name}} {{.Name}} %s %NAME% *|FNAME|*"
	e := fullEdition()
	e.Body = forged
	e.Title = base + "G"
	e.Greeting = "Dear {name},"

	// With the token known in advance, Render notices the extra slots.
	if _, err := fixed.Render(e); err == nil {
		t.Fatal("Render accepted content carrying its own placeholder token")
	}
	// With a random token, forged text is just text.
	tp, err := testRenderer(t).Render(e)
	if err != nil {
		t.Fatal(err)
	}
	p := Personal{Name: "SECRETNAME", UnsubscribeURL: "https://x.example/SECRETURL", PreferencesURL: "https://x.example/p", WebURL: "https://x.example/w"}
	h, txt := tp.Personalise(p)
	for part, out := range map[string]string{"html": string(h), "text": string(txt)} {
		if n := strings.Count(out, "SECRETNAME"); n != 1 {
			t.Errorf("%s: name appears %d times, want 1 (greeting only)", part, n)
		}
		if n := strings.Count(out, "SECRETURL"); n != 1 {
			t.Errorf("%s: unsubscribe URL appears %d times, want 1", part, n)
		}
		if !strings.Contains(out, base+"U") || !strings.Contains(out, "{{Name}}") || !strings.Contains(out, "%NAME%") {
			t.Errorf("%s: forged placeholder text was not kept as text", part)
		}
	}
}

func TestArchive(t *testing.T) {
	eds := fixtureEditions(t)
	eds["full-en"] = fullEdition()
	archiveEditions(t, eds)
	t.Run("seeds", func(t *testing.T) { archiveEditions(t, seedEditions(t)) })
}

func archiveEditions(t *testing.T, eds map[string]*newsletter.Edition) {
	t.Helper()
	r := testRenderer(t)
	for name, e := range eds {
		a, err := r.Archive(e, archiveLinks("https://nieuws.example.nl/archief/"+name))
		if err != nil {
			t.Fatal(err)
		}
		s := string(a)
		for _, personal := range []string{fixedPersonal.Name, fixedPersonal.UnsubscribeURL, fixedPersonal.PreferencesURL, fixedPersonal.WebURL,
			"tok123", "Afmelden<", "Unsubscribe<", "Voorkeuren aanpassen", "Update your preferences", "Bekijk in uw browser", "View in your browser", "nl0", "Beste partner,", "Dear partner,", "{name}", "{naam}",
			`<a href="https://nieuws.example.nl/archief/` + name + `"`} {
			if strings.Contains(s, personal) {
				t.Errorf("%s archive contains %q", name, personal)
			}
		}
		for _, want := range []string{`<link rel="canonical" href="https://nieuws.example.nl/archief/` + name + `"/>`, "webversie", testBrand().ProductLink,
			`href="https://nieuws.example.nl/archief/"`, `href="https://nieuws.example.nl/aanmelden"`} {
			if e.Language == "en" && want == "webversie" {
				want = "web version"
			}
			if !strings.Contains(s, want) {
				t.Errorf("%s archive lacks %q", name, want)
			}
		}
		if strings.Contains(s, "preheader") {
			t.Errorf("%s archive has a hidden preheader", name)
		}
	}
}

func TestDutchCharacters(t *testing.T) {
	r := testRenderer(t)
	e := fullEdition()
	e.Language = "nl"
	const s = "é ë ï ’ “ ” – €"
	e.Subject, e.Title, e.Body, e.Author = "Onderwerp "+s, "Titel "+s, "Tekst "+s, "Auteur "+s
	tp, err := r.Render(e)
	if err != nil {
		t.Fatal(err)
	}
	h, txt := tp.Personalise(Personal{Name: "Zoë " + s})
	if tp.Subject != e.Subject {
		t.Errorf("subject changed: %q", tp.Subject)
	}
	for part, out := range map[string]string{"html": string(h), "text": string(txt)} {
		if n := strings.Count(out, s); n < 4 {
			t.Errorf("%s has the Dutch characters %d times, want at least 4", part, n)
		}
		if !utf8.ValidString(out) {
			t.Errorf("%s is not valid UTF-8", part)
		}
	}
	if !strings.Contains(string(h), `<meta charset="utf-8"/>`) {
		t.Errorf("no meta charset")
	}
}

func TestPlainText(t *testing.T) {
	r := testRenderer(t)
	eds := fixtureEditions(t)
	eds["full-en"] = fullEdition()
	plainTextEditions(t, eds)
	t.Run("seeds", func(t *testing.T) { plainTextEditions(t, seedEditions(t)) })
	// Structure of the full edition's text part.
	tp, _ := r.Render(fullEdition())
	_, txt := tp.Personalise(fixedPersonal)
	for _, want := range []string{
		"Partner update\n==============",
		"Events\n------",
		"a link (https://example.org/a?b=1&c=2)",
		"- Kennissessie on 4 March\n- Roadshow Logistiek",
		"1. one\n2. two",
		"> A quote from a partner:",
		"A chart (https://cdn.example.org/chart.png)",
		"https://rotterdam.foleon.com/leerwerkakkoord/ezine/ or",
		"mail info@example.org.",
		"Register now:\nhttps://example.org/register?event=llo&year=2023",
		"Kind regards,\nPeter Smit\nProgramme manager",
		"x < y && z",
	} {
		// Wrapping may turn a space into a line break, nothing else.
		collapsed := strings.Join(strings.Fields(string(txt)), " ")
		if !strings.Contains(string(txt), want) && (strings.Contains(want, "\n") || !strings.Contains(collapsed, want)) {
			t.Errorf("text lacks %q:\n%s", want, txt)
		}
	}
}

// plainTextEditions checks the text part of every edition carries no HTML
// and keeps the personal links as written.
func plainTextEditions(t *testing.T, eds map[string]*newsletter.Edition) {
	t.Helper()
	r := testRenderer(t)
	for name, e := range eds {
		tp, err := r.Render(e)
		if err != nil {
			t.Fatal(err)
		}
		_, txt := tp.Personalise(Personal{Name: `Tom & "Jerry" <co>`, UnsubscribeURL: "https://x.nl/u?a=1&b=2", PreferencesURL: "https://x.nl/p", WebURL: "https://x.nl/w"})
		s := string(txt)
		for _, ent := range []string{"&amp;", "&lt;", "&gt;", "&#", "&quot;", "&nbsp;", "<p", "<a ", "<br", "<em", "<strong", "**", "*", "~", "{name}", "{naam}"} {
			if strings.Contains(s, ent) {
				t.Errorf("%s text contains %q", name, ent)
			}
		}
		if !strings.Contains(s, "https://x.nl/u?a=1&b=2") {
			t.Errorf("%s text lacks the unsubscribe URL", name)
		}
	}
}

// TestFixtureStructure checks, beyond the golden files, the parts of each
// fixture a reader relies on: headings, emphasis, links, lists, the
// greeting and the sign-off block, and the Dutch characters, in both parts.
func TestFixtureStructure(t *testing.T) {
	r := testRenderer(t)
	eds := fixtureEditions(t)
	for name, want := range map[string]struct{ html, text []string }{
		"najaar": {
			html: []string{
				">Beste partners van het Leerwerkpact Drechtsteden,<",
				">Nieuwe leerwerkplekken in de haven</h2>", ">Ideeën gezocht voor het jaarplan</h2>",
				"“Wat levert het Leerwerkpact mij nu concreet op?”", "‘Havenacademie’", "Geïnteresseerde", "één dag",
				"leren ├ęn werken", // rendering does not repair: publish refuses it until "editions fix"
			},
			text: []string{
				"Voorwoord Marloes van Dijk\n==========================\n",
				"Nieuwe leerwerkplekken in de haven\n----------------------------------\n",
				"“Wat levert het Leerwerkpact mij nu concreet op?”", "‘Havenacademie’",
				"Met vriendelijke groet,\nMarloes van Dijk\nProgrammamanager Leerwerkpact Drechtsteden\n",
			},
		},
		"winter": {
			html: []string{
				">Beste allemaal,<", "<em>Zorg dichtbij</em>", ">Welkom bij de laatste nieuwsbrief van dit jaar.</p>",
				`<a href="https://www.leerwerkpact-drechtsteden.nl/agenda"`, ">de kennissessie over praktijkleren in het mkb</li>",
				"coördinatieoverleg", "naïeve", "16\u00a0januari",
			},
			text: []string{
				"Beste allemaal,\n\nWelkom bij de laatste nieuwsbrief van dit jaar.\n",
				"Zorg dichtbij, waarin", "https://www.leerwerkpact-drechtsteden.nl/agenda. Kijkt u",
				"- de kennissessie over praktijkleren in het mkb\n- de open dag van het techniekcollege in Papendrecht\n",
				"Groet,\nMarloes van Dijk\nProgrammamanager Leerwerkpact Drechtsteden\n",
			},
		},
		"afscheid": {
			html: []string{
				">Wat verandert er?</h2>", ">Naar de nieuwe website</h2>", "<em>Vanaf 1 januari gaat",
				`<a href="https://www.leerwerkpunt-drechtsteden.nl/"`, "‘pact’",
			},
			text: []string{
				"==\n\nVanaf 1 januari gaat", // no greeting in the edition: none in the email
				"Wat verandert er?\n-----------------\n", "\n\nhttps://www.leerwerkpunt-drechtsteden.nl/\n\n",
				"Vanaf 1 januari", "wat er hetzelfde blijft.\n",
			},
		},
		"congres": {
			html: []string{
				">Beste partners,<", ">Het programma</h2>", "<em>vóór 1 maart</em>",
				`<a href="https://www.leerwerkpact-drechtsteden.nl/congres/route"`, ">routebeschrijving</a>",
				`href="https://www.leerwerkpact-drechtsteden.nl/congres?jaar=2025&amp;bron=nieuwsbrief"`, "Meld u aan",
				">09.30 uur: ontvangst met koffie en ‘krentenbollen’</li>", "ideeën", "Geïnteresseerden",
			},
			text: []string{
				"Congres “Samen leren werkt”\n===========================\n",
				"- 09.30 uur: ontvangst met koffie en ‘krentenbollen’\n- 10.00 uur",
				"routebeschrijving (https://www.leerwerkpact-drechtsteden.nl/congres/route)",
				"Meld u aan:\nhttps://www.leerwerkpact-drechtsteden.nl/congres?jaar=2025&bron=nieuwsbrief\n",
				"Met vriendelijke groet,\nMarloes van Dijk\nProgrammamanager Leerwerkpact Drechtsteden\n",
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			e, ok := eds[name]
			if !ok {
				t.Fatalf("fixture %s missing", name)
			}
			tp, err := r.Render(e)
			if err != nil {
				t.Fatal(err)
			}
			h, txt := tp.Personalise(fixedPersonal)
			if tp.Subject != e.Subject {
				t.Errorf("subject %q, want %q", tp.Subject, e.Subject)
			}
			for _, w := range want.html {
				if !strings.Contains(string(h), w) {
					t.Errorf("HTML lacks %q", w)
				}
			}
			collapsed := strings.Join(strings.Fields(string(txt)), " ")
			for _, w := range want.text {
				// Wrapping may turn a space into a line break, nothing else.
				if !strings.Contains(string(txt), w) && (strings.Contains(w, "\n") || !strings.Contains(collapsed, w)) {
					t.Errorf("text lacks %q:\n%s", w, txt)
				}
			}
		})
	}
}

func TestAppendReusesBuffer(t *testing.T) {
	tp, err := testRenderer(t).Render(fullEdition())
	if err != nil {
		t.Fatal(err)
	}
	h, txt := tp.Personalise(fixedPersonal)
	buf := []byte("prefix:")
	got := tp.AppendHTML(buf, fixedPersonal)
	if string(got) != "prefix:"+string(h) {
		t.Errorf("AppendHTML did not append")
	}
	if got2 := tp.AppendText(got[:0], fixedPersonal); !bytes.Equal(got2, txt) {
		t.Errorf("AppendText into a reused buffer differs")
	}
}

func TestConcurrentRenderPersonalise(t *testing.T) {
	r := testRenderer(t) // fresh: hermes has never run through it
	e := fullEdition()
	const n = 50
	htmls := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tp, err := r.Render(e)
			if err != nil {
				errs[i] = err
				return
			}
			h, _ := tp.Personalise(Personal{Name: fmt.Sprintf("R%d", i), UnsubscribeURL: "https://x.nl/u", PreferencesURL: "https://x.nl/p", WebURL: "https://x.nl/w"})
			htmls[i] = bytes.Replace(h, []byte(fmt.Sprintf("Dear R%d,", i)), []byte("Dear R,"), 1)
			if _, err := r.Archive(e, archiveLinks("https://x.nl/a")); err != nil {
				errs[i] = err
			}
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if !bytes.Equal(htmls[i], htmls[0]) {
			t.Fatalf("goroutine %d rendered different HTML: %s", i, firstDiff(htmls[0], htmls[i]))
		}
	}
}

// The service emails speak one language each, and their text part spells
// the link out after the paragraphs.
func TestServiceEmailsOneLanguage(t *testing.T) {
	r := testRenderer(t)
	const link = "https://nieuws.example.nl/c/tok"
	for _, tc := range []struct {
		lang          string
		want, foreign []string
	}{
		{"nl", []string{"Bevestig uw aanmelding", "knop hieronder", "Beste lezer,"}, []string{"Please", " button ", "Dear", "Confirm", " the "}},
		{"en", []string{"Confirm your subscription", "button below", "Dear reader,"}, []string{"Beste", "knop", "Bevestig", " de ", " uw "}},
	} {
		c, err := r.ConfirmIn(tc.lang, "Partners uit het onderwijs", link)
		if err != nil {
			t.Fatal(err)
		}
		p, err := r.PreferencesLinkIn(tc.lang, "https://nieuws.example.nl/p/tok")
		if err != nil {
			t.Fatal(err)
		}
		for part, out := range map[string]string{"confirm html": string(c.HTML), "confirm text": string(c.Text), "subject": c.Subject,
			"prefs html": string(p.HTML), "prefs text": string(p.Text)} {
			if strings.Contains(out, "%!") {
				t.Errorf("%s %s has a formatting slip:\n%s", tc.lang, part, out)
			}
			for _, f := range tc.foreign {
				if strings.Contains(out, f) {
					t.Errorf("%s %s contains %q", tc.lang, part, f)
				}
			}
		}
		for _, w := range tc.want {
			if !strings.Contains(string(c.HTML), w) {
				t.Errorf("%s confirmation lacks %q", tc.lang, w)
			}
		}
		if !strings.Contains(string(c.Text), ":\n"+link+"\n") || !strings.Contains(string(c.HTML), `lang="`+tc.lang+`"`) {
			t.Errorf("%s confirmation: text part lacks the link or HTML the language:\n%s", tc.lang, c.Text)
		}
	}
	if _, err := r.ConfirmIn("de", "x", link); newsletter.ErrorCode(err) != newsletter.EINVALID {
		t.Errorf("German confirmation: %v, want EINVALID", err)
	}
}

// Every fixture and seed renders with the greeting its author wrote, or
// none: no "Beste <name>," is invented for an edition without one.
func TestGreetingsAsWritten(t *testing.T) {
	check := func(t *testing.T, eds map[string]*newsletter.Edition) {
		r := testRenderer(t)
		without := 0
		for name, e := range eds {
			tp, err := r.Render(e)
			if err != nil {
				t.Fatal(err)
			}
			h, txt := tp.Personalise(fixedPersonal)
			for part, out := range map[string]string{"html": string(h), "text": string(txt)} {
				if strings.Contains(out, fixedPersonal.Name) || strings.Contains(out, "Beste partner,") {
					t.Errorf("%s %s: a greeting was invented", name, part)
				}
			}
			if e.Greeting == "" {
				without++
				if strings.Contains(string(h), `class="greeting"`) {
					t.Errorf("%s: a greeting paragraph without a greeting", name)
				}
				continue
			}
			if !strings.Contains(string(h), ">"+template.HTMLEscapeString(e.Greeting)+"</p>") || !strings.Contains(string(txt), "\n"+e.Greeting+"\n") {
				t.Errorf("%s: the greeting %q is not as written", name, e.Greeting)
			}
		}
		if without == 0 {
			t.Errorf("no edition without a salutation among %d: the check proves nothing", len(eds))
		}
	}
	t.Run("fixtures", func(t *testing.T) { check(t, fixtureEditions(t)) })
	t.Run("seeds", func(t *testing.T) { check(t, seedEditions(t)) })
}

// The text part reflows the source: soft line breaks of Markdown become
// spaces, markup goes, images and links keep their addresses, and
// paragraphs wrap at 72 characters into lines of similar length.
func TestPlainTextReflows(t *testing.T) {
	r := testRenderer(t)
	e := fullEdition()
	e.Body = "Een reünie\nvan\nalle partners op **vrijdag** *14 maart* in ~~Rotterdam~~ Dordrecht.\n\n" +
		"![Kaart van de regio](https://cdn.example.org/kaart.png) en [de website](https://example.org/site).\n\n" +
		"Regel een  \nharde breuk.\n\n" + strings.Repeat("Samen leren en werken in de regio is wat ons bindt, elke dag opnieuw. ", 6)
	tp, err := r.Render(e)
	if err != nil {
		t.Fatal(err)
	}
	_, txt := tp.Personalise(fixedPersonal)
	s := string(txt)
	for _, want := range []string{
		"Een reünie van alle partners op vrijdag 14 maart in Rotterdam Dordrecht.",
		"Kaart van de regio (https://cdn.example.org/kaart.png) en de website\n(https://example.org/site).",
		"Regel een\nharde breuk.",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("text lacks %q:\n%s", want, s)
		}
	}
	for _, bad := range []string{"**", "*14", "~~", "[Kaart", "]("} {
		if strings.Contains(s, bad) {
			t.Errorf("text keeps markup %q", bad)
		}
	}
	checkWrapped(t, "reflow", s)
}

// checkWrapped fails on a line over 72 characters (unless it is one word)
// and on a paragraph line, other than its last, under 45 characters.
func checkWrapped(t *testing.T, name, text string) {
	t.Helper()
	for _, para := range strings.Split(text, "\n\n") {
		lines := strings.Split(strings.Trim(para, "\n"), "\n")
		if len(lines) < 3 || strings.HasPrefix(lines[0], "- ") || strings.HasPrefix(lines[0], "-- ") || strings.HasPrefix(lines[0], "> ") {
			continue // short, a list, the footer, a quote
		}
		long := false
		for _, l := range lines {
			long = long || utf8.RuneCountInString(l) >= 60
		}
		if !long {
			continue // lines set one by one: a signature, an address
		}
		for i, l := range lines {
			n := utf8.RuneCountInString(l)
			if n > textWidth && strings.Contains(l, " ") {
				t.Errorf("%s: line over %d characters: %q", name, textWidth, l)
			}
			if i < len(lines)-1 && n < 45 && !strings.Contains(lines[i+1], "://") {
				t.Errorf("%s: ragged short line %q in:\n%s", name, l, para)
			}
		}
	}
}

// The golden editions' text parts are wrapped without ragged lines.
func TestPlainTextNotRagged(t *testing.T) {
	eds := fixtureEditions(t)
	for n, e := range seedEditionsOptional(t) {
		eds[n] = e
	}
	r := testRenderer(t)
	for name, e := range eds {
		tp, err := r.Render(e)
		if err != nil {
			t.Fatal(err)
		}
		_, txt := tp.Personalise(fixedPersonal)
		checkWrapped(t, name, string(txt))
	}
}

// Segments and Greeting let a sender fill the per-recipient parts itself
// (as SES template variables, say): joined, they give what Personalise
// gives.
func TestSegmentsRebuildPersonalise(t *testing.T) {
	r := testRenderer(t)
	for _, g := range []string{"Dear {name},", "Dear all,", ""} {
		e := fullEdition()
		e.Greeting = g
		tp, err := r.Render(e)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{`Ann & "Bob"`, ""} {
			p := fixedPersonal
			p.Name = name
			wantH, wantT := tp.Personalise(p)
			gh, gt := tp.Greeting(name)
			for _, html := range []bool{true, false} {
				static, slots := tp.Segments(html)
				if len(static) != len(slots)+1 {
					t.Fatalf("%d static parts for %d slots", len(static), len(slots))
				}
				var b strings.Builder
				for i, s := range slots {
					b.WriteString(static[i])
					v := map[Slot]string{SlotGreeting: gt, SlotUnsubscribe: p.UnsubscribeURL, SlotPreferences: p.PreferencesURL, SlotWeb: p.WebURL}[s]
					if html {
						v = map[Slot]string{SlotGreeting: gh}[s]
						if s != SlotGreeting {
							v = template.HTMLEscapeString(map[Slot]string{SlotUnsubscribe: p.UnsubscribeURL, SlotPreferences: p.PreferencesURL, SlotWeb: p.WebURL}[s])
						}
					}
					b.WriteString(v)
				}
				b.WriteString(static[len(static)-1])
				want := wantT
				if html {
					want = wantH
				}
				if b.String() != string(want) {
					t.Errorf("greeting %q, name %q, html %v: segments do not rebuild Personalise: %s", g, name, html, firstDiff(want, []byte(b.String())))
				}
				if n := len(slots); n != 3+map[bool]int{true: 1, false: 0}[PersonalGreeting(g)] {
					t.Errorf("greeting %q: %d slots", g, n)
				}
			}
		}
	}
	if SlotGreeting.String() != "greeting" || SlotWeb.String() != "web_url" {
		t.Errorf("slot names %s %s", SlotGreeting, SlotWeb)
	}
}

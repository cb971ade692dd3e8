package render

import (
	"encoding/json"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/sesfake"
)

// sesFill renders t's SES template for p the way SES does (no escaping),
// with the data AppendSESData gives; ok is AppendSESData's.
func sesFill(t testing.TB, tp *Template, p Personal, links SESLinks) (subject, html, text string, ok bool) {
	t.Helper()
	c := tp.SES(p.WebURL, links)
	raw, ok := tp.AppendSESData(nil, p, links)
	if !ok {
		return "", "", "", false
	}
	var data map[string]string
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatalf("template data is not a JSON object of strings: %v\n%s", err, raw)
	}
	var err error
	if subject, err = sesfake.RenderTemplate(c.Subject, data); err != nil {
		t.Fatalf("subject: %v", err)
	}
	if html, err = sesfake.RenderTemplate(c.HTML, data); err != nil {
		t.Fatalf("html: %v", err)
	}
	if text, err = sesfake.RenderTemplate(c.Text, data); err != nil {
		t.Fatalf("text: %v", err)
	}
	return subject, html, text, true
}

// exampleLinks are the links' beginnings of the people below.
var exampleLinks = SESLinks{Unsubscribe: "https://example.org/u/", Preferences: "https://example.org/p/"}

// The bulk path's email is byte for byte the single path's: SES fills the
// variables with values escaped for HTML in the HTML part and raw in the
// text part, and the edition's own braces and backslashes, "{{" included,
// reach the reader unchanged.
func TestSESTemplateMatchesPersonalise(t *testing.T) {
	r := testRenderer(t)
	braces := "Use {{name}} or {{{raw}}} or \\{{x}} or \\\\{{y}}, {} and }} and a lone { and \\ at the end \\"
	eds := fixtureEditions(t)
	eds["braces"] = &newsletter.Edition{ID: "e-braces", Subject: "Over {{onderwerp}} \\{", Language: "nl", Format: "markdown",
		Title: "Titel {{t}}", Body: braces + "\n\nEen [link](https://example.org/{x}) {{unsubscribe_html}} {{lb}}"}
	people := []Personal{
		fixedPersonal,
		{Name: `<b>Jan & "Piet"</b> {{lb}} \{{`, UnsubscribeURL: "https://example.org/u/a?b=1&c=<2>", PreferencesURL: "javascript:alert(1)", WebURL: "https://example.org/archive/x"},
		{Name: "  ", UnsubscribeURL: "https://example.org/u/b", PreferencesURL: "https://example.org/p/b", WebURL: "https://example.org/w"},
		{Name: "Ëlla", UnsubscribeURL: "https://example.org/u/AZaz09-_.~", PreferencesURL: "https://example.org/p/", WebURL: "https://example.org/w"},
	}
	for name, e := range eds {
		tp, err := r.Render(e)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, form := range []SESLinks{{}, exampleLinks, {Unsubscribe: exampleLinks.Unsubscribe}} {
			for _, p := range people {
				wantHTML, wantText := tp.Personalise(p)
				subject, html, text, ok := sesFill(t, tp, p, form)
				if tokens := form != (SESLinks{}); !ok {
					if !tokens || (strings.HasPrefix(p.UnsubscribeURL, form.Unsubscribe) && urlSafe(p.UnsubscribeURL[len(form.Unsubscribe):]) &&
						(form.Preferences == "" || strings.HasPrefix(p.PreferencesURL, form.Preferences) && urlSafe(p.PreferencesURL[len(form.Preferences):]))) {
						t.Errorf("%s, %q, %+v: AppendSESData refused a recipient whose links are of the form", name, p.Name, form)
					}
					continue
				}
				if subject != tp.Subject {
					t.Errorf("%s: subject %q, want %q", name, subject, tp.Subject)
				}
				if html != string(wantHTML) {
					t.Errorf("%s, %q: the HTML SES renders differs from the single send's:\n%s", name, p.Name, firstDiff([]byte(html), wantHTML))
				}
				if text != string(wantText) {
					t.Errorf("%s, %q: the text SES renders differs from the single send's:\n%s", name, p.Name, firstDiff([]byte(text), wantText))
				}
			}
		}
	}
	// The edition's own "{{" came through as text.
	tp, _ := r.Render(eds["braces"])
	_, _, text, _ := sesFill(t, tp, people[0], SESLinks{})
	if !strings.Contains(text, "{{name}} or {{{raw}}} or") || !strings.Contains(text, "{{unsubscribe_html}} {{lb}}") {
		t.Errorf("the edition's braces did not reach the reader unchanged:\n%s", text)
	}
}

func BenchmarkSESData(b *testing.B) {
	tp, err := testRenderer(b).Render(fullEdition())
	if err != nil {
		b.Fatal(err)
	}
	// Tokens as long as the signer's (106 and 79 characters).
	links := SESLinks{Unsubscribe: "https://nieuws.example.nl/u/", Preferences: "https://nieuws.example.nl/p/"}
	p := Personal{Name: "Jan de Vries", UnsubscribeURL: links.Unsubscribe + strings.Repeat("AbCd-_x9", 13) + "Ab",
		PreferencesURL: links.Preferences + strings.Repeat("AbCd-_x9", 9) + "Abcdefg", WebURL: "https://nieuws.example.nl/e/2023-06"}
	for _, form := range []struct {
		name  string
		links SESLinks
	}{{"urls", SESLinks{}}, {"tokens", links}} {
		b.Run(form.name, func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = tp.AppendSESData(buf[:0], p, form.links)
			}
			b.ReportMetric(float64(len(buf)), "bytes/recipient")
		})
	}
}

// With the links' beginnings in the template, a recipient's data carries
// each link's token once: what SES renders is still the single send's, for
// any name and any token; a link that is not of the form is refused, never
// rendered wrong.
func FuzzSESTokenLinks(f *testing.F) {
	f.Add("Jan", "AZaz09-_.~", "tok")
	f.Add(`<b>&"{{lb}}`, "a?b=1&c=2", "")
	f.Add("", "{{x}}", "\\")
	f.Add("Piet", "a&b", "tok")
	f.Add("Piet", "tok", "x<y")
	f.Add("Piet", `tok"en`, "it's")
	tp, err := testRenderer(f).Render(fullEdition())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, unsub, prefs string) {
		p := Personal{Name: name, UnsubscribeURL: exampleLinks.Unsubscribe + unsub, PreferencesURL: exampleLinks.Preferences + prefs, WebURL: "https://example.org/w"}
		_, html, text, ok := sesFill(t, tp, p, exampleLinks)
		if ok != (urlSafe(unsub) && urlSafe(prefs)) {
			t.Fatalf("AppendSESData ok=%v for tokens %q %q", ok, unsub, prefs)
		}
		if !ok {
			return
		}
		wantHTML, wantText := tp.Personalise(p)
		if html != string(wantHTML) {
			t.Fatalf("HTML differs from the single send's:\n%s", firstDiff([]byte(html), wantHTML))
		}
		if text != string(wantText) {
			t.Fatalf("text differs from the single send's:\n%s", firstDiff([]byte(text), wantText))
		}
	})
}

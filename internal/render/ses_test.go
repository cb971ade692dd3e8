package render

import (
	"encoding/json"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/sesfake"
)

// sesFill renders t's SES template for p the way SES does (no escaping),
// with the data AppendSESData gives.
func sesFill(t *testing.T, tp *Template, p Personal) (subject, html, text string) {
	t.Helper()
	c := tp.SES(p.WebURL)
	raw := tp.AppendSESData(nil, p)
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
	return subject, html, text
}

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
	}
	for name, e := range eds {
		tp, err := r.Render(e)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, p := range people {
			wantHTML, wantText := tp.Personalise(p)
			subject, html, text := sesFill(t, tp, p)
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
	// The edition's own "{{" came through as text.
	tp, _ := r.Render(eds["braces"])
	_, _, text := sesFill(t, tp, people[0])
	if !strings.Contains(text, "{{name}} or {{{raw}}} or") || !strings.Contains(text, "{{unsubscribe_html}} {{lb}}") {
		t.Errorf("the edition's braces did not reach the reader unchanged:\n%s", text)
	}
}

func BenchmarkSESData(b *testing.B) {
	tp, err := testRenderer(b).Render(fullEdition())
	if err != nil {
		b.Fatal(err)
	}
	p := fixedPersonal
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = tp.AppendSESData(buf[:0], p)
	}
}

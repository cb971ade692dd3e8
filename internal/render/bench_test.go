package render

import (
	"testing"

	"github.com/matcornic/hermes/v2"

	"newsletter"
)

// benchEdition is a typical edition: the fixture najaar.txt has a
// greeting, headings and a sign-off, and is always there.
func benchEdition(b *testing.B) *newsletter.Edition {
	eds := fixtureEditions(b)
	e, ok := eds["najaar"]
	if !ok {
		b.Fatal("fixture najaar.txt missing")
	}
	return e
}

// BenchmarkHermesFullRender is the naive way: the whole email, HTML and
// text, rendered by hermes for every recipient.
func BenchmarkHermesFullRender(b *testing.B) {
	r := testRenderer(b)
	e := benchEdition(b)
	b.ReportAllocs()
	for b.Loop() {
		l, body, err := r.prepare(e)
		if err != nil {
			b.Fatal(err)
		}
		p := r.page(e, l, body)
		p.Greeting = e.Greeting
		p.Links = []link{{l.Unsubscribe, fixedPersonal.UnsubscribeURL}, {l.Preferences, fixedPersonal.PreferencesURL}, {l.WebVersion, fixedPersonal.WebURL}}
		h := hermes.Hermes{Theme: &theme{html: r.html, page: p}, Product: hermes.Product{Name: r.brand.ProductName, Link: r.brand.ProductLink}}
		if _, err := h.GenerateHTML(hermes.Email{}); err != nil {
			b.Fatal(err)
		}
		if _, err := h.GeneratePlainText(hermes.Email{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRender is the once-per-edition cost.
func BenchmarkRender(b *testing.B) {
	r := testRenderer(b)
	e := benchEdition(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPersonalise is the per-recipient cost with the cached template.
func BenchmarkPersonalise(b *testing.B) {
	tp, err := testRenderer(b).Render(benchEdition(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		h, txt := tp.Personalise(fixedPersonal)
		if len(h) == 0 || len(txt) == 0 {
			b.Fatal("empty")
		}
	}
}

// BenchmarkAppend reuses the caller's buffers, as a send worker would.
func BenchmarkAppend(b *testing.B) {
	tp, err := testRenderer(b).Render(benchEdition(b))
	if err != nil {
		b.Fatal(err)
	}
	var hb, tb []byte
	b.ReportAllocs()
	for b.Loop() {
		hb = tp.AppendHTML(hb[:0], fixedPersonal)
		tb = tp.AppendText(tb[:0], fixedPersonal)
	}
}

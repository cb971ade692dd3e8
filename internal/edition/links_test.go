package edition

import (
	"strings"
	"testing"

	"newsletter"
)

func TestLinks(t *testing.T) {
	t.Parallel()
	e := &newsletter.Edition{
		HeroImageURL: "http://example.org/hero.jpg", HeroImageAlt: "Held",
		CTAText: "Aanmelden", CTAURL: "https://example.org/aanmelden",
		Body: `Tekst met [een link](https://example.org/a) en ![beeld](https://example.org/b.png "titel").
Een autolink <https://example.org/c> en een kale https://example.org/d en www.example.org.
Een [referentie][ref] en [mail](mailto:info@example.org) en <info@example.org>.
[Bel ons](tel:+31101234567)

<a href="javascript:alert(1)">klik</a> <img src="data:image/png;base64,AAAA" alt="x">

[ref]: https://example.org/ref
[ongebruikt]: http://example.org/oud
`,
	}
	want := []Link{
		{URL: "http://example.org/hero.jpg", Text: "Held", Kind: "hero", Problem: "insecure http://"},
		{URL: "https://example.org/a", Text: "een link", Kind: "link"},
		{URL: "https://example.org/b.png", Text: "beeld", Kind: "image"},
		{URL: "https://example.org/c", Text: "https://example.org/c", Kind: "autolink"},
		{URL: "https://example.org/d", Text: "https://example.org/d", Kind: "autolink"},
		{URL: "http://www.example.org", Text: "www.example.org", Kind: "autolink", Problem: "insecure http://"},
		{URL: "https://example.org/ref", Text: "referentie", Kind: "link"},
		{URL: "mailto:info@example.org", Text: "mail", Kind: "link", Note: "mailto:"},
		{URL: "mailto:info@example.org", Text: "info@example.org", Kind: "autolink", Note: "mailto:"},
		{URL: "tel:+31101234567", Text: "Bel ons", Kind: "link", Note: "tel:"},
		{URL: "javascript:alert(1)", Kind: "html", Problem: "not http(s)"},
		{URL: "data:image/png;base64,AAAA", Text: "x", Kind: "html", Problem: "not http(s)"},
		{URL: "https://example.org/aanmelden", Text: "Aanmelden", Kind: "cta"},
		{URL: "http://example.org/oud", Text: "ongebruikt", Kind: "definition", Problem: "insecure http://", Note: "not used"},
	}
	got := Links(e)
	// Order: hero, body in reading order, CTA; unused definitions last.
	order := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 12}
	if len(got) != len(want) {
		for _, l := range got {
			t.Logf("%+v", l)
		}
		t.Fatalf("Links = %d links, want %d", len(got), len(want))
	}
	for i, wi := range order {
		g, w := got[i], want[wi]
		if g.URL != w.URL || g.Text != w.Text || g.Kind != w.Kind ||
			!prefixOrEmpty(g.Problem, w.Problem) || !strings.Contains(g.Note, w.Note) {
			t.Errorf("link %d = %+v, want %+v", i, g, w)
		}
	}
}

func prefixOrEmpty(got, want string) bool {
	if want == "" {
		return got == ""
	}
	return strings.HasPrefix(got, want)
}

func TestLinkProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url     string
		image   bool
		problem string // prefix; "" = fine
	}{
		{"https://example.org", false, ""},
		{"https://example.org:8443/pad?q=1#x", false, ""},
		{"https://bücher.example/", false, ""},
		{"https://192.0.2.1/", false, ""},
		{"HTTPS://EXAMPLE.ORG/", false, ""},
		{"mailto:info@example.org", false, ""},
		{"http://example.org", false, "insecure http://"},
		{"javascript:alert(1)", false, "not http(s)"},
		{"data:text/html,hi", false, "not http(s)"},
		{"file:///C:/nieuwsbrief.docx", false, "not http(s)"},
		{"ftp://example.org/a", false, "not http(s)"},
		{"mailto:info@example.org", true, "not http(s)"},
		{"mailto:", false, "malformed"},
		{"mailto:geen-adres", false, "malformed"},
		{"https://", false, "missing host"},
		{"https:///pad", false, "missing host"},
		{"https:/example.org", false, "missing host"},
		{"", false, "malformed"},
		{"https://example .org", false, "malformed"},
		{"https://exa mple.org/a b", false, "malformed"},
		{"https://example", false, "malformed"},
		{"https://example..org", false, "malformed"},
		{"https://-example.org", false, "malformed"},
		{"https://ex_ample.org", false, "malformed"},
		{"https://user:pw@example.org", false, "malformed"},
		{"http://[::1", false, "malformed"},
		{"https://example.org/%zz", false, "malformed"},
		{"example.org/pad", false, "missing scheme"},
		{"www.example.org", false, "missing scheme"},
		{"//example.org/pad", false, "missing scheme"},
		{"/pad/naar/pagina", false, "relative URL"},
		{"#anker", false, "relative URL"},
		{"https//example.org", false, "malformed"},
		{"pagina.html", false, "relative URL"},
	}
	for _, tt := range tests {
		p, _ := problem(tt.url, tt.image)
		if !prefixOrEmpty(p, tt.problem) {
			t.Errorf("problem(%q, image=%v) = %q, want prefix %q", tt.url, tt.image, p, tt.problem)
		}
	}
}

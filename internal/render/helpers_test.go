package render

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"newsletter"
	"newsletter/internal/seedtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func testBrand() Brand {
	return Brand{
		ProductName:   "Leerwerkakkoord",
		ProductLink:   "https://www.leerwerkakkoord.nl/",
		FooterAddress: "Leerwerkakkoord, Postbus 70012, 3000 KP Rotterdam",
		PrimaryColor:  "#00689D",
		ButtonColor:   "#E8501C",
		Copyright:     "© Leerwerkakkoord Rotterdam-Rijnmond",
	}
}

func testRenderer(t testing.TB) *Renderer {
	t.Helper()
	r, err := New(testBrand())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fixedPersonal is the recipient of the golden files.
var fixedPersonal = Personal{
	Name:           "Jan de Vries",
	UnsubscribeURL: "https://nieuws.example.nl/u/tok123?list=alle&lang=nl",
	PreferencesURL: "https://nieuws.example.nl/p/tok123",
	WebURL:         "https://nieuws.example.nl/e/2023-06",
}

// archiveLinks are the web version's links for a page at u.
func archiveLinks(u string) ArchiveLinks {
	return ArchiveLinks{Canonical: u, Index: "https://nieuws.example.nl/archief/", Subscribe: "https://nieuws.example.nl/aanmelden"}
}

// fixtureEditions parses the project's own editions (testdata/editions at
// the module root) through internal/edition, keyed by file name without
// extension. They are always there.
func fixtureEditions(t testing.TB) map[string]*newsletter.Edition {
	t.Helper()
	return parseEditions(t, seedtest.Fixtures(t))
}

// seedEditions parses every seed the same way. Missing seeds skip the test
// (fail it when CI is set): see internal/seedtest.
func seedEditions(t testing.TB) map[string]*newsletter.Edition {
	t.Helper()
	return parseEditions(t, seedtest.Files(t))
}

func parseEditions(t testing.TB, files []string) map[string]*newsletter.Edition {
	t.Helper()
	out := map[string]*newsletter.Edition{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(f)
		name := strings.TrimSuffix(base, filepath.Ext(base))
		e, err := parseEdition(base, data)
		if err != nil {
			t.Fatalf("parse %s: %v", base, err)
		}
		e.ID = name
		if e.Language == "" {
			e.Language = "nl"
		}
		out[name] = e
	}
	return out
}

// fullEdition uses every optional field, in English.
func fullEdition() *newsletter.Edition {
	return &newsletter.Edition{
		ID:           "full-en",
		Subject:      "Partner update – June: “skills” & €5 café vouchers",
		Preheader:    "Three projects, one deadline, and a café voucher.",
		Language:     "en",
		Title:        "Partner update",
		Greeting:     "Dear {name},",
		HeroImageURL: "https://cdn.example.org/hero.jpg?w=1200&h=600",
		HeroImageAlt: "Students at the “Dag van de Logistiek”",
		Body: "First paragraph with *emphasis*, **strong** text and a [link](https://example.org/a?b=1&c=2 \"Title\").\n\n" +
			"## Events\n\n- Kennissessie on 4 March\n- Roadshow *Logistiek*\n\n1. one\n2. two\n\n" +
			"> A quote from a partner:\n> “Samen doen én leren.”\n\n" +
			"![A chart](https://cdn.example.org/chart.png)\n\n" +
			"Read more at <https://rotterdam.foleon.com/leerwerkakkoord/ezine/> or mail <info@example.org>.\n\n---\n\nCode: `x < y && z`",
		SignOff:    "Kind regards,",
		Author:     "Peter Smit",
		AuthorRole: "Programme manager",
		CTAText:    "Register now",
		CTAURL:     "https://example.org/register?event=llo&year=2023",
		Format:     "markdown",
	}
}

// checkWellFormed tokenizes doc and fails unless every non-void element is
// closed in order. Inside the element with class "nl-body" (the edition
// body) only allowed elements and attributes may appear.
func checkWellFormed(t testing.TB, name string, doc []byte) {
	t.Helper()
	if err := wellFormed(doc); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

var voidElements = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true,
}

var bodyElements = map[string]bool{
	"p": true, "br": true, "hr": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"em": true, "strong": true, "del": true, "code": true, "pre": true, "blockquote": true,
	"ul": true, "ol": true, "li": true, "a": true, "img": true,
}

var bodyAttrs = map[string]bool{
	"href": true, "title": true, "src": true, "alt": true, "target": true, "rel": true, "style": true, "start": true,
	"width": true, // premailer copies CSS widths to attributes
}

func wellFormed(doc []byte) error {
	z := html.NewTokenizer(bytes.NewReader(doc))
	var stack []string
	bodyDepth := -1 // stack depth of the nl-body div, -1 outside
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				return z.Err()
			}
			if len(stack) > 0 {
				return fmt.Errorf("unclosed elements at end: %v", stack)
			}
			return nil
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			inBody := bodyDepth >= 0
			for _, a := range tok.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") {
					return fmt.Errorf("<%s> has event handler %s", tok.Data, a.Key)
				}
				if v := strings.ToLower(strings.Join(strings.Fields(a.Val), "")); strings.Contains(v, "javascript:") || strings.Contains(v, "vbscript:") || strings.HasPrefix(v, "data:") {
					return fmt.Errorf("<%s %s=%q> has a script or data URL", tok.Data, a.Key, a.Val)
				}
				if inBody && !bodyAttrs[a.Key] {
					return fmt.Errorf("attribute %s on <%s> in the body is not allowed", a.Key, tok.Data)
				}
			}
			if inBody && !bodyElements[tok.Data] {
				return fmt.Errorf("element <%s> in the body is not allowed", tok.Data)
			}
			if voidElements[tok.Data] {
				continue
			}
			if tt == html.SelfClosingTagToken {
				return fmt.Errorf("non-void element <%s/> written self-closing", tok.Data)
			}
			if tok.Data == "div" && hasClass(tok, "nl-body") {
				if inBody {
					return fmt.Errorf("nested nl-body")
				}
				bodyDepth = len(stack)
			}
			stack = append(stack, tok.Data)
		case html.EndTagToken:
			tok := z.Token()
			if voidElements[tok.Data] {
				return fmt.Errorf("end tag for void element </%s>", tok.Data)
			}
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				return fmt.Errorf("</%s> does not close the open element (open: %v)", tok.Data, stack)
			}
			stack = stack[:len(stack)-1]
			if len(stack) == bodyDepth {
				bodyDepth = -1
			}
		}
	}
}

func hasClass(tok html.Token, class string) bool {
	for _, a := range tok.Attr {
		if a.Key == "class" && strings.Contains(" "+a.Val+" ", " "+class+" ") {
			return true
		}
	}
	return false
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/render -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendered output (run with -update after reviewing); got:\n%s", path, firstDiff(want, got))
	}
}

func firstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant: %s\ngot:  %s", i+1, w, g)
		}
	}
	return "(same lines, different bytes)"
}

// seedEditionsOptional is seedEditions when the seeds are there, else none.
func seedEditionsOptional(t testing.TB) map[string]*newsletter.Edition {
	t.Helper()
	if files := seedtest.Optional(t); files != nil {
		return parseEditions(t, files)
	}
	return map[string]*newsletter.Edition{}
}

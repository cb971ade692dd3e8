package edition

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/yuin/goldmark"
	"golang.org/x/net/html"

	"newsletter"
)

// editionWant is what parsing one edition file must give. It is shared by
// the fixtures (fixtures_test.go) and the seeds (seeds_test.go).
type editionWant struct {
	subject                                string // "" means the same as title
	format                                 string // "" means FormatText
	title, greeting, signOff, author, role string
	headings                               []string
	links                                  []string // every URL Links reports, in order
	emphasis                               []string // text of <em> elements, whitespace-normalised
	listItems                              []string // text of <li> elements
	findings                               []Finding
	firstPara                              string // start of the first body paragraph
}

// checkEdition parses file (whose name decides the format) and checks the
// result against want: the fields, the body as a reader sees it, the links,
// the encoding guard's findings and their positions, and that no text of
// the file was lost.
// checkEditions checks every file against its expectations in wants, and
// that wants knows every file.
func checkEditions(t *testing.T, files []string, wants map[string]editionWant, what string) {
	if len(files) != len(wants) {
		t.Errorf("found %d %s editions, the test knows %d: add the new ones", len(files), what, len(wants))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, ok := wants[name]
			if !ok {
				t.Fatalf("no expectations for %s %s", what, name)
			}
			checkEdition(t, f, want)
		})
	}
}

func checkEdition(t *testing.T, file string, want editionWant) {
	t.Helper()
	name := filepath.Base(file)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	e, findings, err := Parse(name, data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if want.subject == "" {
		want.subject = want.title
	}
	if want.format == "" {
		want.format = FormatText
	}
	check := func(field, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	check("Title", e.Title, want.title)
	check("Subject", e.Subject, want.subject)
	check("Greeting", e.Greeting, want.greeting)
	check("SignOff", e.SignOff, want.signOff)
	check("Author", e.Author, want.author)
	check("AuthorRole", e.AuthorRole, want.role)
	check("Format", e.Format, want.format)
	check("Language", e.Language, "nl")
	check("Source", e.Source, string(data))
	check("State", string(e.State), string(newsletter.EditionDraft))
	if e.ID != "" || !e.CreatedAt.IsZero() {
		t.Errorf("Parse set ID %q / CreatedAt %v; the store does that", e.ID, e.CreatedAt)
	}

	doc := renderHTML(t, e.Body)
	equalStrings(t, "headings", texts(doc, "h2"), want.headings)
	equalStrings(t, "emphasis", texts(doc, "em"), want.emphasis)
	equalStrings(t, "list items", texts(doc, "li"), want.listItems)
	if h := texts(doc, "h1"); len(h) != 0 {
		t.Errorf("body has h1 %q; the title is not repeated in the body", h)
	}
	var urls []string
	for _, l := range Links(e) {
		urls = append(urls, l.URL)
		if l.Problem != "" {
			t.Errorf("link %s: %s", l.URL, l.Problem)
		}
	}
	equalStrings(t, "links", urls, want.links)
	if ps := texts(doc, "p"); len(ps) == 0 || !strings.HasPrefix(ps[0], want.firstPara) {
		t.Errorf("first paragraph = %.60q…, want it to start %q", first(ps), want.firstPara)
	}

	// The sign-off block, byline and greeting are fields, not body text.
	for _, s := range []string{"Groet,", "groet,", "Programmamanager", "Beste "} {
		if strings.Contains(e.Body, s) {
			t.Errorf("body still contains %q", s)
		}
	}

	for i := range findings {
		if findings[i].Message == "" {
			t.Errorf("finding %d has no message", i)
		}
		findings[i].Message = ""
	}
	if len(findings) != len(want.findings) {
		t.Fatalf("findings = %+v, want %+v", findings, want.findings)
	}
	for i := range findings {
		if findings[i] != want.findings[i] {
			t.Errorf("finding %d = %+v, want %+v", i, findings[i], want.findings[i])
		}
		// The reported position points at the damage in the file.
		f := want.findings[i]
		line := []rune(strings.Split(string(data), "\n")[f.Line-1])
		n := len([]rune(f.Found))
		if f.Column-1+n > len(line) {
			t.Errorf("line %d has %d characters; finding at column %d is past its end", f.Line, len(line), f.Column)
		} else if got := string(line[f.Column-1 : f.Column-1+n]); got != f.Found {
			t.Errorf("line %d column %d holds %q, want %q", f.Line, f.Column, got, f.Found)
		}
	}

	if want.format == FormatMarkdown {
		// Markdown is the editor's own: the body is the file below the
		// front matter, unchanged.
		_, body, ok := strings.Cut(strings.TrimPrefix(string(data), "---\n"), "\n---\n")
		if !ok {
			t.Fatalf("%s has no front matter", name)
		}
		check("Body", e.Body, body)
		return
	}
	lostWords(t, string(data), e, doc)
}

// lostWords checks that no text of the source was lost: every word of the
// source is in some field, and every paragraph line of the source is, as
// written, in the text a reader sees (the rendered body).
func lostWords(t *testing.T, src string, e *newsletter.Edition, doc *html.Node) {
	t.Helper()
	rendered := normSpace(textOf(doc))
	all := strings.ToLower(strings.Join([]string{e.Subject, e.Title, e.Greeting, rendered, e.SignOff, e.Author, e.AuthorRole}, " "))
	have := map[string]bool{}
	for _, w := range wordList(all) {
		have[w] = true
	}
	for _, w := range wordList(strings.ToLower(src)) {
		if !have[w] {
			t.Errorf("word %q of the source is missing from the edition", w)
		}
	}
	for _, l := range strings.Split(src, "\n") {
		l = normSpace(strings.ReplaceAll(l, "*", ""))
		if len([]rune(l)) < 100 {
			continue // titles, headings, greetings, sign-off: checked above
		}
		if strings.HasPrefix(l, "Beste ") {
			_, l, _ = strings.Cut(l, ", ")
			l = capitalize(l)
		}
		if !strings.Contains(rendered, l) {
			t.Errorf("paragraph not in the rendered body as written:\n%s", l)
		}
	}
}

func wordList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

var spaceRE = regexp.MustCompile(`[\s\x{a0}]+`)

func normSpace(s string) string { return strings.TrimSpace(spaceRE.ReplaceAllString(s, " ")) }

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func equalStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// renderHTML renders Markdown as plain CommonMark and parses the HTML, so
// tests check what a reader sees rather than the Markdown's spelling.
func renderHTML(t testing.TB, md string) *html.Node {
	t.Helper()
	var b bytes.Buffer
	if err := goldmark.New().Convert([]byte(md), &b); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(&b)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func texts(n *html.Node, tag string) []string {
	var out []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag {
			out = append(out, normSpace(textOf(n)))
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		if n.Type == html.ElementNode && (n.Data == "p" || n.Data == "h2" || n.Data == "li" || n.Data == "br") {
			defer b.WriteString("\n")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

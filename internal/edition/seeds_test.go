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

// seedDir holds the real editions of the first users. It is part of the
// repository's shared fixtures; a missing directory is a broken checkout,
// so the test fails rather than skips.
const seedDir = "../../../shared/seeds"

type seedWant struct {
	title, greeting, signOff, author, role string
	headings                               []string
	links                                  []string
	emphasis                               []string // text of <em> elements, whitespace-normalised
	findings                               []Finding
	firstPara                              string // start of the first body paragraph
}

var seedWants = map[string]seedWant{
	"000_97999744953f5f71.txt": {
		title:     "Voorwoord Peter Smit",
		greeting:  "Beste partners en vrienden van het Leerwerkakkoord,",
		signOff:   "Met vriendelijke groet,",
		author:    "Peter Smit",
		role:      "Programmamanager Leerwerkakkoord",
		firstPara: "De gemeenteraadsverkiezingen staan in maart",
		findings:  []Finding{{Field: "source", Line: 15, Column: 66, Kind: KindMojibake, Found: "├ę", Suggested: "é"}},
	},
	"001_1094ac70ac7611a2.txt": {
		title:     "Voorwoord Peter Smit",
		signOff:   "Groet,",
		author:    "Peter Smit",
		role:      "Programmamanager Leerwerkakkoord",
		firstPara: "Welkom bij de 1e post",
	},
	"002_46aa3105ac712882.txt": {
		title:     "Voorwoord Peter",
		greeting:  "Beste partners en vrienden van het Leerwerkakkoord,",
		signOff:   "Groet,",
		author:    "Peter Smit",
		role:      "Programmamanager Leerwerkakkoord",
		headings:  []string{"In memoriam: Robert Glerum"},
		firstPara: "Welkom bij de 8ste nieuwsbrief van het Leerwerkakkoord.",
	},
	"003_ac65f9cd767906b9.txt": {
		title:     "Voorwoord Peter Smit",
		greeting:  "Beste allemaal,",
		signOff:   "Groet,",
		author:    "Peter Smit",
		role:      "Programmamanager Leerwerkakkoord",
		firstPara: "Hierbij ontvangen jullie de laatste post van 2020.",
	},
	"004_ea17f261c1633d30.txt": {
		title:     "Leerwerkakkoord stopt: tot ziens, maar zeker geen vaarwel!",
		headings:  []string{"Geen doel, maar middel", "Lees ons speciale E-zine"},
		links:     []string{"https://rotterdam.foleon.com/leerwerkakkoord/ezine/"},
		emphasis:  []string{"Het label Leerwerkakkoord verdwijnt met ingang van 1 juli 2023. De samenwerking, netwerken en de succesvolle activiteiten en interventies worden binnen andere samenwerkingsverbanden voortgezet. Lees er meer over in dit bericht én in het speciale e-zine dat we hebben afgemaakt ter afronding van het Leerwerkakkoord."},
		firstPara: "Het label Leerwerkakkoord verdwijnt",
	},
}

func seedFiles(t testing.TB) []string {
	t.Helper()
	if _, err := os.Stat(seedDir); err != nil {
		t.Fatalf("seed editions missing (%v): they live in shared/seeds next to the module", err)
	}
	files, err := filepath.Glob(filepath.Join(seedDir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed editions in %s (err %v)", seedDir, err)
	}
	return files
}

func TestSeeds(t *testing.T) {
	files := seedFiles(t)
	if len(files) != len(seedWants) {
		t.Errorf("found %d seed files, the test knows %d: add the new ones to seedWants", len(files), len(seedWants))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, ok := seedWants[name]
			if !ok {
				t.Fatalf("no expectations for seed %s", name)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e, findings, err := Parse(name, data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			check := func(field, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %q, want %q", field, got, want)
				}
			}
			check("Title", e.Title, want.title)
			check("Subject", e.Subject, want.title)
			check("Greeting", e.Greeting, want.greeting)
			check("SignOff", e.SignOff, want.signOff)
			check("Author", e.Author, want.author)
			check("AuthorRole", e.AuthorRole, want.role)
			check("Format", e.Format, FormatText)
			check("Language", e.Language, "nl")
			check("Source", e.Source, string(data))
			check("State", string(e.State), string(newsletter.EditionDraft))
			if e.ID != "" || !e.CreatedAt.IsZero() {
				t.Errorf("Parse set ID %q / CreatedAt %v; the store does that", e.ID, e.CreatedAt)
			}

			doc := renderHTML(t, e.Body)
			equalStrings(t, "headings", texts(doc, "h2"), want.headings)
			equalStrings(t, "emphasis", texts(doc, "em"), want.emphasis)
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

			// The sign-off block and byline are fields, not body text.
			for _, s := range []string{"Groet,", "Programmamanager", "Beste "} {
				if strings.Contains(e.Body, s) {
					t.Errorf("body still contains %q", s)
				}
			}

			for i := range findings {
				findings[i].Message = ""
			}
			if len(findings) != len(want.findings) {
				t.Fatalf("findings = %+v, want %+v", findings, want.findings)
			}
			for i := range findings {
				if findings[i] != want.findings[i] {
					t.Errorf("finding %d = %+v, want %+v", i, findings[i], want.findings[i])
				}
			}
			if len(want.findings) > 0 {
				// The reported position points at the damage in the file.
				line := strings.Split(string(data), "\n")[want.findings[0].Line-1]
				if got := string([]rune(line)[want.findings[0].Column-1:][:2]); got != want.findings[0].Found {
					t.Errorf("line %d column %d holds %q, want %q", want.findings[0].Line, want.findings[0].Column, got, want.findings[0].Found)
				}
			}

			lostWords(t, string(data), e, doc)
		})
	}
}

// lostWords checks that no text of the seed was lost: every word of the
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

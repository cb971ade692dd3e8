package edition

import (
	"strings"
	"testing"

	"golang.org/x/net/html"

	"newsletter"
)

func mustParseText(t *testing.T, src string) *newsletter.Edition {
	t.Helper()
	e, _, err := Parse("edition.txt", []byte(src))
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return e
}

func TestTextFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src                                                 string
		title, subject, greeting, signOff, author, role, language string
		bodyStart                                                 string
	}{
		{
			name:  "title and paragraph",
			src:   "Nieuws uit de regio\n\nDe tekst van deze week.\n",
			title: "Nieuws uit de regio", subject: "Nieuws uit de regio", language: "nl",
			bodyStart: "De tekst van deze week.",
		},
		{
			name:  "byline equal to the author is not the title",
			src:   "Jan de Vries\n\nVOORWOORD JAN DE VRIES\n\nDit is de tekst van de maand.\n\nGroet,\nJan de Vries\nDirecteur\n",
			title: "Voorwoord Jan de Vries", subject: "Voorwoord Jan de Vries", signOff: "Groet,", author: "Jan de Vries", role: "Directeur", language: "nl",
			bodyStart: "Dit is de tekst van de maand.",
		},
		{
			name:  "a leading name that is not the author is the title",
			src:   "Jan de Vries\n\nDit is de tekst van de maand.\n",
			title: "Jan de Vries", subject: "Jan de Vries", language: "nl",
			bodyStart: "Dit is de tekst van de maand.",
		},
		{
			name:  "shouting title uses the casing of the rest of the text",
			src:   "NIEUWS UIT DE REGIO ROTTERDAM EN HET LWA\n\nIn de regio Rotterdam werkt het LWA aan nieuws.\n",
			title: "Nieuws uit de regio Rotterdam en het LWA", subject: "Nieuws uit de regio Rotterdam en het LWA", language: "nl",
			bodyStart: "In de regio Rotterdam",
		},
		{
			name:  "acronym title is not shouting",
			src:   "LWA\n\nTekst.\n",
			title: "LWA", subject: "LWA", language: "nl", bodyStart: "Tekst.",
		},
		{
			name:  "greeting with text on the same line",
			src:   "Titel\n\nBeste partners, welkom bij de nieuwsbrief.\n\nMeer tekst.\n",
			title: "Titel", subject: "Titel", greeting: "Beste partners,", language: "nl",
			bodyStart: "Welkom bij de nieuwsbrief.",
		},
		{
			name:  "greeting then one line per paragraph",
			src:   "Titel\n\nBeste allemaal,\nEerste alinea.\nTweede alinea.\n",
			title: "Titel", subject: "Titel", greeting: "Beste allemaal,", language: "nl",
			bodyStart: "Eerste alinea.\n\nTweede alinea.",
		},
		{
			name:  "greeting without punctuation",
			src:   "Titel\n\nHallo allemaal\n\nTekst.\n",
			title: "Titel", subject: "Titel", greeting: "Hallo allemaal", language: "nl", bodyStart: "Tekst.",
		},
		{
			name:  "a line starting with Dag that is not a greeting",
			src:   "Titel\n\nDag 1 van het congres: een verslag.\n",
			title: "Titel", subject: "Titel", language: "nl", bodyStart: "Dag 1 van het congres: een verslag.",
		},
		{
			name:  "English edition",
			src:   "News from the region\n\nDear all,\n\nThis is the news of the month and we hope that you will enjoy it. Our partners have been busy with the plans for this year.\n\nKind regards,\nJane Doe\nProgramme manager\n",
			title: "News from the region", subject: "News from the region", greeting: "Dear all,", signOff: "Kind regards,", author: "Jane Doe", role: "Programme manager", language: "en",
			bodyStart: "This is the news",
		},
		{
			name:  "sign-off with the name on the same line",
			src:   "Titel\n\nTekst.\nGroet, Peter Smit\nProgrammamanager Leerwerkakkoord\n",
			title: "Titel", subject: "Titel", signOff: "Groet,", author: "Peter Smit", role: "Programmamanager Leerwerkakkoord", language: "nl",
			bodyStart: "Tekst.",
		},
		{
			name:  "sign-off with name, role and organisation",
			src:   "Titel\n\nTekst.\n\nMet vriendelijke groet,\n\nAnna Jansen\nProjectleider\nGemeente Rotterdam\n",
			title: "Titel", subject: "Titel", signOff: "Met vriendelijke groet,", author: "Anna Jansen", role: "Projectleider, Gemeente Rotterdam", language: "nl",
			bodyStart: "Tekst.",
		},
		{
			name:  "groeten in a sentence is no sign-off",
			src:   "Titel\n\nTekst.\n\nGroeten uit Rotterdam en tot snel.\n",
			title: "Titel", subject: "Titel", language: "nl",
			bodyStart: "Tekst.\n\nGroeten uit Rotterdam en tot snel.",
		},
		{
			name:    "no title line: subject from the first sentence",
			src:     "Beste allemaal,\nDit is de tekst van de nieuwsbrief. Meer tekst.\n",
			subject: "Dit is de tekst van de nieuwsbrief", greeting: "Beste allemaal,", language: "nl",
			bodyStart: "Dit is de tekst",
		},
		{
			name:      "a long first line is a paragraph, not a title",
			src:       strings.Repeat("Dit is een lange eerste regel zonder titel ervoor ", 4) + "\n\nTweede alinea.\n",
			subject:   "Dit is een lange eerste regel zonder titel ervoor Dit is een lange eerste regel…",
			language:  "nl",
			bodyStart: "Dit is een lange eerste regel",
		},
		{
			name:  "Windows line endings and a byte-order mark",
			src:   "\uFEFFTitel\r\n\r\nTekst.\r\n",
			title: "Titel", subject: "Titel", language: "nl", bodyStart: "Tekst.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := mustParseText(t, tt.src)
			for _, c := range []struct{ field, got, want string }{
				{"Title", e.Title, tt.title}, {"Subject", e.Subject, tt.subject},
				{"Greeting", e.Greeting, tt.greeting}, {"SignOff", e.SignOff, tt.signOff},
				{"Author", e.Author, tt.author}, {"AuthorRole", e.AuthorRole, tt.role},
				{"Language", e.Language, tt.language},
			} {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
				}
			}
			if !strings.HasPrefix(e.Body, tt.bodyStart) {
				t.Errorf("Body = %q, want it to start with %q", e.Body, tt.bodyStart)
			}
			if e.Format != FormatText || e.State != newsletter.EditionDraft {
				t.Errorf("Format %q State %q", e.Format, e.State)
			}
		})
	}
}

// TestTextBlocks checks the Markdown the importer writes, as Markdown: the
// tests read it back with a CommonMark renderer.
func TestTextBlocks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       string // exact Markdown body
	}{
		{"blank-line paragraphs", "Een.\n\nTwee.\n", "Een.\n\nTwee.\n"},
		{"one line per paragraph", "Een.\nTwee.\nDrie.\n", "Een.\n\nTwee.\n\nDrie.\n"},
		{"hard-wrapped lines are joined", "Dit is een lange zin die de editor op tachtig\ntekens heeft afgebroken, zoals een mailprogramma\ndoet. En dan verder.\n",
			"Dit is een lange zin die de editor op tachtig tekens heeft afgebroken, zoals een mailprogramma doet. En dan verder.\n"},
		{"a line ending a sentence is not joined", "Dit is een zin die eindigt met een punt hier.\nvolgende regel met kleine letter.\n",
			"Dit is een zin die eindigt met een punt hier.\n\nvolgende regel met kleine letter.\n"},
		{"heading before a paragraph", "Geen doel, maar middel\n\nVanaf het begin was duidelijk.\n", "## Geen doel, maar middel\n\nVanaf het begin was duidelijk.\n"},
		{"heading on a single newline", "In memoriam: Robert Glerum\nIk sluit af met een trieste mededeling.\n", "## In memoriam: Robert Glerum\n\nIk sluit af met een trieste mededeling.\n"},
		{"question heading", "Wat betekent dit voor u?\n\nHet betekent veel.\n", "## Wat betekent dit voor u?\n\nHet betekent veel.\n"},
		{"shouting heading", "Inleiding over Rotterdam.\n\nNIEUWS UIT ROTTERDAM\n\nTekst.\n", "Inleiding over Rotterdam.\n\n## Nieuws uit Rotterdam\n\nTekst.\n"},
		{"short line ending in a full stop is no heading", "Blijf gezond.\nTekst.\n", "Blijf gezond.\n\nTekst.\n"},
		{"short line at the end is no heading", "Tekst.\n\nTot snel\n", "Tekst.\n\nTot snel\n"},
		{"short line before a heading is no heading", "Postbus 12\nLees verder\n\nTekst.\n", "Postbus 12\n\n## Lees verder\n\nTekst.\n"},
		{"lowercase short line is no heading", "tekst zonder hoofdletter\n\nTekst.\n", "tekst zonder hoofdletter\n\nTekst.\n"},
		{"emphasis", "Dit is *belangrijk* nieuws.\n", "Dit is *belangrijk* nieuws.\n"},
		{"strong", "Dit is **heel belangrijk** nieuws.\n", "Dit is **heel belangrijk** nieuws.\n"},
		{"emphasis with a space before the closing star", "*Lees dit bericht. *\n", "*Lees dit bericht.*\n"},
		{"emphasis around a link", "*Zie https://example.org*\n", "*Zie <https://example.org>*\n"},
		{"a lone star is literal", "Prijs: 5 * 3 = 15 euro\n", "Prijs: 5 \\* 3 = 15 euro\n"},
		{"an unclosed star is literal", "*Let op: dit loopt door\n", "\\*Let op: dit loopt door\n"},
		{"stars inside a word are literal", "a*b*c\n", "a\\*b\\*c\n"},
		{"bare URL", "Kijk op https://example.org/pad.\n", "Kijk op <https://example.org/pad>.\n"},
		{"bare URL in parentheses", "Onze site (https://example.org/a_(b)) en meer.\n", "Onze site (<https://example.org/a_(b)>) en meer.\n"},
		{"www address", "Kijk op www.example.org, dank.\n", "Kijk op [www.example.org](https://www.example.org), dank.\n"},
		{"URL with underscores", "Zie https://example.org/a_b_c*\n", "Zie <https://example.org/a_b_c>\\*\n"},
		{"bullet list", "Agenda:\n- maandag\n- dinsdag\n", "Agenda:\n\n- maandag\n- dinsdag\n"},
		{"numbered list", "1. een\n2) twee\n", "1. een\n2. twee\n"},
		{"hash at line start", "#1 in de regio\n", "\\#1 in de regio\n"},
		{"year at line start", "2021. Wat een jaar.\n", "2021\\. Wat een jaar.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := mustParseText(t, "Titel\n\n"+tt.body)
			if e.Body != tt.want {
				t.Errorf("Body =\n%q\nwant\n%q", e.Body, tt.want)
			}
		})
	}
}

// TestTextMeansWhatItSaid renders lines full of Markdown syntax and checks a
// reader sees exactly the characters the editor typed.
func TestTextMeansWhatItSaid(t *testing.T) {
	t.Parallel()
	lines := []string{
		"# Geen kop maar een hekje",
		"> geen citaat",
		"Prijs: 5 * 3 = 15 euro, of 2*4",
		"Gebruik snake_case_namen en __init__ zonder opmaak",
		"Een <b>tag</b> blijft tekst, net als <https://niet.een/link>",
		"Sander & de Hartenjagers, &amp; blijft &amp; en &#39; ook",
		"Haakjes [zoals deze](niet een link) en `code` en een \\backslash",
		"![geen plaatje](x.png)",
		"2021. Wat een jaar",
		"+31 10 123 4567 is ons nummer",
		"=== geen kop ===",
		"---",
		"***",
		"Tilde ~~niet doorgestreept~~ en | pijp |",
		"Eindigt op een backslash \\",
		"    vier spaties zijn geen code",
		"<!-- geen commentaar -->",
		"*",
		"**",
		"Zó ’n “mooi” bericht – met é, ë, ï en €",
	}
	for _, l := range lines {
		t.Run(l, func(t *testing.T) {
			t.Parallel()
			e := mustParseText(t, "Titel\n\n"+l+"\n\nSlot.\n")
			// Short lines become headings; either way the text must be exact.
			got := blockTexts(renderHTML(t, e.Body))
			want := normSpace(l)
			if len(got) != 2 || got[0] != want {
				t.Errorf("line %q became Markdown %q, which reads %q", l, e.Body, got)
			}
		})
	}
}

func blockTexts(n *html.Node) []string {
	var out []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "p" || n.Data == "h2" || n.Data == "li") {
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

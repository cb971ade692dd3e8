package edition

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"newsletter/internal/seedtest"
)

// The project's own editions, in testdata/editions at the module root:
// written for the tests in the style of the seeds (a regional learn-and-work
// programme writing to its partners), so everything the seed tests check is
// checked on every checkout.
var fixtureWants = map[string]editionWant{
	// Byline above a shouting title, salutation on its own line, headings,
	// curly quotes, é/ë/ï, one "én" damaged by code page 852, and a
	// "Met vriendelijke groet," block with name and role.
	"najaar.txt": {
		title:     "Voorwoord Marloes van Dijk",
		greeting:  "Beste partners van het Leerwerkpact Drechtsteden,",
		signOff:   "Met vriendelijke groet,",
		author:    "Marloes van Dijk",
		role:      "Programmamanager Leerwerkpact Drechtsteden",
		headings:  []string{"Nieuwe leerwerkplekken in de haven", "Ideeën gezocht voor het jaarplan"},
		firstPara: "De dagen worden korter, maar de agenda",
		findings:  []Finding{{Field: "source", Line: 19, Column: 53, Kind: KindMojibake, Found: "├ę", Suggested: "é"}},
	},
	// One line per paragraph, the greeting sharing its line with the first
	// sentence, a bare link, *emphasis*, a list, no-break spaces, and
	// "Groet, Name" on one line.
	"winter.txt": {
		title:     "Voorwoord Marloes van Dijk",
		greeting:  "Beste allemaal,",
		signOff:   "Groet,",
		author:    "Marloes van Dijk",
		role:      "Programmamanager Leerwerkpact Drechtsteden",
		emphasis:  []string{"Zorg dichtbij"},
		links:     []string{"https://www.leerwerkpact-drechtsteden.nl/agenda"},
		listItems: []string{"de kennissessie over praktijkleren in het mkb", "de open dag van het techniekcollege in Papendrecht", "de start van het coördinatieoverleg met de gemeenten"},
		firstPara: "Welkom bij de laatste nieuwsbrief van dit jaar.",
	},
	// No salutation and no sign-off: a title, an emphasised intro, two
	// headings (one a question) and a bare link on its own line.
	"afscheid.txt": {
		title:     "Het Leerwerkpact wordt Leerwerkpunt: nieuwe naam, dezelfde mensen!",
		headings:  []string{"Wat verandert er?", "Naar de nieuwe website"},
		links:     []string{"https://www.leerwerkpunt-drechtsteden.nl/"},
		emphasis:  []string{"Vanaf 1 januari gaat het Leerwerkpact Drechtsteden verder als Leerwerkpunt Drechtsteden. De partners, de trajecten en het programmabureau blijven; alleen de naam en de website veranderen. In dit bericht leest u wat dat voor u betekent én wat er hetzelfde blijft."},
		firstPara: "Vanaf 1 januari gaat het Leerwerkpact",
	},
	// Markdown with front matter: every field set by the editor, a list,
	// a link and a call-to-action.
	"congres.md": {
		format:    FormatMarkdown,
		subject:   "Uitnodiging: congres “Samen leren werkt” op 14 maart",
		title:     "Congres “Samen leren werkt”",
		greeting:  "Beste partners,",
		signOff:   "Met vriendelijke groet,",
		author:    "Marloes van Dijk",
		role:      "Programmamanager Leerwerkpact Drechtsteden",
		headings:  []string{"Het programma", "Praktisch"},
		emphasis:  []string{"vóór 1 maart"},
		listItems: []string{"09.30 uur: ontvangst met koffie en ‘krentenbollen’", "10.00 uur: opening door de wethouder van onderwijs", "10.30 uur: workshops in drie rondes", "15.30 uur: afsluiting en borrel"},
		links:     []string{"https://www.leerwerkpact-drechtsteden.nl/congres/route", "https://www.leerwerkpact-drechtsteden.nl/congres?jaar=2025&bron=nieuwsbrief"},
		firstPara: "Op vrijdag 14 maart houden we",
	},
}

func TestFixtures(t *testing.T) {
	checkEditions(t, seedtest.Fixtures(t), fixtureWants, "fixture")
}

// The fixtures together hold what the seeds hold, so a fixture edited away
// from it is caught here rather than by coverage silently shrinking.
func TestFixturesCoverSeedFeatures(t *testing.T) {
	var all strings.Builder
	formats := map[string]bool{}
	for _, f := range seedtest.Fixtures(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(data)
		formats[filepath.Ext(f)] = true
	}
	s := all.String()
	for _, want := range []string{
		"‘", "’", "“", "”", "é", "ë", "ï", "├ęn", "*", "https://",
		"\nBeste ", "\nMet vriendelijke groet,\n", "\nGroet, ", "\u00a0",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("no fixture contains %q", want)
		}
	}
	if !formats[".txt"] || !formats[".md"] {
		t.Errorf("fixture formats %v, want both .txt and .md", formats)
	}
	var noGreeting, noSignOff bool
	for name, w := range fixtureWants {
		if w.greeting == "" {
			noGreeting = true
		}
		if w.signOff == "" {
			noSignOff = true
		}
		if len(w.findings) > 0 && !strings.HasSuffix(name, ".txt") {
			t.Errorf("%s: keep the mojibake in a plain-text fixture, where the CLI test uses it", name)
		}
	}
	if !noGreeting || !noSignOff {
		t.Errorf("want at least one fixture without a salutation and one without a sign-off")
	}
}

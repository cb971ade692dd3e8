package edition

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"newsletter"
)

func TestParseMarkdown(t *testing.T) {
	t.Parallel()
	src := `---
subject: Nieuwsbrief maart
preheader: "Alles over het \"congres\""
language: EN
title: 'It''s March'
greeting: Dear all,
# a comment line
sign-off: Kind regards,
author: Jane Doe
author_role: Programme manager
hero_image: https://example.org/hero.jpg
hero_image_alt: A hero
cta_text: Sign up
cta_url: https://example.org/signup
---

# Hello

Body with [a link](https://example.org/a).
`
	e, findings, err := Parse("maart.MD", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := newsletter.Edition{
		Subject: "Nieuwsbrief maart", Preheader: `Alles over het "congres"`, Language: "en",
		Title: "It's March", Greeting: "Dear all,", SignOff: "Kind regards,", Author: "Jane Doe",
		AuthorRole: "Programme manager", HeroImageURL: "https://example.org/hero.jpg", HeroImageAlt: "A hero",
		CTAText: "Sign up", CTAURL: "https://example.org/signup",
		Body:   "# Hello\n\nBody with [a link](https://example.org/a).\n",
		Format: FormatMarkdown, Source: src, State: newsletter.EditionDraft,
	}
	if !reflect.DeepEqual(*e, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", *e, want)
	}
	if len(findings) != 0 {
		t.Errorf("findings %+v", findings)
	}
}

func TestParseMarkdownDefaults(t *testing.T) {
	t.Parallel()
	e, _, err := Parse("x.markdown", []byte("---\r\nsubject: Hallo\r\n---\r\nTekst met ├ę.\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Language != "nl" || e.Body != "Tekst met ├ę.\n" || e.Format != FormatMarkdown {
		t.Errorf("got language %q body %q format %q", e.Language, e.Body, e.Format)
	}
	// A .txt file with front matter is plain text, as the name says.
	e, _, err = Parse("x.txt", []byte("---\nsubject: Hallo\n---\nTekst.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Format != FormatText {
		t.Errorf("x.txt parsed as %q", e.Format)
	}
}

func TestParseFindingsPointIntoTheFile(t *testing.T) {
	t.Parallel()
	_, findings, err := Parse("x.md", []byte("---\nsubject: Caf├ę\n---\nTekst met Ã©n fout.\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{
		{Field: "source", Line: 2, Column: 13, Kind: KindMojibake, Found: "├ę", Suggested: "é"},
		{Field: "source", Line: 4, Column: 11, Kind: KindMojibake, Found: "Ã©", Suggested: "é"},
	}
	if len(findings) != len(want) {
		t.Fatalf("findings %+v, want %+v", findings, want)
	}
	for i := range want {
		findings[i].Message = ""
		if findings[i] != want[i] {
			t.Errorf("finding %d = %+v, want %+v", i, findings[i], want[i])
		}
	}
}

func TestParseBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, src string
		want            []string // substrings of the message
	}{
		{"empty text file", "a.txt", "", []string{"empty"}},
		{"blank text file", "a.txt", " \n\n\t\n", []string{"empty"}},
		{"empty markdown file", "a.md", "", []string{"empty"}},
		{"text with a title only", "a.txt", "Alleen een titel\n", []string{"empty body"}},
		{"text with a sign-off only", "a.txt", "Titel\n\nGroet,\nPeter Smit\n", []string{"empty body"}},
		{"no front matter", "a.md", "# Hallo\n\nTekst.\n", []string{"no front matter", "---"}},
		{"unclosed front matter", "a.md", "---\nsubject: Hallo\n\nTekst.\n", []string{"not closed"}},
		{"no subject", "a.md", "---\ntitle: Hallo\n---\nTekst.\n", []string{"no subject", `"subject: …"`}},
		{"blank subject", "a.md", "---\nsubject:   \n---\nTekst.\n", []string{"no subject"}},
		{"empty body", "a.md", "---\nsubject: Hallo\n---\n\n  \n", []string{"empty body"}},
		{"bad front matter line", "a.md", "---\nsubject: Hallo\nzomaar tekst\n---\nTekst.\n", []string{"line 3", "key: value"}},
		{"unknown key", "a.md", "---\nsubject: Hallo\nsubjet: Typo\n---\nTekst.\n", []string{"line 3", `unknown key "subjet"`, "subject, preheader"}},
		{"duplicate key", "a.md", "---\nsubject: Hallo\nsubject: Nog eens\n---\nTekst.\n", []string{"line 3", "line 2"}},
		{"unknown language", "a.md", "---\nsubject: Hallo\nlanguage: de\n---\nTekst.\n", []string{`unknown language "de"`, "nl", "en", "line 3"}},
		{"unclosed quote", "a.md", "---\nsubject: \"Hallo\n---\nTekst.\n", []string{"line 2", "quote"}},
		{"newline in a quoted value", "a.md", "---\nsubject: \"Hallo\\nBcc: x@example.org\"\n---\nTekst.\n", []string{"line 2", "one line"}},
		{"multi-line YAML value", "a.md", "---\nsubject: |\n  Hallo\n---\nTekst.\n", []string{"line 2", "one line"}},
		{"cta text without url", "a.md", "---\nsubject: Hallo\ncta_text: Klik\n---\nTekst.\n", []string{"cta_url"}},
		{"invalid UTF-8 text", "a.txt", "Titel\n\nCaf\xe9 Rotterdam.\n", []string{"not valid UTF-8", "line 3, column 4", "Windows-1252", "save it as UTF-8"}},
		{"invalid UTF-8 markdown", "a.md", "---\nsubject: Caf\xe9\n---\nTekst.\n", []string{"not valid UTF-8", "line 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _, err := Parse(tt.file, []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse returned %+v, want an error", e)
			}
			if e != nil {
				t.Errorf("Parse returned an edition with its error")
			}
			var ne *newsletter.Error
			if !errors.As(err, &ne) || ne.Code != newsletter.EINVALID {
				t.Fatalf("error %T %v, want *newsletter.Error with code %q", err, err, newsletter.EINVALID)
			}
			if strings.Contains(ne.Message, "\n") {
				t.Errorf("message has more than one line: %q", ne.Message)
			}
			for _, w := range tt.want {
				if !strings.Contains(ne.Message, w) {
					t.Errorf("message %q does not mention %q", ne.Message, w)
				}
			}
		})
	}
}

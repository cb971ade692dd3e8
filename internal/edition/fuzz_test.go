package edition

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"newsletter"
	"newsletter/internal/seedtest"
)

func FuzzParse(f *testing.F) {
	// The project's fixtures always, the seeds when they are there.
	for _, file := range seedtest.Fixtures(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(filepath.Ext(file) == ".md", data)
	}
	for _, file := range seedtest.Optional(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(false, data)
	}
	for _, s := range []string{
		"---\nsubject: Hallo\nlanguage: en\ncta_text: a\ncta_url: https://x.org\n---\n# Kop\n\nTekst [link](http://x.org) <https://y.org>.\n",
		"---\nsubject: \"a\\\"b\"\n---\n",
		"Titel\n\n*nadruk. *\n**vet** a*b* https://x.org/(a)). www.x.nl\n- een\n1. twee\n\nGroet, Jan\nRol\n",
		"Beste allemaal,\nTekst.\n",
		"Jan\n\nJAN\n\nGroet,\nJan\n",
		"\uFEFF\r\n\r\n*\n",
	} {
		f.Add(false, []byte(s))
		f.Add(true, []byte(s))
	}
	f.Fuzz(func(t *testing.T, markdown bool, data []byte) {
		name := "edition.txt"
		if markdown {
			name = "edition.md"
		}
		e, findings, err := Parse(name, data)
		if err != nil {
			var ne *newsletter.Error
			if !errors.As(err, &ne) || ne.Code != newsletter.EINVALID || strings.Contains(ne.Message, "\n") {
				t.Fatalf("error %T %q, want a one-line *newsletter.Error EINVALID", err, err)
			}
			if e != nil {
				t.Fatal("edition returned with an error")
			}
			return
		}
		if strings.TrimSpace(e.Subject) == "" || strings.TrimSpace(e.Body) == "" {
			t.Fatalf("edition without subject or body: %+v", e)
		}
		if strings.ContainsAny(e.Subject, "\r\n") {
			t.Fatalf("subject spans lines: %q", e.Subject)
		}
		if e.Source != string(data) || e.State != newsletter.EditionDraft {
			t.Fatalf("Source/State not set: %+v", e)
		}
		if len(findings) != len(Check(string(data))) {
			t.Fatalf("findings differ from Check of the source")
		}
		_ = Links(e)
		FixEdition(e)
		if again := CheckEdition(e); len(again) != 0 {
			t.Fatalf("CheckEdition after FixEdition = %+v", again)
		}
	})
}

func FuzzCheckFix(f *testing.F) {
	for _, s := range []string{
		"samen doen ├ęn leren", "cafÃ©", "zâ€™n", "ÃƒÂ©", "caf\xe9", "a\xe2\x80b", "\x00\u0092\uFEFF\uFFFD",
		"ðŸ˜€", "ï»¿", "café coördinatie naïef € 25 Ä Ø – “quoted”", "Ã\xa9", "├\n⌐",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		findings := Check(s)
		for _, fd := range findings {
			if fd.Line < 1 || fd.Column < 1 || fd.Kind == "" || fd.Message == "" || fd.Found == fd.Suggested {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		fixed, changed := Fix(s)
		if !utf8.ValidString(fixed) {
			t.Fatalf("Fix(%q) = %q, not valid UTF-8", s, fixed)
		}
		if (len(findings) == 0) != (len(changed) == 0) || len(findings) == 0 && fixed != s {
			t.Fatalf("Check found %d, Fix changed %d (%q → %q)", len(findings), len(changed), s, fixed)
		}
		again, changed2 := Fix(fixed)
		if again != fixed || len(changed2) != 0 {
			t.Fatalf("Fix not idempotent: %q → %q → %q", s, fixed, again)
		}
		if rest := Check(fixed); len(rest) != 0 {
			t.Fatalf("Check after Fix = %+v", rest)
		}
	})
}

package render

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
)

func FuzzRenderBody(f *testing.F) {
	for _, h := range hostile {
		f.Add(h.body)
	}
	f.Add(fullEdition().Body)
	f.Add("## Kop\n\n*nadruk* en <https://x.nl/?a=1&b=2>\n\n> citaat\n>\n> - lijst")
	r := testRenderer(f)
	f.Fuzz(func(t *testing.T, body string) {
		e := fullEdition()
		e.Body = body
		tp, err := r.Render(e)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		h, txt := tp.Personalise(fixedPersonal)
		a, err := r.Archive(e, archiveLinks("https://x.nl/archief"))
		if err != nil {
			t.Fatalf("Archive: %v", err)
		}
		for part, out := range map[string][]byte{"html": h, "archive": a} {
			checkMarkup(t, part, out)
			if err := wellFormed(out); err != nil {
				t.Fatalf("%s: %v", part, err)
			}
		}
		if bytes.Contains(bytes.ToLower(txt), []byte("<script")) && !strings.Contains(strings.ToLower(body), "script") {
			t.Fatalf("text part invented a script tag")
		}
	})
}

// checkMarkup fails if the HTML contains "<script" anywhere, or
// "javascript:" anywhere in markup (tags and attribute values, after
// decoding entities and dropping white space). Body text may mention
// "javascript:" as prose; it is escaped there and inert.
func checkMarkup(t *testing.T, part string, doc []byte) {
	t.Helper()
	if bytes.Contains(bytes.ToLower(doc), []byte("<script")) {
		t.Fatalf("%s contains <script", part)
	}
	z := html.NewTokenizer(bytes.NewReader(doc))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("%s: %v", part, z.Err())
			}
			return
		}
		if tt == html.TextToken {
			continue
		}
		if bytes.Contains(bytes.ToLower(z.Raw()), []byte("javascript:")) {
			t.Fatalf("%s markup contains javascript: %s", part, z.Raw())
		}
		tok := z.Token()
		for _, at := range tok.Attr {
			v := strings.ToLower(strings.Map(func(r rune) rune {
				if r <= ' ' {
					return -1
				}
				return r
			}, at.Val))
			if strings.Contains(v, "javascript:") || strings.HasPrefix(at.Key, "on") {
				t.Fatalf("%s: <%s %s=%q>", part, tok.Data, at.Key, at.Val)
			}
		}
	}
}

// FuzzBody covers the same pipeline without hermes, so it runs far more
// inputs per second: Markdown → goldmark → bluemonday → text.
func FuzzBody(f *testing.F) {
	for _, h := range hostile {
		f.Add(h.body)
	}
	f.Add(fullEdition().Body)
	f.Fuzz(func(t *testing.T, body string) {
		h, err := bodyHTML(body, texts["nl"])
		if err != nil {
			t.Fatal(err)
		}
		doc := []byte(`<div class="nl-body">` + string(h) + `</div>`)
		checkMarkup(t, "body", doc)
		if err := wellFormed(doc); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		_ = bodyText(string(h))
	})
}

// FuzzWrap: wrapping keeps every word in order, never splits one, and
// keeps lines within textWidth unless a line is a single long word.
func FuzzWrap(f *testing.F) {
	f.Add("Een reünie van alle partners op vrijdag 14 maart in het Energiehuis in Dordrecht, met koffie.")
	f.Add(strings.Repeat("woord ", 40) + "https://example.org/" + strings.Repeat("x", 90) + " einde")
	f.Fuzz(func(t *testing.T, s string) {
		s = strings.ReplaceAll(s, "\n", " ")
		out := wrap(s, "", "")
		if got, want := words(out), words(s); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("words changed:\n%q\n%q", out, s)
		}
		for _, l := range strings.Split(out, "\n") {
			if utf8.RuneCountInString(l) > textWidth && len(strings.Fields(l)) > 1 {
				t.Fatalf("line of %d runes: %q", utf8.RuneCountInString(l), l)
			}
		}
	})
}

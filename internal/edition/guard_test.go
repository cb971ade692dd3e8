package edition

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"newsletter"
	"newsletter/internal/seedtest"
)

// Real Dutch and English text with the characters editors use. None of it
// may be reported: a guard that cries wolf gets switched off.
func TestCheckNoFalsePositives(t *testing.T) {
	t.Parallel()
	texts := []string{
		"café", "coördinatie", "naïef", "€ 25", "Ä", "Ø", "–", "“quoted”", "‘enkel’",
		"één en ideeën over geïnteresseerden in België en Curaçao",
		"loopbaanoriëntatie, reünie, enquête, crème brûlée, Zoë, zó ’n dag",
		"Vmbo’s, LWA’s, z’n allen – eerder dan verwacht — en dan…",
		"naïve façade, résumé, déjà vu, Ångström, Øresund, São Paulo, Müller, Straße",
		"½ prijs, 20 °C, ±5, 2 × 3, 10 µm, © 2024, ®, ™, § 3, ¶, «guillemets», ¿qué?",
		"ÉÉN KEER, CAFÉ, COÖRDINATIE, NAÏEF, ÏNTERNATIONAAL, ÅNGSTRÖM",
		"Łukasz Żółć, Dvořák, Ærø, Þór, İstanbul, Œuvre, œuvre, Šťastný",
		"€ 1.250,– per jaar; prijs ± € 25,00 (incl. btw)",
		"Emoji 😀 en ✓ en → pijlen ← en • opsomming",
		"CAFÉ\u00a0RESTAURANT, Ä\u00a0B, Ü\u00a0nbsp, nieuwe\u00a0infographic\u00a0met",
		"├── map\n│   └── bestand\n═══ kader ═══",
		"ÁÉÍÓÚ áéíóú ÀÈÌÒÙ àèìòù ÂÊÎÔÛ âêîôû ÄËÏÖÜ äëïöü ÃÕÑ ãõñ Çç",
		"tabs\tand\r\nwindows line endings\n",
	}
	for _, tx := range texts {
		if f := Check(tx); len(f) != 0 {
			t.Errorf("Check(%q) = %+v, want nothing", tx, f)
		}
	}
}

// TestCheckFixtures runs the guard over the project's own editions: only
// the code page 852 "├ęn" of najaar.txt may be reported, with its position,
// and Fix must repair exactly that.
func TestCheckFixtures(t *testing.T) {
	t.Parallel()
	for _, f := range seedtest.Fixtures(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got := Check(string(data))
		if filepath.Base(f) != "najaar.txt" {
			if len(got) != 0 {
				t.Errorf("%s: Check = %+v, want nothing", f, got)
			}
			continue
		}
		if len(got) != 1 {
			t.Fatalf("%s: Check = %+v, want exactly the one finding ├ę → é", f, got)
		}
		g := got[0]
		if g.Line != 19 || g.Column != 53 || g.Kind != KindMojibake || g.Found != "├ę" || g.Suggested != "é" || !strings.Contains(g.Message, "code page 852") {
			t.Errorf("%s: Check = %+v, want line 19 column 53 mojibake ├ę → é (code page 852)", f, g)
		}
		fixed, changed := Fix(string(data))
		if len(changed) != 1 || !strings.Contains(fixed, "leren én werken") || strings.Contains(fixed, "├") {
			t.Errorf("%s: Fix changed %+v; want the one repair to \"leren én werken\"", f, changed)
		}
		if fixed != strings.Replace(string(data), "├ę", "é", 1) {
			t.Errorf("%s: Fix changed more than the mojibake", f)
		}
		if rest := Check(fixed); len(rest) != 0 {
			t.Errorf("%s: Check after Fix = %+v", f, rest)
		}
	}
}

// TestCheckSeeds is the seed layer of TestCheckFixtures.
func TestCheckSeeds(t *testing.T) {
	t.Parallel()
	for _, f := range seedtest.Files(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got := Check(string(data))
		if strings.HasPrefix(filepath.Base(f), "000_") {
			if len(got) != 1 || got[0].Found != "├ę" || got[0].Suggested != "é" || got[0].Kind != KindMojibake {
				t.Errorf("%s: Check = %+v, want exactly the one finding ├ę → é", f, got)
			}
			continue
		}
		if len(got) != 0 {
			t.Errorf("%s: Check = %+v, want nothing", f, got)
		}
	}
}

func TestCheckFinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text   string
		line, column int
		kind         string
		found, sugg  string
		fixed        string
		msgHas       string
	}{
		{"cp852 (seed 000)", "samen doen ├ęn leren", 1, 12, KindMojibake, "├ę", "é", "samen doen én leren", "code page 852"},
		{"cp437", "caf├⌐", 1, 4, KindMojibake, "├⌐", "é", "café", "code page 437"},
		{"cp850 apostrophe", "z\u00d4\u00c7\u00d6n", 1, 2, KindMojibake, "ÔÇÖ", "’", "z’n", "code page 850"},
		{"cp850 e-acute", "caf\u251c\u00ae", 1, 4, KindMojibake, "├®", "é", "café", "code page 850"},
		{"cp1252 e-acute", "cafÃ©", 1, 4, KindMojibake, "Ã©", "é", "café", "Windows-1252"},
		{"cp1252 apostrophe", "zâ€™n", 1, 2, KindMojibake, "â€™", "’", "z’n", "Windows-1252"},
		{"cp1252 curly quotes", "â€œhallo", 1, 1, KindMojibake, "â€œ", "“", "“hallo", "Windows-1252"},
		{"cp1252 right quote with undefined byte", "hallo\u00e2\u20ac\u009d", 1, 6, KindMojibake, "â€\u009d", "”", "hallo”", "Windows-1252"},
		{"cp1252 en dash", "nu â€“ eerder", 1, 4, KindMojibake, "â€“", "–", "nu – eerder", "Windows-1252"},
		{"cp1252 euro", "â‚¬ 25", 1, 1, KindMojibake, "â‚¬", "€", "€ 25", "Windows-1252"},
		{"cp1252 umlaut", "coÃ¶rdinatie", 1, 3, KindMojibake, "Ã¶", "ö", "coördinatie", ""},
		{"cp1252 capital", "Ã‰Ã‰N", 1, 1, KindMojibake, "Ã‰Ã‰", "ÉÉ", "ÉÉN", ""},
		{"cp1252 no-break space", "Op\u00c2\u00a03 november", 1, 3, KindMojibake, "Â\u00a0", "\u00a0", "Op\u00a03 november", ""},
		{"cp1252 a-grave", "\u00c3\u00a0 la carte", 1, 1, KindMojibake, "Ã\u00a0", "à", "à la carte", ""},
		{"cp1252 emoji", "ðŸ˜€!", 1, 1, KindMojibake, "ðŸ˜€", "😀", "😀!", ""},
		{"latin-1 e-acute capital", "\u00c3\u0089N", 1, 1, KindMojibake, "Ã\u0089", "É", "ÉN", "Latin-1"},
		{"latin-1 apostrophe", "z\u00e2\u0080\u0099n", 1, 2, KindMojibake, "â\u0080\u0099", "’", "z’n", "Latin-1"},
		{"double encoded", "cafÃƒÂ©", 1, 4, KindMojibake, "ÃƒÂ©", "é", "café", ""},
		{"byte-order mark read as cp1252", "ï»¿Titel", 1, 1, KindMojibake, "ï»¿", "", "Titel", "byte-order mark"},
		{"second line", "goed\nfout: Ã«", 2, 7, KindMojibake, "Ã«", "ë", "goed\nfout: ë", ""},
		{"column counts runes", "één Ã©", 1, 5, KindMojibake, "Ã©", "é", "één é", ""},
		{"invalid byte from a cp1252 file", "caf\xe9 au lait", 1, 4, KindInvalidUTF8, `\xe9`, "é", "café au lait", "Windows-1252"},
		{"invalid cp1252 quote byte", "z\x92n", 1, 2, KindInvalidUTF8, `\x92`, "’", "z’n", ""},
		{"truncated sequence", "ab\xe2\x80cd", 1, 3, KindInvalidUTF8, `\xe2\x80`, "", "abcd", "cut in half"},
		{"undefined byte", "a\x81b", 1, 2, KindInvalidUTF8, `\x81`, "", "ab", ""},
		{"NUL", "a\x00b", 1, 2, KindControl, `\x00`, "", "ab", "U+0000"},
		{"escape", "a\x1b[0mb", 1, 2, KindControl, `\x1b`, "", "a[0mb", ""},
		{"form feed", "a\fb", 1, 2, KindControl, `\f`, "", "ab", ""},
		{"C1 control from cp1252", "z\u0092n", 1, 2, KindControl, `\u0092`, "’", "z’n", "Windows-1252"},
		{"stray byte-order mark", "a\uFEFFb", 1, 2, KindControl, `\ufeff`, "", "ab", "byte-order mark"},
		{"replacement character", "caf\uFFFD", 1, 4, KindReplacement, "\uFFFD", "", "caf", "lost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Check(tt.text)
			if len(got) != 1 {
				t.Fatalf("Check(%q) = %+v, want one finding", tt.text, got)
			}
			f := got[0]
			if f.Line != tt.line || f.Column != tt.column || f.Kind != tt.kind || f.Found != tt.found || f.Suggested != tt.sugg {
				t.Errorf("Check(%q) = line %d col %d %s %q → %q, want line %d col %d %s %q → %q",
					tt.text, f.Line, f.Column, f.Kind, f.Found, f.Suggested, tt.line, tt.column, tt.kind, tt.found, tt.sugg)
			}
			if f.Message == "" || !strings.Contains(f.Message, tt.msgHas) {
				t.Errorf("message %q does not mention %q", f.Message, tt.msgHas)
			}
			fixed, changed := Fix(tt.text)
			if fixed != tt.fixed {
				t.Errorf("Fix(%q) = %q, want %q", tt.text, fixed, tt.fixed)
			}
			if len(changed) == 0 {
				t.Errorf("Fix reported no change")
			}
			if again := Check(fixed); len(again) != 0 {
				t.Errorf("Check after Fix = %+v", again)
			}
		})
	}
}

func TestCheckSeveral(t *testing.T) {
	t.Parallel()
	got := Check("Ã©Ã¨ en â€™ en\x00\nregel 2 \uFFFD")
	want := []struct {
		line, col int
		kind      string
	}{{1, 1, KindMojibake}, {1, 9, KindMojibake}, {1, 15, KindControl}, {2, 9, KindReplacement}}
	if len(got) != len(want) {
		t.Fatalf("Check = %+v", got)
	}
	for i, w := range want {
		if got[i].Line != w.line || got[i].Column != w.col || got[i].Kind != w.kind {
			t.Errorf("finding %d = %+v, want line %d col %d %s", i, got[i], w.line, w.col, w.kind)
		}
	}
	if got[0].Found != "Ã©Ã¨" || got[0].Suggested != "éè" {
		t.Errorf("adjacent mojibake not joined into one finding: %+v", got[0])
	}
}

func TestFixIdempotentAndValid(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "cafÃƒÂ©", "Ã\xa9", "\xff\xfe\x00", "├ę├ę├ę", "ÃƒÆ’Ã‚Â©"} {
		fixed, _ := Fix(s)
		if !utf8.ValidString(fixed) {
			t.Errorf("Fix(%q) = %q, not valid UTF-8", s, fixed)
		}
		if again, changed := Fix(fixed); again != fixed || len(changed) != 0 {
			t.Errorf("Fix(Fix(%q)) = %q (changes %+v), want %q", s, again, changed, fixed)
		}
	}
}

func TestFixEdition(t *testing.T) {
	t.Parallel()
	e := &newsletter.Edition{
		Subject: "Caf├ę", Preheader: "ok", Title: "Ã©", Greeting: "Beste\x00 allemaal,",
		Body: "Regel 1\nRegel 2 doen ├ęn leren", SignOff: "Groet,", Author: "Zo\u00c3\u00ab", AuthorRole: "Rol",
		CTAText: "Klik\uFFFD", CTAURL: "https://example.org/", HeroImageAlt: "Beeld", HeroImageURL: "https://example.org/a.jpg",
		Source: "bron ├ę blijft",
	}
	checked := CheckEdition(e)
	fields := map[string]Finding{}
	for _, f := range checked {
		fields[f.Field] = f
	}
	for _, name := range []string{"subject", "title", "greeting", "body", "author", "cta_text"} {
		if _, ok := fields[name]; !ok {
			t.Errorf("CheckEdition missed field %s: %+v", name, checked)
		}
	}
	if f := fields["body"]; f.Line != 2 || f.Column != 14 {
		t.Errorf("body finding at line %d column %d, want 2:14 (within the field)", f.Line, f.Column)
	}
	if len(checked) != 6 {
		t.Errorf("CheckEdition = %d findings, want 6: %+v", len(checked), checked)
	}

	changed := FixEdition(e)
	if len(changed) != len(checked) {
		t.Errorf("FixEdition changed %d, Check found %d", len(changed), len(checked))
	}
	want := map[string]string{
		"Subject": e.Subject, "Title": e.Title, "Greeting": e.Greeting, "Body": e.Body, "Author": e.Author, "CTAText": e.CTAText,
	}
	expect := map[string]string{
		"Subject": "Café", "Title": "é", "Greeting": "Beste allemaal,", "Body": "Regel 1\nRegel 2 doen én leren", "Author": "Zoë", "CTAText": "Klik",
	}
	for k, v := range expect {
		if want[k] != v {
			t.Errorf("%s = %q, want %q", k, want[k], v)
		}
	}
	if e.Source != "bron ├ę blijft" {
		t.Errorf("FixEdition changed Source to %q; it keeps what the editor supplied", e.Source)
	}
	if again := CheckEdition(e); len(again) != 0 {
		t.Errorf("CheckEdition after FixEdition = %+v", again)
	}
}

// TestFixDeeplyEncoded repairs text that went through a wrong decoder five
// times. The fuzzer once found that deep decoding recursed per level, which
// made long runs of such text take minutes.
func TestFixDeeplyEncoded(t *testing.T) {
	t.Parallel()
	s := "é"
	for range 5 {
		var b strings.Builder
		for _, c := range []byte(s) {
			b.WriteRune(codePages[0].runeOf(c))
		}
		s = b.String()
	}
	long := strings.Repeat(s+" ", 300)
	fixed, _ := Fix(long)
	if want := strings.Repeat("é ", 300); fixed != want {
		t.Errorf("Fix of 5-times encoded text = %.40q…, want %.40q…", fixed, want)
	}
	if got := Check(s); len(got) != 1 || got[0].Suggested != "é" {
		t.Errorf("Check(%q) = %+v, want one finding suggesting é", s, got)
	}
}

package edition

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Finding kinds reported by the encoding guard.
const (
	KindMojibake    = "mojibake"     // UTF-8 bytes that were decoded with a legacy code page
	KindInvalidUTF8 = "invalid_utf8" // bytes that are not UTF-8 at all
	KindControl     = "control"      // a control character other than \n, \t, \r
	KindReplacement = "replacement"  // U+FFFD: a character was already lost upstream
)

// Finding is one problem the encoding guard found. Line and Column are
// 1-based; Column counts Unicode characters (runes), not bytes, and an
// invalid byte counts as one column. Suggested is the repair Fix applies
// ("" means delete).
type Finding struct {
	Field     string `json:"field,omitempty"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	Kind      string `json:"kind"`
	Found     string `json:"found"`
	Suggested string `json:"suggested"`
	Message   string `json:"message"`
}

// issue is a Finding plus the byte span it replaces, which Fix needs.
type issue struct {
	Finding
	start, end int
	repl       string
}

// codePage is one legacy code page the guard knows how to undo. Only bytes
// 0x80–0xFF matter: every byte of a multi-byte UTF-8 sequence is in that range.
type codePage struct {
	name   string
	byteOf map[rune]byte
	runeOf func(byte) rune
}

// The order is the preference when several pages explain the same run.
var codePages = []*codePage{
	newCodePage("Windows-1252", func(b byte) rune {
		r := charmap.Windows1252.DecodeByte(b)
		if r == utf8.RuneError {
			// Windows (and the WHATWG decoder) pass the five undefined bytes
			// through as C1 controls, so "â€\u009d" is a real form of ”.
			return rune(b)
		}
		return r
	}),
	newCodePage("Latin-1", func(b byte) rune { return rune(b) }),
	newCodePage("code page 850", charmap.CodePage850.DecodeByte),
	newCodePage("code page 437", charmap.CodePage437.DecodeByte),
	newCodePage("code page 852", charmap.CodePage852.DecodeByte),
}

func newCodePage(name string, decode func(byte) rune) *codePage {
	cp := &codePage{name: name, byteOf: make(map[rune]byte, 128), runeOf: decode}
	for b := 0x80; b <= 0xFF; b++ {
		cp.byteOf[decode(byte(b))] = byte(b)
	}
	return cp
}

// unit is one rune of the text, or one byte that is not valid UTF-8.
type unit struct {
	r       rune
	invalid bool
	off     int // byte offset in the text
	size    int
}

// match tries to read one UTF-8 sequence, re-encoded to this code page,
// from the start of us. It returns the number of units used and the rune.
func (cp *codePage) match(us []unit) (int, rune) {
	if len(us) < 2 || us[0].invalid {
		return 0, 0
	}
	b0, ok := cp.byteOf[us[0].r]
	if !ok || b0 < 0xC2 || b0 > 0xF4 {
		return 0, 0
	}
	n := 2
	if b0 >= 0xF0 {
		n = 4
	} else if b0 >= 0xE0 {
		n = 3
	}
	if len(us) < n {
		return 0, 0
	}
	buf := []byte{b0}
	for _, u := range us[1:n] {
		if u.invalid {
			return 0, 0
		}
		b, ok := cp.byteOf[u.r]
		if !ok || b < 0x80 || b > 0xBF {
			return 0, 0
		}
		buf = append(buf, b)
	}
	r, size := utf8.DecodeRune(buf)
	if r == utf8.RuneError && size <= 1 || size != n || !plausible(r) {
		return 0, 0
	}
	// A letter followed by a no-break space is ordinary text far more often
	// than it is mojibake; only the forms seen in the wild (Â = nbsp, Ã = à,
	// Å = Š) are accepted.
	if n == 2 && us[1].r == 0xA0 && us[0].r != 'Â' && us[0].r != 'Ã' && us[0].r != 'Å' {
		return 0, 0
	}
	return n, r
}

// plausible reports whether r is a character an editor plausibly meant:
// Latin letters with diacritics, typographic punctuation, currency, common
// symbols, emoji. Anything else (CJK, Arabic, IPA...) decoded from a run is
// much more likely to be a coincidence of real text than mojibake.
func plausible(r rune) bool {
	switch {
	case r >= 0xA0 && r <= 0x17F, // Latin-1 supplement, Latin Extended-A
		r == 0x192, r >= 0x218 && r <= 0x21B, // ƒ, Ș ș Ț ț
		r == 0x2C6, r == 0x2C7, r == 0x2D8, r == 0x2D9, r == 0x2DA, r == 0x2DB, r == 0x2DC, r == 0x2DD,
		r >= 0x300 && r <= 0x36F,   // combining diacritics: decomposed (NFD) text
		r >= 0x386 && r <= 0x3CE,   // Greek
		r >= 0x400 && r <= 0x45F,   // basic Cyrillic
		r >= 0x1E00 && r <= 0x1EFF, // Latin Extended Additional
		r >= 0x2000 && r <= 0x206F, // general punctuation: dashes, quotes, …, zero-width
		r >= 0x20A0 && r <= 0x20C0, // currency, €
		r >= 0x2100 && r <= 0x214F, // ™, №, ℃
		r >= 0x2150 && r <= 0x215F, // fractions
		r >= 0x2190 && r <= 0x21FF, // arrows
		r == 0x2212, r == 0x221E, r == 0x2248, r == 0x2260, r == 0x2264, r == 0x2265,
		r >= 0x25A0 && r <= 0x25FF, // geometric shapes: ■ ● ▶
		r >= 0x2600 && r <= 0x27BF, // symbols, dingbats: ☎ ✓ ★
		r == 0xFEFF, r == 0xFFFD,
		r >= 0x1F000 && r <= 0x1FAFF: // emoji
		return true
	}
	return false
}

// Check runs the encoding guard over text and reports what it finds.
func Check(text string) []Finding {
	var out []Finding
	for _, is := range scan(text) {
		out = append(out, is.Finding)
	}
	return out
}

// Fix applies the guard's repairs and returns the fixed text and what it
// changed. It repeats until nothing is left to repair, so text that was
// mis-decoded twice comes out right and Fix(Fix(x)) == Fix(x). Positions in
// later rounds refer to the text as the previous round left it.
func Fix(text string) (string, []Finding) {
	var changed []Finding
	// Each round after the first only shrinks the text (see scan), so this
	// ends; the bound is a guard against a bug, not a limit on real input.
	for round := 0; round < 100; round++ {
		issues := scan(text)
		if len(issues) == 0 {
			break
		}
		next := apply(text, issues)
		for _, is := range issues {
			changed = append(changed, is.Finding)
		}
		if next == text {
			break
		}
		text = next
	}
	return text, changed
}

func apply(text string, issues []issue) string {
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, is := range issues {
		b.WriteString(text[last:is.start])
		b.WriteString(is.repl)
		last = is.end
	}
	b.WriteString(text[last:])
	return b.String()
}

// scan finds every issue in text, in order, with non-overlapping spans.
func scan(text string) []issue {
	var out []issue
	lineNo := 0
	for start := 0; start <= len(text); {
		lineNo++
		end := strings.IndexByte(text[start:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		out = scanLine(text, start, end, lineNo, out)
		start = end + 1
	}
	return out
}

func decodeUnits(s string, base int) []unit {
	us := make([]unit, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		us = append(us, unit{r: r, invalid: r == utf8.RuneError && size == 1, off: base + i, size: size})
		i += size
	}
	return us
}

func scanLine(text string, start, end, lineNo int, out []issue) []issue {
	us := decodeUnits(text[start:end], start)
	for i := 0; i < len(us); {
		u := us[i]
		switch {
		case u.invalid:
			n, repl, msg := invalidRun(text, us[i:])
			out = append(out, newIssue(text, us, i, n, lineNo, KindInvalidUTF8, repl, msg))
			i += n
		case startsMojibake(us[i:]):
			n, repl, pages := mojibakeRun(us[i:])
			found := text[u.off : us[i+n-1].off+us[i+n-1].size]
			msg := fmt.Sprintf("%q looks like UTF-8 read as %s; it should probably be %q", found, pages, repl)
			if repl == "" {
				msg = fmt.Sprintf("%q looks like an invisible byte-order mark or lost character read as %s: delete it", found, pages)
			}
			out = append(out, newIssue(text, us, i, n, lineNo, KindMojibake, repl, msg))
			i += n
		case u.r == utf8.RuneError:
			out = append(out, newIssue(text, us, i, 1, lineNo, KindReplacement, "",
				"replacement character U+FFFD: the original character was lost before this text arrived; delete it and check the word by hand"))
			i++
		case isControl(u.r):
			repl, msg := controlRepair(u.r)
			out = append(out, newIssue(text, us, i, 1, lineNo, KindControl, repl, msg))
			i++
		default:
			i++
		}
	}
	return out
}

func newIssue(text string, us []unit, i, n, lineNo int, kind, repl, msg string) issue {
	s, e := us[i].off, us[i+n-1].off+us[i+n-1].size
	found := text[s:e]
	if kind == KindInvalidUTF8 || kind == KindControl {
		found = quoteBytes(found)
	}
	return issue{
		Finding: Finding{Line: lineNo, Column: i + 1, Kind: kind, Found: found, Suggested: repl, Message: msg},
		start:   s, end: e, repl: repl,
	}
}

// quoteBytes shows bytes that cannot be printed (invalid UTF-8, controls) as
// Go escapes, so a Finding survives JSON and a terminal intact.
func quoteBytes(s string) string {
	q := fmt.Sprintf("%+q", s)
	return q[1 : len(q)-1]
}

func isControl(r rune) bool {
	if r == '\n' || r == '\t' || r == '\r' {
		return false
	}
	// U+FEFF inside text is an invisible byte-order mark left by an editor.
	return r < 0x20 || r >= 0x7F && r <= 0x9F || r == 0xFEFF
}

func controlRepair(r rune) (string, string) {
	if r >= 0x80 && r <= 0x9F {
		// A lone C1 control is nearly always a Windows-1252 byte that was
		// decoded as Latin-1: 0x92 meant ’, 0x96 meant –.
		if c := charmap.Windows1252.DecodeByte(byte(r)); c != utf8.RuneError {
			return string(c), fmt.Sprintf("control character U+%04X is a Windows-1252 %q decoded as Latin-1", r, c)
		}
	}
	if r == 0xFEFF {
		return "", "invisible byte-order mark U+FEFF inside the text: delete it"
	}
	return "", fmt.Sprintf("control character U+%04X does not belong in an email: delete it", r)
}

// invalidRun reports how many invalid units starting at us[0] form one
// finding, and the repair. A lead byte followed by too few continuation bytes
// is a character cut in half: delete it. Any other invalid byte is most likely
// text saved as Windows-1252 or Latin-1: decode it that way.
func invalidRun(text string, us []unit) (int, string, string) {
	b0 := text[us[0].off]
	need := 0
	switch {
	case b0 >= 0xC2 && b0 <= 0xDF:
		need = 1
	case b0 >= 0xE0 && b0 <= 0xEF:
		need = 2
	case b0 >= 0xF0 && b0 <= 0xF4:
		need = 3
	}
	n := 1
	for n <= need && n < len(us) && us[n].invalid && text[us[n].off]&0xC0 == 0x80 {
		n++
	}
	if n > 1 {
		return n, "", "incomplete UTF-8 sequence (a character cut in half): delete it and check the word by hand"
	}
	if r := charmap.Windows1252.DecodeByte(b0); r != utf8.RuneError {
		return 1, string(r), fmt.Sprintf("byte 0x%02X is not UTF-8; as Windows-1252 it is %q (the text was probably saved as Windows-1252 or Latin-1)", b0, r)
	}
	return 1, "", fmt.Sprintf("byte 0x%02X is not UTF-8 and means nothing in Windows-1252: delete it", b0)
}

func startsMojibake(us []unit) bool {
	n, _, _ := mojibakeStep(us)
	return n > 0
}

// mojibakeStep matches one UTF-8 sequence at the start of us against every
// code page, preferring the longest match, and names the pages that agree.
func mojibakeStep(us []unit) (int, rune, []string) {
	best, bestR := 0, rune(0)
	var names []string
	for _, cp := range codePages {
		n, r := cp.match(us)
		switch {
		case n == 0:
		case n > best:
			best, bestR, names = n, r, []string{cp.name}
		case n == best && r == bestR:
			names = append(names, cp.name)
		}
	}
	return best, bestR, names
}

// mojibakeRun joins adjacent mojibake sequences into one finding, so "Ã©Ã¨"
// is reported once, and decodes the result again while it is itself
// mojibake (text that went through a wrong decoder twice).
func mojibakeRun(us []unit) (int, string, string) {
	var b strings.Builder
	total := 0
	seen := map[string]bool{}
	var pages []string
	for total < len(us) {
		n, r, names := mojibakeStep(us[total:])
		if n == 0 {
			break
		}
		total += n
		switch r {
		case 0xFEFF, 0xFFFD:
			// A mis-decoded byte-order mark or replacement character
			// carries no text: drop it.
		default:
			b.WriteRune(r)
		}
		for _, name := range names {
			if !seen[name] {
				seen[name] = true
				pages = append(pages, name)
			}
		}
	}
	repl := b.String()
	for range 8 {
		next := decodeOnce(repl)
		if next == repl {
			break
		}
		repl = next
	}
	return total, repl, joinOr(pages)
}

// decodeOnce undoes one level of mojibake everywhere in s. It does not
// recurse, so deep decoding stays linear in the length of the run.
func decodeOnce(s string) string {
	us := decodeUnits(s, 0)
	var b strings.Builder
	for i := 0; i < len(us); {
		n, r, _ := mojibakeStep(us[i:])
		if n == 0 {
			b.WriteString(s[us[i].off : us[i].off+us[i].size])
			i++
			continue
		}
		if r != 0xFEFF && r != 0xFFFD {
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

func joinOr(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

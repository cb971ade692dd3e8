package edition

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Plain text becomes Markdown: every character keeps the meaning it had in
// the text, except *emphasis* (kept as emphasis) and bare URLs (made links).

var (
	bareURLRE = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"]+`)
	entityRE  = regexp.MustCompile(`^&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});`)
	olStartRE = regexp.MustCompile(`^(\d{1,9})([.)])(\s|$)`)
)

// span is a byte range of the text that inline writes specially.
type span struct {
	start, end int
	kind       int
	trim       int // for a closing '*': where the spaces before it begin
}

const (
	spanURL = iota
	spanOpen
	spanClose
)

// inline writes one line of plain text as Markdown inline content. In a
// heading a '#' is escaped too, since trailing #s close an ATX heading.
func inline(s string, inHeading bool) string {
	spans := urlSpans(s)
	spans = append(spans, emphasisSpans(s, spans)...)
	sortSpans(spans)

	var b strings.Builder
	pos := 0
	for _, sp := range spans {
		text := s[pos:sp.start]
		if sp.kind == spanClose {
			text = s[pos:sp.trim]
		}
		escapeTo(&b, text, inHeading)
		seg := s[sp.start:sp.end]
		switch sp.kind {
		case spanURL:
			writeURL(&b, seg)
		default:
			b.WriteString(seg) // the emphasis marker itself
		}
		pos = sp.end
	}
	escapeTo(&b, s[pos:], inHeading)
	return b.String()
}

func sortSpans(sp []span) {
	sort.Slice(sp, func(i, j int) bool { return sp[i].start < sp[j].start })
}

// urlSpans finds bare URLs, leaving off trailing punctuation that ends the
// sentence rather than the URL, and an unbalanced closing parenthesis.
func urlSpans(s string) []span {
	var out []span
	for _, m := range bareURLRE.FindAllStringIndex(s, -1) {
		start, end := m[0], m[1]
		for end > start {
			c := s[end-1]
			if strings.IndexByte(".,;:!?'\"*_~", c) >= 0 {
				end--
				continue
			}
			if c == ')' && strings.Count(s[start:end], ")") > strings.Count(s[start:end], "(") {
				end--
				continue
			}
			if r, size := utf8.DecodeLastRuneInString(s[start:end]); r == '”' || r == '’' || r == '»' {
				end -= size
				continue
			}
			break
		}
		u := s[start:end]
		if i := strings.Index(u, "://"); i >= 0 && i+3 == len(u) || strings.EqualFold(u, "www.") {
			continue // a scheme or "www." with nothing after it is no link
		}
		out = append(out, span{start: start, end: end, kind: spanURL})
	}
	return out
}

func writeURL(b *strings.Builder, u string) {
	if strings.HasPrefix(strings.ToLower(u), "www.") {
		// Show what the editor wrote, link securely.
		b.WriteString("[")
		escapeTo(b, u, false)
		b.WriteString("](")
		if strings.ContainsAny(u, "()") {
			b.WriteString("<https://" + u + ">")
		} else {
			b.WriteString("https://" + u)
		}
		b.WriteString(")")
		return
	}
	b.WriteString("<" + u + ">")
}

type starRun struct {
	start, end        int
	canOpen, canClose bool
	trim              int
}

// emphasisSpans pairs *…* and **…** markers the way a reader of plain text
// would: an opener starts a word, a closer ends one. A closer may follow a
// space when it ends the line after a sentence ("… Leerwerkakkoord. *" in
// seed 004): the space is dropped so Markdown sees emphasis.
func emphasisSpans(s string, urls []span) []span {
	var runs []starRun
	u := 0 // urls are in order: walk them alongside
	for i := 0; i < len(s); {
		for u < len(urls) && urls[u].end <= i {
			u++
		}
		if s[i] != '*' || u < len(urls) && i >= urls[u].start {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] == '*' {
			j++
		}
		if j-i <= 2 {
			runs = append(runs, classifyRun(s, i, j))
		}
		i = j
	}
	var out []span
	open := -1
	for k, r := range runs {
		if open >= 0 && r.canClose && r.end-r.start == runs[open].end-runs[open].start &&
			strings.TrimSpace(s[runs[open].end:r.trim]) != "" {
			o := runs[open]
			out = append(out,
				span{start: o.start, end: o.end, kind: spanOpen},
				span{start: r.start, end: r.end, kind: spanClose, trim: r.trim})
			open = -1
			continue
		}
		if r.canOpen {
			open = k
		}
	}
	return out
}

func classifyRun(s string, i, j int) starRun {
	r := starRun{start: i, end: j, trim: i}
	before, _ := utf8.DecodeLastRuneInString(s[:i])
	after, _ := utf8.DecodeRuneInString(s[j:])
	atStart, atEnd := i == 0, j == len(s)
	r.canOpen = !atEnd && !unicode.IsSpace(after) && (atStart || unicode.IsSpace(before) || strings.ContainsRune("([{\"'“‘„«", before))
	closesWord := atEnd || unicode.IsSpace(after) || strings.ContainsRune(".,;:!?)]}\"'”’»", after)
	switch {
	case atStart:
	case !unicode.IsSpace(before):
		r.canClose = closesWord
	case atEnd:
		t := strings.TrimRightFunc(s[:i], unicode.IsSpace)
		if t != "" && strings.ContainsAny(lastRune(t), ".!?…") {
			r.canClose, r.trim = true, len(t)
		}
	}
	return r
}

// escapeTo writes text with every character that Markdown could read as
// syntax escaped. Escaping is cheap and the rendered text is exact.
func escapeTo(b *strings.Builder, s string, inHeading bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '~', '|':
			b.WriteByte('\\')
		case '#':
			if inHeading {
				b.WriteByte('\\')
			}
		case '&':
			if entityRE.MatchString(s[i:]) {
				b.WriteByte('\\')
			}
		}
		b.WriteByte(c)
	}
}

// blockStart escapes what would make a paragraph into another block: a
// heading, quote, list item, thematic break or setext underline.
func blockStart(s string) string {
	if s == "" {
		return s
	}
	if strings.IndexByte("#>+-=", s[0]) >= 0 {
		return "\\" + s
	}
	if m := olStartRE.FindStringSubmatchIndex(s); m != nil {
		return s[:m[3]] + "\\" + s[m[3]:]
	}
	return s
}

// casing knows how the text writes a word when it is not shouting, so an
// ALL-CAPS title can be written in readable case.
type casing map[string]string

func words(s string) [][2]int {
	var out [][2]int
	start := -1
	for i, r := range s {
		isWord := unicode.IsLetter(r) || unicode.IsDigit(r)
		if isWord && start < 0 {
			start = i
		}
		if !isWord && start >= 0 {
			out = append(out, [2]int{start, i})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, [2]int{start, len(s)})
	}
	return out
}

// buildCasing counts how words are written away from the start of a
// sentence (where a capital says nothing). The author's name is taken as
// written, since it is often only seen at the start of a line.
func buildCasing(lines []string, author string) casing {
	counts := map[string]map[string]int{}
	for _, l := range lines {
		if isShouting(l) {
			continue
		}
		for _, w := range words(l) {
			before := strings.TrimRightFunc(l[:w[0]], unicode.IsSpace)
			if before == "" || strings.ContainsAny(lastRune(before), ".!?…") {
				continue
			}
			word := l[w[0]:w[1]]
			low := strings.ToLower(word)
			if counts[low] == nil {
				counts[low] = map[string]int{}
			}
			counts[low][word]++
		}
	}
	c := casing{}
	for low, forms := range counts {
		best, n := "", 0
		for f, k := range forms {
			if k > n || k == n && f < best {
				best, n = f, k
			}
		}
		c[low] = best
	}
	for _, w := range words(author) {
		word := author[w[0]:w[1]]
		c[strings.ToLower(word)] = word
	}
	return c
}

// readable rewrites an ALL-CAPS line in sentence case, keeping names and
// acronyms as the rest of the text writes them ("VOORWOORD PETER SMIT" →
// "Voorwoord Peter Smit" when the edition is signed by Peter Smit).
func (c casing) readable(s string) string {
	var b strings.Builder
	pos := 0
	for k, w := range words(s) {
		b.WriteString(s[pos:w[0]])
		word := s[w[0]:w[1]]
		low := strings.ToLower(word)
		out, ok := c[low]
		if !ok {
			out = low
		}
		if k == 0 {
			out = capitalize(out)
		}
		b.WriteString(out)
		pos = w[1]
	}
	b.WriteString(s[pos:])
	return b.String()
}

// isShouting reports whether s is written in capitals only and has a word
// long enough that it is not just an acronym.
func isShouting(s string) bool {
	long := false
	for _, w := range words(s) {
		n := 0
		for _, r := range s[w[0]:w[1]] {
			if unicode.IsLower(r) {
				return false
			}
			if unicode.IsUpper(r) {
				n++
			}
		}
		if n >= 4 {
			long = true
		}
	}
	return long
}

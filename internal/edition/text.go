package edition

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"newsletter"
)

// Limits that tell a title or heading line from a paragraph. The seeds'
// longest title is 58 characters and their shortest paragraph about 40, but
// paragraphs are sentences: they end in punctuation, titles and headings don't.
const (
	maxTitleRunes   = 100
	maxHeadingRunes = 80
	maxHeadingWords = 12
	maxSignOffLines = 3 // name, role, organisation
)

var (
	// closingRE matches a sign-off line, optionally with the name on the
	// same line ("Groet, Peter Smit"). Groups: phrase, punctuation, name.
	closingRE = regexp.MustCompile(`(?i)^((?:met\s+)?(?:(?:vriendelijke|hartelijke|warme|lieve|beste|zonnige|collegiale)\s+)?groet(?:en)?|(?:(?:kind|best|warm|warmest|kindest|many)\s+)?regards|(?:(?:best|warm|warmest|kind)\s+)?wishes|(?:yours\s+)?(?:sincerely|truly|faithfully)|all\s+the\s+best|cheers)\s*([,.!]?)\s*(.*)$`)

	// salutationRE matches the opening of a greeting line.
	salutationRE = regexp.MustCompile(`(?i)^(beste|geachte|lieve|hallo|hoi|dag|goedemorgen|goedemiddag|goedenavond|dear|hi|hello|greetings)\b`)

	// listRE matches a bullet or numbered list item typed as plain text.
	listRE = regexp.MustCompile(`^(?:([-*•–·+])|(\d{1,3})[.)])\s+(\S.*)$`)
)

type blockKind int

const (
	paragraph blockKind = iota
	heading
	bullet
	numbered
)

// item is one body block before it is written as Markdown.
type item struct {
	kind   blockKind
	text   string // plain text, not yet escaped
	num    string // number of a numbered item
	tail   string // last physical line of a paragraph
	joined bool   // made of several hard-wrapped lines
	block  int    // blank-line separated block it came from
}

// parseText imports a plain-text edition such as the seeds: an optional
// byline, a title line, a salutation, paragraphs (one per line or separated
// by blank lines), short heading lines, and a sign-off block at the end.
func parseText(text string) (*newsletter.Edition, error) {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		// Trailing spaces (often no-break spaces from a word processor)
		// carry nothing and would turn into Markdown hard breaks.
		lines[i] = strings.TrimSpace(strings.TrimRightFunc(l, unicode.IsSpace))
	}
	var idx []int // indexes of non-empty lines
	for i, l := range lines {
		if l != "" {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, invalid("edition file is empty: write a title line and the text")
	}

	e := &newsletter.Edition{Format: FormatText}
	end := len(lines)
	if j, ok := signOff(lines, idx, e); ok {
		end = idx[j]
		idx = idx[:j]
	}
	isAuthor := func(i int) bool { return e.Author != "" && sameName(lines[i], e.Author) }

	k := 0
	// A byline repeating the sign-off's author ("Peter Smit" above
	// "VOORWOORD PETER SMIT") is not the title; Author already holds it.
	if k+1 < len(idx) && isAuthor(idx[k]) {
		k++
	}
	start := 0
	if k < len(idx) {
		start = idx[k]
		if l := lines[idx[k]]; !salutationRE.MatchString(l) && utf8.RuneCountInString(l) <= maxTitleRunes {
			e.Title = l
			start = idx[k] + 1
			k++
			if k+1 < len(idx) && isAuthor(idx[k]) {
				start = idx[k] + 1
				k++
			}
		}
	}
	if k < len(idx) {
		if g, rest, ok := splitGreeting(lines[idx[k]]); ok {
			e.Greeting = g
			lines[idx[k]] = capitalize(rest)
			start = idx[k]
		}
	}
	if start > end {
		start = end
	}

	cs := buildCasing(lines, e.Author)
	items := bodyItems(lines[start:end])
	if e.Title != "" && isShouting(e.Title) {
		// The subject line is what people see in their inbox: don't shout.
		e.Title = cs.readable(e.Title)
	}
	e.Subject = e.Title
	if e.Subject == "" && len(items) > 0 {
		e.Subject = subjectFrom(items[0].text)
	}
	e.Body = renderItems(items, cs)
	e.Language = guessLanguage(strings.Join(lines, " "))
	return e, nil
}

// signOff finds a closing phrase among the last lines, followed only by a
// few short name/role lines, fills e and returns its position in idx.
func signOff(lines []string, idx []int, e *newsletter.Edition) (int, bool) {
	for j := len(idx) - 1; j >= 1 && j >= len(idx)-1-maxSignOffLines; j-- {
		m := closingRE.FindStringSubmatch(lines[idx[j]])
		if m == nil {
			continue
		}
		name := strings.TrimSpace(m[3])
		var after []string
		for _, i := range idx[j+1:] {
			after = append(after, lines[i])
		}
		limit := maxSignOffLines
		if name != "" {
			if r, _ := utf8.DecodeRuneInString(name); !unicode.IsUpper(r) || !nameLike(name) {
				continue
			}
			limit--
		}
		if len(after) > limit || !all(after, nameLike) {
			continue
		}
		if name == "" && len(after) > 0 {
			name, after = after[0], after[1:]
		}
		e.SignOff = m[1] + m[2]
		e.Author = name
		e.AuthorRole = strings.Join(after, ", ")
		return j, true
	}
	return 0, false
}

// nameLike reports whether s could be a name or role line of a sign-off:
// short, not a sentence, not a link.
func nameLike(s string) bool {
	return s != "" && utf8.RuneCountInString(s) <= 80 && len(strings.Fields(s)) <= 8 &&
		!strings.ContainsAny(lastRune(s), ".!?;,") && !strings.Contains(s, "://")
}

func all(ss []string, f func(string) bool) bool {
	for _, s := range ss {
		if !f(s) {
			return false
		}
	}
	return true
}

func sameName(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

// splitGreeting splits a salutation line into the greeting ("Beste
// partners,") and the text after it on the same line.
func splitGreeting(l string) (greeting, rest string, ok bool) {
	if !salutationRE.MatchString(l) {
		return "", "", false
	}
	g := l
	if p := strings.IndexAny(l, ",!:"); p >= 0 {
		g, rest = l[:p+1], strings.TrimSpace(l[p+1:])
	} else if utf8.RuneCountInString(l) > 60 {
		return "", "", false
	}
	// "Dag 1 van het congres: ..." starts like a greeting but is not one.
	if utf8.RuneCountInString(g) > 80 || len(strings.Fields(g)) > 10 || strings.ContainsAny(g, "0123456789") {
		return "", "", false
	}
	return g, rest, true
}

func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if !unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

func lastRune(s string) string {
	r, _ := utf8.DecodeLastRuneInString(s)
	return string(r)
}

// bodyItems groups body lines into blocks. Blank lines separate blocks; a
// single newline separates paragraphs too (seeds 001 and 003 write one line
// per paragraph), unless the text is hard-wrapped: a line of typical wrap
// width that stops mid-sentence before a line starting in lower case.
func bodyItems(lines []string) []item {
	var items []item
	block := 0
	prevBlank := true
	for _, l := range lines {
		if l == "" {
			if !prevBlank {
				block++
			}
			prevBlank = true
			continue
		}
		if m := listRE.FindStringSubmatch(l); m != nil {
			it := item{kind: bullet, text: m[3], block: block}
			if m[2] != "" {
				it.kind, it.num = numbered, m[2]
			}
			items = append(items, it)
			prevBlank = false
			continue
		}
		if !prevBlank && len(items) > 0 {
			last := &items[len(items)-1]
			if last.kind == paragraph && wrapped(last.tail, l) {
				last.text += " " + l
				last.tail = l
				last.joined = true
				continue
			}
		}
		items = append(items, item{kind: paragraph, text: l, tail: l, block: block})
		prevBlank = false
	}
	for i := range items {
		if items[i].kind == paragraph && !items[i].joined && headingLike(items[i].text) &&
			i+1 < len(items) && (items[i+1].kind != paragraph || !headingLike(items[i+1].text)) {
			items[i].kind = heading
		}
	}
	return items
}

// wrapped reports whether next continues the paragraph whose last physical
// line is tail.
func wrapped(tail, next string) bool {
	n := utf8.RuneCountInString(tail)
	r, _ := utf8.DecodeRuneInString(next)
	return n >= 30 && n <= maxTitleRunes && !strings.ContainsAny(lastRune(tail), ".!?:;”\"") && unicode.IsLower(r)
}

// headingLike reports whether a line reads as a sub-heading: short, starting
// with a capital or digit, not ending like a sentence, not a link.
func headingLike(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	if !unicode.IsUpper(r) && !unicode.IsDigit(r) {
		return false
	}
	if utf8.RuneCountInString(s) > maxHeadingRunes || len(strings.Fields(s)) > maxHeadingWords {
		return false
	}
	if strings.ContainsAny(lastRune(s), ".,;:!…") || strings.Contains(s, "://") || strings.HasPrefix(strings.ToLower(s), "www.") {
		return false
	}
	return true
}

// subjectFrom makes a subject from the first paragraph when the text has no
// title line: its first sentence, shortened at a word if it is long.
func subjectFrom(s string) string {
	if i := strings.IndexAny(s, ".!?"); i > 0 {
		s = s[:i]
	}
	if r := []rune(s); len(r) > maxTitleRunes {
		cut := string(r[:80])
		if sp := strings.LastIndexByte(cut, ' '); sp > 0 {
			cut = cut[:sp]
		}
		s = cut + "…"
	}
	return strings.TrimSpace(s)
}

func renderItems(items []item, cs casing) string {
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			// Consecutive list items of one block form one tight list.
			prev := items[i-1]
			if (it.kind == bullet || it.kind == numbered) && prev.kind == it.kind && prev.block == it.block {
				b.WriteString("\n")
			} else {
				b.WriteString("\n\n")
			}
		}
		switch it.kind {
		case heading:
			t := it.text
			if isShouting(t) {
				t = cs.readable(t)
			}
			b.WriteString("## " + inline(t, true))
		case bullet:
			b.WriteString("- " + inline(it.text, false))
		case numbered:
			b.WriteString(it.num + ". " + inline(it.text, false))
		default:
			b.WriteString(blockStart(inline(it.text, false)))
		}
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

var (
	nlWords = wordSet("de het een en van dat niet op met voor zijn ook wij jullie naar bij wordt worden deze maar nog")
	enWords = wordSet("the and of to that not on with for are also you our this will be from have has your")
)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// guessLanguage tells English from Dutch by common words. Dutch is the
// default: only clearly English text is marked "en".
func guessLanguage(s string) string {
	nl, en := 0, 0
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if nlWords[w] {
			nl++
		}
		if enWords[w] {
			en++
		}
	}
	if en >= 5 && en > 2*nl {
		return "en"
	}
	return "nl"
}

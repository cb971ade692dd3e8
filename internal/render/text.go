package render

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// The text part is written here rather than by hermes.GeneratePlainText:
// its html2text puts a space before punctuation that follows an inline
// element ("Beste Jan ,") and writes links as "text ( url )".

// textWidth is where body paragraphs wrap. Long words (URLs) are never split.
const textWidth = 72

// bodyText renders sanitised body HTML as plain text: blocks separated by
// blank lines, headings underlined, links as "text (url)", no entities.
func bodyText(fragment string) string {
	nodes, err := html.ParseFragment(strings.NewReader(fragment), &html.Node{
		Type: html.ElementNode, Data: "div", DataAtom: atom.Div,
	})
	if err != nil { // cannot happen on a strings.Reader; fall back to nothing rather than markup
		return ""
	}
	w := &textWriter{}
	for _, n := range nodes {
		w.block(n, "")
	}
	w.flushInline("")
	return strings.Join(w.blocks, "\n\n")
}

// paragraphText is the plain text of the fragment's first paragraphs
// (headings, lists and quotes left out), until it has enough runes.
func paragraphText(fragment string, enough int) string {
	nodes, err := html.ParseFragment(strings.NewReader(fragment), &html.Node{
		Type: html.ElementNode, Data: "div", DataAtom: atom.Div,
	})
	if err != nil {
		return ""
	}
	var parts []string
	n := 0
	for _, nd := range nodes {
		if nd.Type != html.ElementNode || nd.DataAtom != atom.P || n >= enough {
			continue
		}
		t := strings.Join(strings.Fields(strings.ReplaceAll(inlineChildren(nd), brk, " ")), " ")
		if t != "" {
			parts = append(parts, t)
			n += utf8.RuneCountInString(t)
		}
	}
	return strings.Join(parts, " ")
}

type textWriter struct {
	blocks []string
	inline strings.Builder // loose inline content outside any block element
}

func (w *textWriter) add(s string) {
	if strings.TrimSpace(s) != "" {
		w.blocks = append(w.blocks, s)
	}
}

func (w *textWriter) flushInline(prefix string) {
	if t := strings.TrimSpace(collapse(w.inline.String())); t != "" {
		w.add(wrap(t, prefix, prefix))
	}
	w.inline.Reset()
}

// block renders n as one or more blocks, each line starting with prefix.
func (w *textWriter) block(n *html.Node, prefix string) {
	if n.Type == html.TextNode || (n.Type == html.ElementNode && isInline(n.DataAtom)) {
		w.inline.WriteString(inlineText(n))
		return
	}
	if n.Type != html.ElementNode {
		return
	}
	w.flushInline(prefix)
	switch n.DataAtom {
	case atom.P:
		w.add(wrap(strings.TrimSpace(collapse(inlineChildren(n))), prefix, prefix))
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		t := strings.TrimSpace(collapse(inlineChildren(n)))
		rule := "-"
		if n.DataAtom == atom.H1 {
			rule = "="
		}
		w.add(prefix + t + "\n" + prefix + strings.Repeat(rule, utf8.RuneCountInString(t)))
	case atom.Ul, atom.Ol:
		var items []string
		num := 1
		if s, err := strconv.Atoi(attr(n, "start")); err == nil {
			num = s
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.DataAtom != atom.Li {
				continue
			}
			marker := "- "
			if n.DataAtom == atom.Ol {
				marker = strconv.Itoa(num) + ". "
				num++
			}
			sub := &textWriter{}
			for cc := c.FirstChild; cc != nil; cc = cc.NextSibling {
				sub.block(cc, "")
			}
			sub.flushInline("")
			item := strings.Join(sub.blocks, "\n")
			indent := strings.Repeat(" ", utf8.RuneCountInString(marker))
			lines := strings.Split(item, "\n")
			for i, l := range lines {
				if i == 0 {
					lines[i] = prefix + marker + l
				} else if l != "" {
					lines[i] = prefix + indent + l
				}
			}
			items = append(items, strings.Join(lines, "\n"))
		}
		w.add(strings.Join(items, "\n"))
	case atom.Blockquote:
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			w.block(c, prefix+"> ")
		}
		w.flushInline(prefix + "> ")
	case atom.Pre:
		t := strings.TrimRight(textContent(n), "\n")
		w.add(prefix + strings.ReplaceAll(t, "\n", "\n"+prefix))
	case atom.Hr:
		w.add(prefix + strings.Repeat("-", 20))
	default:
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			w.block(c, prefix)
		}
		w.flushInline(prefix)
	}
}

func isInline(a atom.Atom) bool {
	switch a {
	case atom.A, atom.Em, atom.Strong, atom.Del, atom.Code, atom.Img, atom.Br, atom.Span:
		return true
	}
	return false
}

func inlineChildren(n *html.Node) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(inlineText(c))
	}
	return b.String()
}

// inlineText renders inline content without Markdown markup: emphasis
// is plain text, links are "text (url)", images "alt (url)". A line break
// from <br> is brk and survives collapse; newlines inside text (soft line
// breaks of the source) are spaces, so the text part reflows them.
func inlineText(n *html.Node) string {
	switch n.Type {
	case html.TextNode:
		return strings.ReplaceAll(n.Data, "\n", " ")
	case html.ElementNode:
	default:
		return ""
	}
	switch n.DataAtom {
	case atom.Br:
		return brk
	case atom.Img:
		alt, src := strings.TrimSpace(attr(n, "alt")), attr(n, "src")
		switch {
		case src == "":
			return alt
		case alt == "":
			return src
		}
		return alt + " (" + src + ")"
	case atom.A:
		t := inlineChildren(n)
		tt := strings.TrimSpace(t)
		href := attr(n, "href")
		switch {
		case href == "" || "mailto:"+tt == href: // autolinked address: the text says it all
			return t
		case tt == "" || tt == href:
			return href
		}
		return t + " (" + href + ")"
	}
	return inlineChildren(n)
}

// brk marks a hard line break (<br>) until collapse turns it into "\n".
const brk = "\x00"

func textContent(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(textContent(c))
	}
	return b.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// collapse folds runs of white space to one space, keeping the hard
// line breaks (brk) as "\n".
func collapse(s string) string {
	lines := strings.Split(s, brk)
	for i, l := range lines {
		lines[i] = strings.Join(words(l), " ")
	}
	return strings.Join(lines, "\n")
}

// words splits s at ASCII white space. A no-break space between two
// characters (as in "16\u00a0januari") is part of the word: the text part
// never breaks there. One at a word's edge is word-processor residue and
// goes.
func words(s string) []string {
	ws := strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
	})
	out := ws[:0]
	for _, w := range ws {
		if w = strings.Trim(w, "\u00a0"); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// wrap breaks each line of s into lines of at most textWidth runes
// (prefix included), prefixing every output line. Words are never split
// (a longer word gets a line of its own), and the breaks are chosen so the
// lines are about equally full rather than greedily, which would leave
// short ragged lines.
func wrap(s, first, rest string) string {
	var b strings.Builder
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		prefix := first
		if i > 0 {
			prefix = rest
		}
		ws := words(line)
		width := textWidth - utf8.RuneCountInString(rest)
		for j, l := range balance(ws, width) {
			if j > 0 {
				b.WriteByte('\n')
				prefix = rest
			}
			b.WriteString(prefix)
			b.WriteString(strings.Join(ws[l[0]:l[1]], " "))
		}
		if len(ws) == 0 {
			b.WriteString(strings.TrimRight(prefix, " "))
		}
	}
	return b.String()
}

// balance splits words into lines of at most width runes, minimising the
// sum of the squared free space of every line but the last (the classic
// minimum-raggedness line breaking), and of a last line under a third of it. It returns [start, end) word ranges.
func balance(words []string, width int) [][2]int {
	n := len(words)
	if n == 0 {
		return nil
	}
	lens := make([]int, n)
	for i, w := range words {
		lens[i] = utf8.RuneCountInString(w)
	}
	const inf = int(^uint(0) >> 2)
	cost := make([]int, n+1) // cost[i]: best cost of words[i:]
	next := make([]int, n+1)
	for i := n - 1; i >= 0; i-- {
		cost[i] = inf
		lineLen := -1
		for j := i; j < n; j++ {
			lineLen += 1 + lens[j]
			if lineLen > width && j > i {
				break
			}
			var c int
			switch {
			case j == n-1 && i > 0:
				// The last line may be shorter, but not a word or two
				// dangling under full lines.
				if short := width/3 - lineLen; short > 0 {
					c = short * short
				}
			case j == n-1:
			case lineLen > width:
				c = 0 // one overlong word: it has to be alone
			default:
				free := width - lineLen
				c = free * free
			}
			if c+cost[j+1] < cost[i] {
				cost[i], next[i] = c+cost[j+1], j+1
			}
		}
	}
	var out [][2]int
	for i := 0; i < n; i = next[i] {
		out = append(out, [2]int{i, next[i]})
	}
	return out
}

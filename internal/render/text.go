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

// inlineText renders inline content. A "\n" from <br> survives collapse.
func inlineText(n *html.Node) string {
	switch n.Type {
	case html.TextNode:
		return n.Data
	case html.ElementNode:
	default:
		return ""
	}
	switch n.DataAtom {
	case atom.Br:
		return "\n"
	case atom.Img:
		if alt := strings.TrimSpace(attr(n, "alt")); alt != "" {
			return "[" + alt + "]"
		}
		return ""
	case atom.Em:
		return "*" + inlineChildren(n) + "*"
	case atom.Strong:
		return "**" + inlineChildren(n) + "**"
	case atom.Del:
		return "~" + inlineChildren(n) + "~"
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

// collapse folds runs of white space to one space, keeping "\n" from <br>.
func collapse(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// wrap breaks each line of s at width runes, prefixing every output line.
func wrap(s, first, rest string) string {
	var b strings.Builder
	prefix := first
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
			prefix = rest
		}
		n := 0
		b.WriteString(prefix)
		for j, word := range strings.Fields(line) {
			wl := utf8.RuneCountInString(word)
			if j > 0 {
				if n+1+wl > textWidth-utf8.RuneCountInString(prefix) {
					b.WriteByte('\n')
					b.WriteString(rest)
					prefix = rest
					n = 0
				} else {
					b.WriteByte(' ')
					n++
				}
			}
			b.WriteString(word)
			n += wl
		}
	}
	return b.String()
}

package render

import (
	"bytes"
	"html/template"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"newsletter"
)

// markdown converts CommonMark without raw HTML (goldmark's default drops
// it); bluemonday below is the allow-list that decides what survives.
var markdown = goldmark.New(goldmark.WithExtensions(extension.Linkify, extension.Strikethrough))

// policy is the allow-list for body HTML. It only admits what goldmark
// emits for ordinary Markdown; links and images must be absolute http(s)
// (or mailto for links) because relative URLs mean nothing in a mailbox.
var policy = newPolicy()

func newPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
		"em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li")
	p.AllowAttrs("href", "title").OnElements("a")
	p.AllowAttrs("src", "alt", "title").OnElements("img")
	p.AllowAttrs("start").Matching(bluemonday.Integer).OnElements("ol")
	p.AllowURLSchemes("http", "https", "mailto")
	p.AllowRelativeURLs(false)
	p.RequireParseableURLs(true)
	// Web clients open links in a new tab; noopener is added with it.
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.RequireNoReferrerOnFullyQualifiedLinks(true)
	return p
}

// bodyHTML converts the edition body to sanitised HTML. An image without
// alt text gets l.Image, so no image is without one.
func bodyHTML(md string, l labels) (template.HTML, error) {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(md), &buf); err != nil {
		return "", err
	}
	out := policy.SanitizeBytes(buf.Bytes())
	out = imgTag.ReplaceAllFunc(out, func(tag []byte) []byte {
		if hasAlt.Match(tag) {
			return tag
		}
		tag = bytes.Replace(tag, []byte(` alt=""`), nil, 1)
		return append([]byte(`<img alt="`+template.HTMLEscapeString(l.Image)+`"`), tag[len("<img"):]...)
	})
	return template.HTML(out), nil
}

// Sanitised markup is regular: bluemonday writes every attribute quoted.
var (
	imgTag = regexp.MustCompile(`<img\b[^>]*>`)
	hasAlt = regexp.MustCompile(` alt="[^"]+"`)
)

// Excerpt is what the archive index shows of e: its preheader, or else
// the start of its body as plain text, at most max runes, cut at a word.
func Excerpt(e *newsletter.Edition, max int) string {
	if p := strings.Join(strings.Fields(e.Preheader), " "); p != "" {
		return clipWords(p, max)
	}
	l, ok := texts[e.Language]
	if !ok {
		l = texts["nl"]
	}
	h, err := bodyHTML(e.Body, l)
	if err != nil {
		return ""
	}
	return clipWords(paragraphText(string(h), max), max)
}

// clipWords shortens s to at most max runes at a word boundary, with "…".
func clipWords(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	cut := string(r[:max-1])
	if i := strings.LastIndexByte(cut, ' '); i > max/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:.–-") + "…"
}

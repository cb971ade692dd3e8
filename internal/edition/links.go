package edition

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"golang.org/x/net/html"

	"newsletter"
)

// Link is one link of an edition. Problem is "" when the link is fine to
// send; otherwise it starts with what is wrong ("malformed", "not http(s)",
// "insecure http://", "missing host", ...) and says how to fix it.
type Link struct {
	URL     string `json:"url"`
	Text    string `json:"text,omitempty"`
	Problem string `json:"problem,omitempty"`
	// Kind says where the link is: "link", "image", "autolink",
	// "definition" (an unused reference definition), "html", "cta", "hero".
	Kind string `json:"kind"`
	// Note says something worth knowing about a link that is fine, such as
	// that a mailto: link opens the reader's mail program.
	Note string `json:"note,omitempty"`
}

// linkParser reads bodies the way a GFM renderer would, so bare URLs that a
// renderer turns into links are checked too.
var linkParser = goldmark.New(goldmark.WithExtensions(extension.Linkify, extension.Strikethrough, extension.Table))

// Links lists every link in the edition (body Markdown, call-to-action, hero
// image) and flags problems. It works offline: it never fetches a URL.
func Links(e *newsletter.Edition) []Link {
	var out []Link
	if e.HeroImageURL != "" {
		out = append(out, checkLink(Link{URL: e.HeroImageURL, Text: e.HeroImageAlt, Kind: "hero"}, true))
	}
	out = append(out, bodyLinks(e.Body)...)
	if e.CTAURL != "" {
		out = append(out, checkLink(Link{URL: e.CTAURL, Text: e.CTAText, Kind: "cta"}, false))
	}
	return out
}

func bodyLinks(body string) []Link {
	src := []byte(body)
	pc := parser.NewContext()
	doc := linkParser.Parser().Parse(text.NewReader(src), parser.WithContext(pc))
	var out []Link
	used := map[string]bool{}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			used[string(n.Destination)] = true
			out = append(out, checkLink(Link{URL: string(n.Destination), Text: plainText(n, src), Kind: "link"}, false))
		case *ast.Image:
			used[string(n.Destination)] = true
			out = append(out, checkLink(Link{URL: string(n.Destination), Text: plainText(n, src), Kind: "image"}, true))
		case *ast.AutoLink:
			u := string(n.URL(src))
			if n.AutoLinkType == ast.AutoLinkEmail && !strings.HasPrefix(strings.ToLower(u), "mailto:") {
				u = "mailto:" + u
			}
			l := checkLink(Link{URL: u, Text: string(n.Label(src)), Kind: "autolink"}, false)
			if n.Protocol != nil && l.Problem != "" && strings.HasPrefix(l.Problem, "insecure") {
				l.Problem = "insecure http://: a bare www. address is sent as http://; write https://" + string(n.Label(src))
			}
			out = append(out, l)
		case *ast.HTMLBlock:
			var b bytes.Buffer
			for i := 0; i < n.Lines().Len(); i++ {
				seg := n.Lines().At(i)
				b.Write(seg.Value(src))
			}
			if n.HasClosure() {
				cl := n.ClosureLine
				b.Write(cl.Value(src))
			}
			out = append(out, htmlLinks(b.String())...)
		case *ast.RawHTML:
			var b bytes.Buffer
			for i := 0; i < n.Segments.Len(); i++ {
				seg := n.Segments.At(i)
				b.Write(seg.Value(src))
			}
			out = append(out, htmlLinks(b.String())...)
		}
		return ast.WalkContinue, nil
	})
	// A reference definition nobody uses is still a URL in the source; an
	// editor who meant to use it wants to know it is broken.
	for _, ref := range pc.References() {
		if !used[string(ref.Destination())] {
			l := checkLink(Link{URL: string(ref.Destination()), Text: string(ref.Label()), Kind: "definition"}, false)
			l.Note = strings.TrimPrefix(l.Note+"; defined but not used in the text", "; ")
			out = append(out, l)
		}
	}
	return out
}

func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(src))
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.AutoLink:
			b.Write(c.Label(src))
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(b.String())
}

// htmlLinks finds a href and img src in raw HTML an editor put in the body.
func htmlLinks(s string) []Link {
	var out []Link
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return out
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		t := z.Token()
		want, image := "", false
		switch t.Data {
		case "a", "area":
			want = "href"
		case "img":
			want, image = "src", true
		default:
			continue
		}
		for _, a := range t.Attr {
			if a.Key == want {
				text := ""
				if image {
					for _, a2 := range t.Attr {
						if a2.Key == "alt" {
							text = a2.Val
						}
					}
				}
				out = append(out, checkLink(Link{URL: a.Val, Text: text, Kind: "html"}, image))
			}
		}
	}
}

// checkLink fills Problem (and Note) for l. Images must be https: a mail
// client shows nothing, or a warning, for anything else.
func checkLink(l Link, image bool) Link {
	l.Problem, l.Note = problem(l.URL, image)
	return l
}

func problem(raw string, image bool) (problem, note string) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "malformed: the URL is empty; write the full https:// address", ""
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "malformed: the URL contains a space or control character; remove it or write it as %20", ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "malformed: " + parseErr(err) + "; check the address", ""
	}
	switch scheme := strings.ToLower(u.Scheme); scheme {
	case "":
		switch low := strings.ToLower(s); {
		case strings.HasPrefix(low, "http//") || strings.HasPrefix(low, "https//"):
			return "malformed: the colon after http(s) is missing; write https://", ""
		case strings.HasPrefix(s, "//"):
			return "missing scheme: write https:" + s, ""
		case strings.HasPrefix(s, "#"):
			return "relative URL: an #anchor link does not work in every mail client; link to the web page instead", ""
		case looksLikeHost(s):
			return "missing scheme: write https://" + s, ""
		}
		return "relative URL: an email needs a full address; write https://…", ""
	case "mailto", "tel":
		if image {
			return fmt.Sprintf("not http(s): an image cannot come from %s:; use an https:// image URL", scheme), ""
		}
		if u.Opaque == "" || scheme == "mailto" && !strings.Contains(u.Opaque, "@") {
			return fmt.Sprintf("malformed: %s: link without an address", scheme), ""
		}
		if scheme == "mailto" {
			return "", "mailto: link, opens the reader's mail program"
		}
		return "", "tel: link, dials a phone number"
	case "http", "https":
		if u.Host == "" || u.Hostname() == "" {
			return "missing host: write the address as https://example.org/…", ""
		}
		if u.User != nil {
			return "malformed: the URL contains a user name or password before the host; remove it", ""
		}
		if p := hostProblem(u.Hostname()); p != "" {
			return p, ""
		}
		if scheme == "http" {
			return "insecure http://: use https:// (most sites support it, and mail clients warn about plain http)", ""
		}
		return "", ""
	default:
		return fmt.Sprintf("not http(s): %s: links do not work (or are blocked) in email; use an https:// link", scheme), ""
	}
}

func parseErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// fileExts are endings that make "pagina.html" a relative path, not a host.
var fileExts = wordSet("html htm php asp aspx pdf jpg jpeg png gif svg doc docx txt md")

func looksLikeHost(s string) bool {
	host, _, _ := strings.Cut(s, "/")
	tld := strings.ToLower(host[strings.LastIndexByte(host, '.')+1:])
	return strings.Contains(host, ".") && hostProblem(host) == "" && !fileExts[tld]
}

// hostProblem checks a host name label by label; IDNs (Unicode letters) and
// IP addresses are fine.
func hostProblem(h string) string {
	if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
		return ""
	}
	h = strings.TrimSuffix(h, ".")
	if !strings.Contains(h, ".") {
		return fmt.Sprintf("malformed: host %q is not a full domain name (missing .nl, .com…?)", h)
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return fmt.Sprintf("malformed: host %q has an empty or invalid part", h)
		}
		for _, r := range label {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-') {
				return fmt.Sprintf("malformed: host %q contains %q", h, r)
			}
		}
	}
	return ""
}

package render

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/url"
	"regexp"
	"strings"

	"github.com/matcornic/hermes/v2"

	"newsletter"
)

// Brand is what every email of a Renderer shares.
type Brand struct {
	ProductName   string // e.g. "Leerwerkakkoord"
	ProductLink   string // absolute http(s) URL of the programme's site
	LogoURL       string // optional absolute http(s) URL
	FooterAddress string // postal address shown in the footer
	PrimaryColor  string // "#RRGGBB"; headings and links
	ButtonColor   string // "#RRGGBB"; call-to-action button
	Copyright     string // optional footer line
	// NeutralGreeting replaces, per language ("nl", "en"), a greeting that
	// uses the recipient's name when the recipient has none; languages
	// missing or empty here get "Beste partner," and "Dear partner,".
	NeutralGreeting map[string]string
}

// Renderer renders editions for one brand. It is safe for concurrent use.
type Renderer struct {
	brand  Brand
	html   string                 // theme template with colours filled in
	tokens func() (string, error) // placeholder token base; tests fix it
}

var hexColor = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// New validates b and returns a Renderer. Empty colours get defaults.
func New(b Brand) (*Renderer, error) {
	if strings.TrimSpace(b.ProductName) == "" {
		return nil, newsletter.Errorf(newsletter.EINVALID, "brand: ProductName is empty; set the programme's name")
	}
	if err := checkURL("brand: ProductLink", b.ProductLink, false); err != nil {
		return nil, err
	}
	if b.LogoURL != "" {
		if err := checkURL("brand: LogoURL", b.LogoURL, false); err != nil {
			return nil, err
		}
	}
	if b.PrimaryColor == "" {
		b.PrimaryColor = "#1F4E79"
	}
	if b.ButtonColor == "" {
		b.ButtonColor = b.PrimaryColor
	}
	for _, c := range []struct{ name, v string }{{"PrimaryColor", b.PrimaryColor}, {"ButtonColor", b.ButtonColor}} {
		if !hexColor.MatchString(c.v) {
			return nil, newsletter.Errorf(newsletter.EINVALID, "brand: %s %q is not a colour; write it as \"#RRGGBB\", e.g. \"#1F4E79\"", c.name, c.v)
		}
	}
	for lang, g := range b.NeutralGreeting {
		if strings.ContainsAny(g, "\r\n") {
			return nil, newsletter.Errorf(newsletter.EINVALID, "brand: the neutral greeting for %q must be one line, e.g. \"Beste partner,\"", lang)
		}
	}
	return &Renderer{brand: b, html: themeHTML(b.PrimaryColor, b.ButtonColor), tokens: newTokenBase}, nil
}

// checkURL accepts absolute http and https URLs (and mailto when allowed).
func checkURL(field, s string, mailto bool) error {
	u, err := url.Parse(s)
	ok := err == nil && s == strings.TrimSpace(s)
	if ok {
		switch strings.ToLower(u.Scheme) {
		case "http", "https":
			ok = u.Host != ""
		case "mailto":
			ok = mailto && u.Opaque != ""
		default:
			ok = false
		}
	}
	if !ok {
		want := "an absolute http(s) URL"
		if mailto {
			want += " or a mailto: address"
		}
		return newsletter.Errorf(newsletter.EINVALID, "%s %q is not %s; write it like \"https://example.org/page\"", field, s, want)
	}
	return nil
}

// Placeholder tokens are tokenBase + one slot letter. tokenBase is random
// per Render, so edition content cannot contain it except by a 2^-128
// chance, and Render checks the count anyway.

func newTokenBase() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "nl" + hex.EncodeToString(b[:]), nil
}

// Render renders e once, with placeholders for the per-recipient parts:
// the greeting when it uses the recipient's name, and the unsubscribe,
// preferences and web-version links (see Template).
func (r *Renderer) Render(e *newsletter.Edition) (*Template, error) {
	l, body, err := r.prepare(e)
	if err != nil {
		return nil, err
	}
	base, err := r.tokens()
	if err != nil {
		return nil, fmt.Errorf("render edition %s: placeholder token: %w", e.ID, err)
	}
	tok := func(s Slot) string { return base + string(slotLetters[s]) }

	p := r.page(e, l, body)
	g := parseGreeting(e.Greeting)
	want := 3 // the links
	if g.personal {
		p.Greeting = tok(SlotGreeting)
		want++
	} else {
		p.Greeting = g.prefix
	}
	p.Links = []link{
		{l.Unsubscribe, tok(SlotUnsubscribe)},
		{l.Preferences, tok(SlotPreferences)},
		{l.WebVersion, tok(SlotWeb)},
	}
	htmlOut, err := r.hermesHTML(p)
	if err != nil {
		return nil, fmt.Errorf("render edition %s: %w", e.ID, err)
	}
	textOut := pageText(p)

	t := &Template{Subject: e.Subject, greeting: g, neutral: r.neutral(e.Language, l)}
	if t.html, err = split(htmlOut, base); err != nil {
		return nil, fmt.Errorf("render edition %s: html: %w", e.ID, err)
	}
	if t.text, err = split(textOut, base); err != nil {
		return nil, fmt.Errorf("render edition %s: text: %w", e.ID, err)
	}
	// Every slot we placed must come back exactly once per part; anything
	// else means hermes or premailer changed a token, or content forged one.
	if len(t.html.slots) != want || len(t.text.slots) != want {
		return nil, newsletter.Errorf(newsletter.EINTERNAL, "render edition %s: expected %d placeholders, html has %d, text has %d",
			e.ID, want, len(t.html.slots), len(t.text.slots))
	}
	return t, nil
}

// neutral is the greeting for a recipient without a name.
func (r *Renderer) neutral(lang string, l labels) string {
	if g := strings.TrimSpace(r.brand.NeutralGreeting[lang]); g != "" {
		return g
	}
	return l.Neutral
}

// ArchiveLinks are where the public web version of an edition points.
type ArchiveLinks struct {
	Canonical string // the page itself (for <link rel="canonical">)
	Index     string // the archive index
	Subscribe string // the subscribe form
}

// Archive renders the public web version of e: the same content, no
// personal links, and a footer that leads to the other editions and to
// subscribing.
func (r *Renderer) Archive(e *newsletter.Edition, links ArchiveLinks) ([]byte, error) {
	for _, u := range []struct{ name, v string }{{"archive URL", links.Canonical}, {"archive index URL", links.Index}, {"subscribe URL", links.Subscribe}} {
		if err := checkURL(u.name, u.v, false); err != nil {
			return nil, err
		}
	}
	l, body, err := r.prepare(e)
	if err != nil {
		return nil, err
	}
	p := r.page(e, l, body)
	p.Preheader = "" // a web page has no inbox preview
	p.Why = ""       // nor a recipient
	p.Canonical = links.Canonical
	p.Greeting = e.Greeting
	if g := parseGreeting(e.Greeting); g.personal {
		p.Greeting = l.ArchiveGreeting
	}
	p.Note = fmt.Sprintf(l.ArchiveNote, r.brand.ProductName)
	p.Links = []link{{l.ArchiveIndex, links.Index}, {l.Subscribe, links.Subscribe}}
	out, err := r.hermesHTML(p)
	if err != nil {
		return nil, fmt.Errorf("archive edition %s: %w", e.ID, err)
	}
	return []byte(out), nil
}

// prepare validates e and renders its body.
func (r *Renderer) prepare(e *newsletter.Edition) (labels, template.HTML, error) {
	if e == nil {
		return labels{}, "", newsletter.Errorf(newsletter.EINVALID, "render: no edition")
	}
	l, ok := texts[e.Language]
	if !ok {
		return labels{}, "", newsletter.Errorf(newsletter.EINVALID, "edition %s: language %q is not supported; use \"nl\" or \"en\"", e.ID, e.Language)
	}
	if strings.TrimSpace(e.Subject) == "" || strings.ContainsAny(e.Subject, "\r\n") {
		return labels{}, "", newsletter.Errorf(newsletter.EINVALID, "edition %s: subject must be one non-empty line", e.ID)
	}
	if e.HeroImageURL != "" {
		if err := checkURL(fmt.Sprintf("edition %s: hero image", e.ID), e.HeroImageURL, false); err != nil {
			return labels{}, "", err
		}
	}
	if (e.CTAText == "") != (e.CTAURL == "") {
		return labels{}, "", newsletter.Errorf(newsletter.EINVALID, "edition %s: a call to action needs both a text and a URL", e.ID)
	}
	if e.CTAURL != "" {
		if err := checkURL(fmt.Sprintf("edition %s: call-to-action URL", e.ID), e.CTAURL, true); err != nil {
			return labels{}, "", err
		}
	}
	body, err := bodyHTML(e.Body, l)
	if err != nil {
		return labels{}, "", fmt.Errorf("edition %s: body: %w", e.ID, err)
	}
	return l, body, nil
}

func (r *Renderer) page(e *newsletter.Edition, l labels, body template.HTML) *page {
	p := &page{
		Lang: e.Language, Subject: e.Subject, Preheader: e.Preheader,
		ProductName: r.brand.ProductName, ProductLink: r.brand.ProductLink, LogoURL: r.brand.LogoURL,
		FooterAddress: r.brand.FooterAddress, Copyright: r.brand.Copyright,
		HeroURL: e.HeroImageURL, HeroAlt: e.HeroImageAlt, Title: e.Title,
		Body:    body,
		CTAText: e.CTAText, CTAURL: e.CTAURL,
		Why: fmt.Sprintf(l.Why, r.brand.ProductName),
	}
	if p.HeroAlt == "" {
		p.HeroAlt = e.Title // never an image without alt text
	}
	for _, s := range []sigLine{{Text: e.SignOff}, {Text: e.Author, Strong: true}, {Text: e.AuthorRole}} {
		if strings.TrimSpace(s.Text) != "" {
			p.Signature = append(p.Signature, s)
		}
	}
	return p
}

// hermesHTML runs hermes with a fresh Hermes value: GenerateHTML writes
// defaults into its receiver, so a shared one would race.
func (r *Renderer) hermesHTML(p *page) (string, error) {
	h := hermes.Hermes{
		Theme:         &theme{html: r.html, page: p},
		TextDirection: hermes.TDLeftToRight,
		Product: hermes.Product{
			Name: r.brand.ProductName, Link: r.brand.ProductLink, Logo: r.brand.LogoURL,
			Copyright: r.brand.Copyright, TroubleText: " ",
		},
	}
	return h.GenerateHTML(hermes.Email{})
}

// pageText is the plain-text part, laid out like the HTML.
func pageText(p *page) string {
	var parts []string
	add := func(s string) {
		if strings.TrimSpace(s) != "" {
			parts = append(parts, s)
		}
	}
	if p.Title != "" {
		add(p.Title + "\n" + strings.Repeat("=", len([]rune(p.Title))))
	}
	add(p.Greeting)
	add(bodyText(string(p.Body)))
	if p.CTAURL != "" {
		add(p.CTAText + ":\n" + p.CTAURL)
	}
	var sig []string
	for _, s := range p.Signature {
		sig = append(sig, s.Text)
	}
	add(strings.Join(sig, "\n"))

	foot := []string{"-- "}
	if p.Why != "" {
		foot = append(foot, wrap(p.Why, "", ""))
	}
	for _, l := range p.Links {
		foot = append(foot, l.Label+": "+l.URL)
	}
	if p.Note != "" {
		foot = append(foot, wrap(p.Note, "", ""))
	}
	for _, s := range []string{p.FooterAddress, p.Copyright} {
		if s != "" {
			foot = append(foot, s)
		}
	}
	add(strings.Join(foot, "\n"))
	return strings.Join(parts, "\n\n") + "\n"
}

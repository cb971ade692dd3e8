package render

import (
	"fmt"
	"html/template"
	"strings"

	"newsletter"
)

// ConfirmEmail is a double opt-in confirmation email, rendered per
// recipient (they are few and each carries its own link).
type ConfirmEmail struct {
	Subject    string
	HTML, Text []byte
}

// Confirm renders, in Dutch, the confirmation email asking the owner of an
// address to confirm its subscription to listName by following confirmURL.
func (r *Renderer) Confirm(listName, confirmURL string) (*ConfirmEmail, error) {
	return r.ConfirmIn("nl", listName, confirmURL)
}

// ConfirmIn is Confirm in language lang ("nl" or "en"; the list's).
func (r *Renderer) ConfirmIn(lang, listName, confirmURL string) (*ConfirmEmail, error) {
	l, err := serviceLabels(lang)
	if err != nil {
		return nil, err
	}
	if err := checkURL("confirmation link", confirmURL, false); err != nil {
		return nil, err
	}
	if strings.TrimSpace(listName) == "" {
		return nil, newsletter.Errorf(newsletter.EINVALID, "confirmation email: the list has no name; give it one with `newsletter lists rename SLUG --name NAME`")
	}
	name, brand := oneLine(listName), r.brand.ProductName
	f := func(s string) string { return format(s, name, brand) }
	paras := make([]string, len(l.ConfirmParas))
	for i, p := range l.ConfirmParas {
		paras[i] = f(p)
	}
	return r.serviceEmail(lang, l, serviceText{
		subject: f(l.ConfirmSubject), preheader: f(l.ConfirmPreheader), title: l.ConfirmTitle,
		paras: paras, ctaText: l.ConfirmButton, ctaURL: confirmURL, why: f(l.ConfirmWhy),
	})
}

// PreferencesLink renders, in Dutch, the email with a fresh link to the
// preferences page, for an address whose old link had expired and that
// asked for one.
func (r *Renderer) PreferencesLink(prefsURL string) (*ConfirmEmail, error) {
	return r.PreferencesLinkIn("nl", prefsURL)
}

// PreferencesLinkIn is PreferencesLink in language lang.
func (r *Renderer) PreferencesLinkIn(lang, prefsURL string) (*ConfirmEmail, error) {
	l, err := serviceLabels(lang)
	if err != nil {
		return nil, err
	}
	if err := checkURL("preferences link", prefsURL, false); err != nil {
		return nil, err
	}
	brand := oneLine(r.brand.ProductName)
	f := func(s string) string { return format(s, brand) }
	paras := make([]string, len(l.PrefsParas))
	for i, p := range l.PrefsParas {
		paras[i] = f(p)
	}
	return r.serviceEmail(lang, l, serviceText{
		subject: f(l.PrefsSubject), preheader: l.PrefsPreheader, title: l.PrefsTitle,
		paras: paras, ctaText: l.PrefsButton, ctaURL: prefsURL, why: f(l.PrefsWhy),
	})
}

func serviceLabels(lang string) (labels, error) {
	l, ok := texts[lang]
	if !ok {
		return labels{}, newsletter.Errorf(newsletter.EINVALID, "service email: language %q is not supported; use \"nl\" or \"en\"", lang)
	}
	return l, nil
}

// serviceText is what a service email (not an edition) says.
type serviceText struct {
	subject, preheader, title string
	paras                     []string
	ctaText, ctaURL, why      string
}

// serviceEmail renders a short service email: greeting, paragraphs, one
// button, in the brand's theme, with a plain-text part that spells the
// link out.
func (r *Renderer) serviceEmail(lang string, l labels, t serviceText) (*ConfirmEmail, error) {
	var body strings.Builder
	for _, p := range t.paras {
		body.WriteString("<p>" + template.HTMLEscapeString(p) + "</p>\n")
	}
	p := &page{
		Lang: lang, Subject: t.subject, Preheader: t.preheader,
		ProductName: r.brand.ProductName, ProductLink: r.brand.ProductLink, LogoURL: r.brand.LogoURL,
		FooterAddress: r.brand.FooterAddress, Copyright: r.brand.Copyright,
		Title: t.title, Greeting: l.ServiceGreeting,
		Body:    template.HTML(body.String()),
		CTAText: t.ctaText, CTAURL: t.ctaURL,
		Why: t.why,
	}
	html, err := r.hermesHTML(p)
	if err != nil {
		return nil, fmt.Errorf("render %q email: %w", t.title, err)
	}
	return &ConfirmEmail{Subject: t.subject, HTML: []byte(html), Text: []byte(pageText(p))}, nil
}

// format fills the verbs of a label; a label that uses none of the
// arguments is returned as it is (fmt would append "%!(EXTRA …)").
func format(label string, args ...any) string {
	if !strings.Contains(label, "%") {
		return label
	}
	return fmt.Sprintf(label, args...)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

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

// Confirm renders the confirmation email asking the owner of an address
// to confirm its subscription to listName by following confirmURL. It is
// Dutch with a short English line, as partners may be either.
func (r *Renderer) Confirm(listName, confirmURL string) (*ConfirmEmail, error) {
	if err := checkURL("confirmation link", confirmURL, false); err != nil {
		return nil, err
	}
	if strings.TrimSpace(listName) == "" {
		return nil, newsletter.Errorf(newsletter.EINVALID, "confirmation email: the list has no name; give it one with `newsletter lists rename SLUG --name NAME`")
	}
	return r.serviceEmail(serviceText{
		subject:   "Bevestig uw aanmelding: " + oneLine(listName),
		preheader: "Bevestig uw aanmelding voor " + oneLine(listName),
		title:     "Bevestig uw aanmelding",
		paras: []string{
			fmt.Sprintf("Iemand, waarschijnlijk u, heeft dit adres aangemeld voor de nieuwsbrief “%s” van %s. Klik op de knop om uw aanmelding te bevestigen. Pas daarna ontvangt u de nieuwsbrief.", listName, r.brand.ProductName),
			"Heeft u zich niet aangemeld? Dan hoeft u niets te doen: zonder bevestiging sturen wij u niets. De link is zeven dagen geldig.",
			fmt.Sprintf("Please confirm your subscription to “%s” with the button above; if you did not ask for it, ignore this email.", listName),
		},
		ctaText: "Ja, ik wil de nieuwsbrief ontvangen", ctaURL: confirmURL,
		why: fmt.Sprintf("U ontvangt deze e-mail omdat dit adres is aangemeld bij %s.", r.brand.ProductName),
	})
}

// PreferencesLink renders the email with a fresh link to the preferences
// page, for an address whose old link had expired and that asked for one.
func (r *Renderer) PreferencesLink(prefsURL string) (*ConfirmEmail, error) {
	if err := checkURL("preferences link", prefsURL, false); err != nil {
		return nil, err
	}
	return r.serviceEmail(serviceText{
		subject:   "Uw nieuwe link naar uw voorkeuren bij " + oneLine(r.brand.ProductName),
		preheader: "Kies welke nieuwsbrieven u ontvangt",
		title:     "Uw voorkeuren",
		paras: []string{
			fmt.Sprintf("U vroeg om een nieuwe link naar uw voorkeuren bij %s. Met de knop kiest u welke nieuwsbrieven u ontvangt, of meldt u zich af.", r.brand.ProductName),
			"Heeft u hier niet om gevraagd? Dan hoeft u niets te doen: er verandert niets.",
		},
		ctaText: "Naar mijn voorkeuren", ctaURL: prefsURL,
		why: fmt.Sprintf("U ontvangt deze e-mail omdat iemand, waarschijnlijk u, een nieuwe link vroeg voor dit adres bij %s.", r.brand.ProductName),
	})
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
func (r *Renderer) serviceEmail(t serviceText) (*ConfirmEmail, error) {
	var body strings.Builder
	for _, p := range t.paras {
		body.WriteString("<p>" + template.HTMLEscapeString(p) + "</p>\n")
	}
	p := &page{
		Lang: "nl", Subject: t.subject, Preheader: t.preheader,
		ProductName: r.brand.ProductName, ProductLink: r.brand.ProductLink, LogoURL: r.brand.LogoURL,
		FooterAddress: r.brand.FooterAddress, Copyright: r.brand.Copyright,
		Title: t.title, Greeting: "Beste lezer,",
		Body:    template.HTML(body.String()),
		CTAText: t.ctaText, CTAURL: t.ctaURL,
		Why: t.why,
	}
	html, err := r.hermesHTML(p)
	if err != nil {
		return nil, fmt.Errorf("render %q email: %w", t.title, err)
	}
	var text strings.Builder
	text.WriteString(p.Title + "\n" + strings.Repeat("=", len([]rune(p.Title))) + "\n\n" + p.Greeting + "\n\n")
	text.WriteString(t.paras[0] + "\n\n" + p.CTAText + ":\n" + t.ctaURL + "\n\n")
	for _, para := range t.paras[1:] {
		text.WriteString(para + "\n\n")
	}
	text.WriteString("-- \n" + p.Why + "\n")
	if p.FooterAddress != "" {
		text.WriteString(p.FooterAddress + "\n")
	}
	return &ConfirmEmail{Subject: t.subject, HTML: []byte(html), Text: []byte(text.String())}, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

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
	subject := "Bevestig uw aanmelding: " + oneLine(listName)
	paras := []string{
		fmt.Sprintf("Iemand, waarschijnlijk u, heeft dit adres aangemeld voor de nieuwsbrief “%s” van %s. Klik op de knop om uw aanmelding te bevestigen. Pas daarna ontvangt u de nieuwsbrief.", listName, r.brand.ProductName),
		"Heeft u zich niet aangemeld? Dan hoeft u niets te doen: zonder bevestiging sturen wij u niets. De link is zeven dagen geldig.",
		fmt.Sprintf("Please confirm your subscription to “%s” with the button above; if you did not ask for it, ignore this email.", listName),
	}
	var body strings.Builder
	for _, p := range paras {
		body.WriteString("<p>" + template.HTMLEscapeString(p) + "</p>\n")
	}
	p := &page{
		Lang: "nl", Subject: subject, Preheader: "Bevestig uw aanmelding voor " + oneLine(listName),
		ProductName: r.brand.ProductName, ProductLink: r.brand.ProductLink, LogoURL: r.brand.LogoURL,
		FooterAddress: r.brand.FooterAddress, Copyright: r.brand.Copyright,
		Title: "Bevestig uw aanmelding", Greeting: "Beste lezer,",
		Body:    template.HTML(body.String()),
		CTAText: "Ja, ik wil de nieuwsbrief ontvangen", CTAURL: confirmURL,
		Why: fmt.Sprintf("U ontvangt deze e-mail omdat dit adres is aangemeld bij %s.", r.brand.ProductName),
	}
	html, err := r.hermesHTML(p)
	if err != nil {
		return nil, fmt.Errorf("render confirmation email: %w", err)
	}
	var text strings.Builder
	text.WriteString(p.Title + "\n" + strings.Repeat("=", len([]rune(p.Title))) + "\n\n" + p.Greeting + "\n\n")
	text.WriteString(paras[0] + "\n\n" + p.CTAText + ":\n" + confirmURL + "\n\n" + paras[1] + "\n\n" + paras[2] + "\n\n-- \n" + p.Why + "\n")
	if p.FooterAddress != "" {
		text.WriteString(p.FooterAddress + "\n")
	}
	return &ConfirmEmail{Subject: subject, HTML: []byte(html), Text: []byte(text.String())}, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

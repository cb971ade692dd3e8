package render

import (
	"fmt"
	"html/template"
	"strings"
)

// page is everything the theme shows. It travels to the template inside
// the theme value (hermes exposes the theme as .Hermes.Theme; the template
// calls its Page method), which keeps it typed and away from hermes's own
// Body fields: those would send FreeMarkdown through blackfriday and add
// hermes's default greeting and signature.
type page struct {
	Lang, Subject, Preheader string
	Canonical                string // archive only

	ProductName, ProductLink, LogoURL, FooterAddress, Copyright string

	HeroURL, HeroAlt, Title string
	Greeting                string
	Body                    template.HTML // sanitised by bluemonday
	CTAText, CTAURL         string
	Signature               []sigLine

	Why   string
	Links []link // footer links: unsubscribe, preferences, web version; on the web version the archive index and subscribing
	Note  string // archive footer
}

type link struct{ Label, URL string }

// sigLine is one line of the signature block; the author's name is bold.
type sigLine struct {
	Text   string
	Strong bool
}

// theme is a hermes.Theme carrying one page. html is the template with the
// brand colours already substituted (they are validated "#RRGGBB").
// Its fields stay unexported: hermes merges defaults into the Theme with
// mergo, which walks exported fields and panics on ours.
type theme struct {
	html string
	page *page
}

// Page is called by the template.
func (t *theme) Page() *page { return t.page }

func (t *theme) Name() string         { return "newsletter" }
func (t *theme) HTMLTemplate() string { return t.html }

// PlainTextTemplate is only used by hermes.GeneratePlainText (the naive
// benchmark); Render writes the text part itself, see text.go.
func (t *theme) PlainTextTemplate() string { return plainSource }

// plainSource is simple HTML for hermes's html2text: no layout tables.
const plainSource = `{{ $p := .Hermes.Theme.Page -}}
{{ with $p.Title }}<h1>{{ . }}</h1>{{ end }}
<p>{{ $p.Greeting }}</p>
{{ $p.Body }}
{{ if $p.CTAURL }}<p>{{ $p.CTAText }}: {{ $p.CTAURL }}</p>{{ end }}
<p>{{ range $p.Signature }}{{ .Text }}<br>{{ end }}</p>
{{ with $p.Why }}<p>{{ . }}</p>{{ end }}
{{ range $p.Links }}<p>{{ .Label }}: <a href="{{ .URL }}">{{ .URL }}</a></p>{{ end }}
{{ with $p.FooterAddress }}<p>{{ . }}</p>{{ end }}`

func themeHTML(primary, button string) string {
	return strings.NewReplacer("PRIMARY_DARK", lighten(primary), "PRIMARY", primary, "BUTTON", button).Replace(themeSource)
}

// lighten mixes a "#RRGGBB" colour half with white: the brand colour as
// headings and links on a dark background, where the colour itself (often
// a dark blue) would be unreadable.
func lighten(c string) string {
	var r, g, b int
	if _, err := fmt.Sscanf(c, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return "#9CC3E6"
	}
	mix := func(v int) int { return v + (255-v)/2 }
	return fmt.Sprintf("#%02X%02X%02X", mix(r), mix(g), mix(b))
}

// themeSource is an html/template executed by hermes, then CSS-inlined by
// premailer. Rules under .nl-body style the sanitised edition body.
//
// The layout is fluid: the content table is 100% wide up to 600 px, so it
// fits a 320 px phone without sideways scrolling, images scale down, long
// words and URLs wrap, and buttons are at least 44 px high. The media
// queries stay in <head> (premailer cannot inline them): narrow screens get
// less padding, and clients in dark mode a dark palette, announced by
// color-scheme so they do not invert the colours themselves.
const themeSource = `<!DOCTYPE html>
{{- $p := .Hermes.Theme.Page }}
<html lang="{{ $p.Lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="x-apple-disable-message-reformatting">
<meta name="color-scheme" content="light dark">
<meta name="supported-color-schemes" content="light dark">
<title>{{ $p.Subject }}</title>
{{- if $p.Canonical }}
<link rel="canonical" href="{{ $p.Canonical }}">
{{- end }}
<style>
body { margin: 0; padding: 0; width: 100%; background-color: #F2F4F6; color: #333333; font-family: Arial, Helvetica, sans-serif; font-size: 16px; line-height: 1.5; -webkit-text-size-adjust: 100%; }
.wrapper { width: 100%; background-color: #F2F4F6; }
.content { width: 100%; max-width: 600px; margin: 0 auto; }
.masthead { padding: 24px 16px; text-align: center; }
.masthead a { color: PRIMARY; font-size: 20px; font-weight: bold; text-decoration: none; }
.logo { border: 0; max-width: 100%; height: auto; }
.card { background-color: #FFFFFF; color: #333333; padding: 32px; border-radius: 4px; overflow-wrap: break-word; word-wrap: break-word; }
.hero { display: block; width: 100%; max-width: 100%; height: auto; border: 0; margin: 0 0 24px 0; }
h1 { color: PRIMARY; font-size: 24px; line-height: 1.3; margin: 0 0 20px 0; }
.greeting { margin: 0 0 16px 0; }
.nl-body p { margin: 0 0 16px 0; }
.nl-body h1 { color: PRIMARY; font-size: 22px; line-height: 1.3; margin: 28px 0 12px 0; }
.nl-body h2 { color: PRIMARY; font-size: 20px; line-height: 1.3; margin: 28px 0 12px 0; }
.nl-body h3 { color: PRIMARY; font-size: 18px; line-height: 1.3; margin: 24px 0 8px 0; }
.nl-body h4 { color: PRIMARY; font-size: 16px; margin: 20px 0 8px 0; }
.nl-body h5 { color: PRIMARY; font-size: 16px; margin: 20px 0 8px 0; }
.nl-body h6 { color: PRIMARY; font-size: 16px; margin: 20px 0 8px 0; }
.nl-body a { color: PRIMARY; text-decoration: underline; word-break: break-word; overflow-wrap: anywhere; }
.nl-body img { max-width: 100%; height: auto; border: 0; }
.nl-body ul { margin: 0 0 16px 0; padding-left: 24px; }
.nl-body ol { margin: 0 0 16px 0; padding-left: 24px; }
.nl-body li { margin: 0 0 6px 0; }
.nl-body blockquote { margin: 0 0 16px 0; padding: 0 0 0 16px; border-left: 4px solid #DDDDDD; color: #555555; }
.nl-body pre { margin: 0 0 16px 0; padding: 12px; background-color: #F4F4F4; white-space: pre-wrap; word-break: break-word; font-family: Courier, monospace; font-size: 14px; }
.nl-body code { font-family: Courier, monospace; font-size: 14px; }
.nl-body hr { border: 0; border-top: 1px solid #DDDDDD; margin: 24px 0; }
.cta { margin: 8px 0 24px 0; }
.button { display: inline-block; background-color: BUTTON; color: #FFFFFF; font-size: 16px; font-weight: bold; line-height: 20px; text-decoration: none; padding: 14px 28px; border-radius: 4px; max-width: 100%; box-sizing: border-box; }
.signature { margin: 24px 0 0 0; }
.footer { padding: 24px 16px; text-align: center; color: #6B6B6B; font-size: 13px; line-height: 1.5; overflow-wrap: break-word; }
.footer p { margin: 0 0 10px 0; }
.footer a { color: #6B6B6B; text-decoration: underline; display: inline-block; padding: 6px 4px; }
@media only screen and (max-width: 600px) { .card { padding: 20px 16px !important; border-radius: 0 !important; } .masthead { padding: 16px !important; } }
@media (prefers-color-scheme: dark) {
body, .wrapper { background-color: #121212 !important; color: #E6E6E6 !important; }
.card { background-color: #1E1E1E !important; color: #E6E6E6 !important; }
h1, .nl-body h1, .nl-body h2, .nl-body h3, .nl-body h4, .nl-body h5, .nl-body h6, .masthead a, .nl-body a { color: PRIMARY_DARK !important; }
.nl-body blockquote { color: #BBBBBB !important; border-left-color: #444444 !important; }
.nl-body pre { background-color: #2A2A2A !important; }
.footer, .footer a { color: #A0A0A0 !important; }
}
</style>
</head>
<body>
{{- if $p.Preheader }}
<div class="preheader" style="display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all">{{ $p.Preheader }}</div>
{{- end }}
<table class="wrapper" role="presentation" width="100%" cellpadding="0" cellspacing="0">
<tr><td align="center">
<table class="content" role="presentation" width="600" cellpadding="0" cellspacing="0">
<tr><td class="masthead">
<a href="{{ $p.ProductLink }}" target="_blank" rel="noopener">
{{- if $p.LogoURL }}<img class="logo" src="{{ $p.LogoURL }}" alt="{{ $p.ProductName }}">{{ else }}{{ $p.ProductName }}{{ end -}}
</a>
</td></tr>
<tr><td class="card">
{{- if $p.HeroURL }}
<img class="hero" src="{{ $p.HeroURL }}" alt="{{ $p.HeroAlt }}" width="536">
{{- end }}
{{- if $p.Title }}
<h1>{{ $p.Title }}</h1>
{{- end }}
{{- if $p.Greeting }}
<p class="greeting">{{ $p.Greeting }}</p>
{{- end }}
<div class="nl-body">
{{ $p.Body }}</div>
{{- if $p.CTAURL }}
<p class="cta"><a class="button" href="{{ $p.CTAURL }}" target="_blank" rel="noopener">{{ $p.CTAText }}</a></p>
{{- end }}
{{- if $p.Signature }}
<p class="signature">
{{- range $i, $l := $p.Signature }}{{ if $i }}<br>{{ end }}{{ if $l.Strong }}<strong>{{ $l.Text }}</strong>{{ else }}{{ $l.Text }}{{ end }}{{ end -}}
</p>
{{- end }}
</td></tr>
<tr><td class="footer">
{{- with $p.Why }}
<p>{{ . }}</p>
{{- end }}
{{- with $p.Note }}
<p>{{ . }}</p>
{{- end }}
{{- if $p.Links }}
<p>
{{- range $i, $l := $p.Links }}{{ if $i }} | {{ end }}<a href="{{ $l.URL }}" target="_blank" rel="noopener">{{ $l.Label }}</a>{{ end -}}
</p>
{{- end }}
{{- with $p.FooterAddress }}
<p>{{ . }}</p>
{{- end }}
{{- with $p.Copyright }}
<p>{{ . }}</p>
{{- end }}
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>`

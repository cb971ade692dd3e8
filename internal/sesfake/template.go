package sesfake

import (
	"fmt"
	"strings"
)

// RenderTemplate fills an SES template the way SES does: Handlebars
// variables ({{name}} and {{{name}}}) replaced by the data's values
// without any escaping, \{{ written as a literal "{{" up to the next
// mustache, \\{{ as a backslash followed by a variable. A variable missing
// from the data is a rendering failure (SES sends nothing and reports a
// Rendering Failure event). Block helpers, partials and comments are not
// supported here and fail to render.
func RenderTemplate(tpl string, data map[string]string) (string, error) {
	var b strings.Builder
	b.Grow(len(tpl) + len(tpl)/8)
	for {
		i := strings.Index(tpl, "{{")
		if i < 0 {
			b.WriteString(tpl)
			return b.String(), nil
		}
		text := tpl[:i]
		switch {
		case strings.HasSuffix(text, `\\`):
			b.WriteString(text[:len(text)-1])
		case strings.HasSuffix(text, `\`):
			// Escaped: "{{" and what follows, up to the next mustache, are
			// literal.
			b.WriteString(text[:len(text)-1])
			rest := tpl[i+2:]
			j := strings.Index(rest, "{{")
			if j < 0 {
				j = len(rest)
			} else if strings.HasSuffix(rest[:j], `\`) {
				j-- // the next mustache is escaped itself
				if strings.HasSuffix(rest[:j], `\`) {
					j--
				}
			}
			b.WriteString("{{")
			b.WriteString(rest[:j])
			tpl = rest[j:]
			continue
		default:
			b.WriteString(text)
		}
		rest := tpl[i+2:]
		open, close := "{{", "}}"
		if strings.HasPrefix(rest, "{") {
			open, close, rest = "{{{", "}}}", rest[1:]
		}
		j := strings.Index(rest, close)
		if j < 0 {
			return "", fmt.Errorf("unclosed %s at offset %d", open, i)
		}
		if open == "{{" && strings.HasPrefix(rest[j+2:], "}") {
			return "", fmt.Errorf("parse error at offset %d: {{%s}}} closes with three braces what two opened", i, rest[:j])
		}
		name := strings.TrimSpace(rest[:j])
		if name == "" || strings.ContainsAny(name, "#/>!^&~{}= \t\n") || strings.HasPrefix(name, "else") {
			return "", fmt.Errorf("unsupported mustache %s%s%s at offset %d", open, rest[:j], close, i)
		}
		v, ok := data[name]
		if !ok {
			return "", fmt.Errorf("Attribute '%s' is not present in the rendering data.", name)
		}
		b.WriteString(v)
		tpl = rest[j+len(close):]
	}
}

package sesfake

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"newsletter/internal/jsonstr"
)

// RenderTemplate fills an SES template the way SES does: Handlebars
// variables ({{name}} and {{{name}}}) replaced by the data's values
// without any escaping, \{{ written as a literal "{{" up to the next
// mustache, \\{{ as a backslash followed by a variable. A variable missing
// from the data is a rendering failure (SES sends nothing and reports a
// Rendering Failure event). Block helpers, partials and comments are not
// supported here and fail to render.
func RenderTemplate(tpl string, data map[string]string) (string, error) {
	return compileTemplate(tpl).render(&tplData{defaults: data})
}

// compiledTemplate is a template parsed once for many renderings (the
// entries of a bulk call): its literal text and variables in order, and
// the structural failure, if any, a rendering reaches after them.
// FuzzCompiledTemplate compares it with a plain one-pass renderer.
type compiledTemplate struct {
	segs []segment
	err  error // what RenderTemplate fails with once every variable is present
	lits int   // bytes of literal text
}

// segment is literal text followed by a variable (name "" only for the
// text after the last one).
type segment struct{ lit, name string }

// compileTemplate parses tpl with RenderTemplate's rules.
func compileTemplate(tpl string) *compiledTemplate {
	c := &compiledTemplate{}
	var lit strings.Builder
	flush := func(name string) {
		c.segs = append(c.segs, segment{lit.String(), name})
		c.lits += lit.Len()
		lit.Reset()
	}
	for {
		i := strings.Index(tpl, "{{")
		if i < 0 {
			lit.WriteString(tpl)
			flush("")
			return c
		}
		text := tpl[:i]
		switch {
		case strings.HasSuffix(text, `\\`):
			lit.WriteString(text[:len(text)-1])
		case strings.HasSuffix(text, `\`):
			lit.WriteString(text[:len(text)-1])
			rest := tpl[i+2:]
			j := strings.Index(rest, "{{")
			if j < 0 {
				j = len(rest)
			} else if strings.HasSuffix(rest[:j], `\`) {
				j--
				if strings.HasSuffix(rest[:j], `\`) {
					j--
				}
			}
			lit.WriteString("{{")
			lit.WriteString(rest[:j])
			tpl = rest[j:]
			continue
		default:
			lit.WriteString(text)
		}
		rest := tpl[i+2:]
		open, close := "{{", "}}"
		if strings.HasPrefix(rest, "{") {
			open, close, rest = "{{{", "}}}", rest[1:]
		}
		j := strings.Index(rest, close)
		if j < 0 {
			c.err = fmt.Errorf("unclosed %s at offset %d", open, i)
			return c
		}
		if open == "{{" && strings.HasPrefix(rest[j+2:], "}") {
			c.err = fmt.Errorf("parse error at offset %d: {{%s}}} closes with three braces what two opened", i, rest[:j])
			return c
		}
		name := strings.TrimSpace(rest[:j])
		if name == "" || strings.ContainsAny(name, "#/>!^&~{}= \t\n") || strings.HasPrefix(name, "else") {
			c.err = fmt.Errorf("unsupported mustache %s%s%s at offset %d", open, rest[:j], close, i)
			return c
		}
		flush(name)
		tpl = rest[j+len(close):]
	}
}

// check is RenderTemplate's error for data d, without rendering.
func (c *compiledTemplate) check(d *tplData) error {
	for _, s := range c.segs {
		if s.name == "" {
			continue
		}
		if _, ok := d.get(s.name); !ok {
			return fmt.Errorf("Attribute '%s' is not present in the rendering data.", s.name)
		}
	}
	return c.err
}

// render is RenderTemplate(tpl, d).
func (c *compiledTemplate) render(d *tplData) (string, error) {
	if err := c.check(d); err != nil {
		return "", err
	}
	if len(c.segs) == 1 {
		return c.segs[0].lit, nil
	}
	n := c.lits
	for _, s := range c.segs {
		if s.name != "" {
			v, _ := d.get(s.name)
			n += len(v)
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range c.segs {
		b.WriteString(s.lit)
		if s.name != "" {
			v, _ := d.get(s.name)
			b.WriteString(v)
		}
	}
	return b.String(), nil
}

// tplData is the data an entry renders with: its own values (the last of
// a name wins) over the call's defaults, as SES merges them.
type tplData struct {
	own      []kv
	defaults map[string]string
}

type kv struct{ k, v string }

func (d *tplData) get(name string) (string, bool) {
	for i := len(d.own) - 1; i >= 0; i-- {
		if d.own[i].k == name {
			return d.own[i].v, true
		}
	}
	v, ok := d.defaults[name]
	return v, ok
}

// parseTemplateData decodes template data as templateData does, appending
// its values to own: a flat object of strings is read in place (no
// allocation unless a string has escapes), anything else by templateData.
func parseTemplateData(s string, own []kv) ([]kv, error) {
	if out, ok := flatStrings(s, own); ok {
		return out, nil
	}
	m, err := templateData(s)
	if err != nil {
		return own, err
	}
	for k, v := range m {
		own = append(own, kv{k, v})
	}
	return own, nil
}

// flatStrings reads s if it is a JSON object whose values are all
// strings, in valid UTF-8 without control characters; ok is false for anything else (which
// may still be valid: the caller decodes it the general way).
func flatStrings(s string, out []kv) (_ []kv, ok bool) {
	if !utf8.ValidString(s) || jsonstr.HasControl(s) {
		return out, false // for templateData (white space may be valid)
	}
	n := len(out)
	i := jsonstr.SkipSpace(s, 0)
	if i == len(s) || s[i] != '{' {
		return out[:n], false
	}
	i = jsonstr.SkipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return out, jsonstr.SkipSpace(s, i+1) == len(s)
	}
	for {
		var k, v string
		if k, i, ok = jsonstr.Unquote(s, i); !ok {
			return out[:n], false
		}
		i = jsonstr.SkipSpace(s, i)
		if i == len(s) || s[i] != ':' {
			return out[:n], false
		}
		if v, i, ok = jsonstr.Unquote(s, jsonstr.SkipSpace(s, i+1)); !ok {
			return out[:n], false
		}
		out = append(out, kv{k, v})
		i = jsonstr.SkipSpace(s, i)
		if i == len(s) {
			return out[:n], false
		}
		switch s[i] {
		case ',':
			i = jsonstr.SkipSpace(s, i+1)
		case '}':
			if jsonstr.SkipSpace(s, i+1) != len(s) {
				return out[:n], false
			}
			return out, true
		default:
			return out[:n], false
		}
	}
}

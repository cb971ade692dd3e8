package sesfake

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
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

// compiledTemplate is a template parsed once for many renderings (the
// entries of a bulk call): its literal text and variables in order, and
// the structural failure, if any, RenderTemplate reaches after them. It
// renders exactly as RenderTemplate does (FuzzCompiledTemplate checks).
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
// strings, in valid UTF-8; ok is false for anything else (which
// may still be valid: the caller decodes it the general way).
func flatStrings(s string, out []kv) (_ []kv, ok bool) {
	if !utf8.ValidString(s) {
		return out, false
	}
	n := len(out)
	i := skipWS(s, 0)
	if i == len(s) || s[i] != '{' {
		return out[:n], false
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return out, skipWS(s, i+1) == len(s)
	}
	for {
		var k, v string
		if k, i, ok = jsonString(s, i); !ok {
			return out[:n], false
		}
		i = skipWS(s, i)
		if i == len(s) || s[i] != ':' {
			return out[:n], false
		}
		if v, i, ok = jsonString(s, skipWS(s, i+1)); !ok {
			return out[:n], false
		}
		out = append(out, kv{k, v})
		i = skipWS(s, i)
		if i == len(s) {
			return out[:n], false
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
		case '}':
			if skipWS(s, i+1) != len(s) {
				return out[:n], false
			}
			return out, true
		default:
			return out[:n], false
		}
	}
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// jsonString reads the JSON string starting at s[i] (valid UTF-8) and
// returns it unquoted and the offset after it; ok is false if there is no
// valid string there.
func jsonString(s string, i int) (_ string, next int, ok bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	start := i + 1
	esc := false
	for i = start; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			if !esc {
				return s[start:i], i + 1, true
			}
			u, ok := unescape(s[start:i])
			return u, i + 1, ok
		case c == '\\':
			esc = true
			i++ // the escaped byte, checked by unescape
		case c < 0x20:
			return "", i, false
		}
	}
	return "", i, false
}

// unescape undoes JSON's escapes in raw (the inside of a string, valid
// UTF-8) as encoding/json does: a \u escape of half a surrogate pair
// without its other half is U+FFFD. ok is false for an escape JSON does
// not have.
func unescape(raw string) (string, bool) {
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		i++
		switch raw[i] {
		case '"', '\\', '/':
			b = append(b, raw[i])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(raw[i+1:])
			if r < 0 {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if strings.HasPrefix(raw[i+1:], `\u`) {
					r2 = hex4(raw[i+3:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					b = utf8.AppendRune(b, d)
					i += 6
					continue
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", false
		}
	}
	return string(b), true
}

// hex4 is the rune of the 4 hex digits s starts with, or -1.
func hex4(s string) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

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
	if !utf8.ValidString(s) || hasCtl(s) {
		return out, false // for templateData (white space may be valid)
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

// jsonString reads the JSON string starting at s[i] and returns it
// unquoted and the offset after it; ok is false if there is no valid
// string there. s is valid UTF-8 without control characters (hasCtl).
func jsonString(s string, i int) (_ string, next int, ok bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	i++
	// The end: the first quote after an even run of backslashes.
	end := i
	for {
		q := strings.IndexByte(s[end:], '"')
		if q < 0 {
			return "", len(s), false
		}
		end += q
		n := 0
		for end-1-n >= i && s[end-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			break
		}
		end++
	}
	raw := s[i:end]
	bs := strings.IndexByte(raw, '\\')
	if bs < 0 {
		return raw, end + 1, true
	}
	var b strings.Builder
	b.Grow(len(raw)) // escapes only get shorter
	for bs >= 0 {
		b.WriteString(raw[:bs])
		n, ok := unescapeOne(&b, raw[bs:])
		if !ok {
			return "", i, false
		}
		raw = raw[bs+n:]
		bs = strings.IndexByte(raw, '\\')
	}
	b.WriteString(raw)
	return b.String(), end + 1, true
}

// unescapeOne appends what the escape esc starts with stands for to b, as
// encoding/json does (a \u escape of half a surrogate pair without its
// other half is U+FFFD), and returns its length; ok is false for an
// escape JSON does not have.
func unescapeOne(b *strings.Builder, esc string) (n int, ok bool) {
	if len(esc) < 2 {
		return 0, false
	}
	switch esc[1] {
	case '"', '\\', '/':
		b.WriteByte(esc[1])
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		r := hex4(esc[2:])
		if r < 0 {
			return 0, false
		}
		if utf16.IsSurrogate(r) {
			r2 := rune(-1)
			if strings.HasPrefix(esc[6:], `\u`) {
				r2 = hex4(esc[8:])
			}
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				b.WriteRune(d)
				return 12, true
			}
			r = utf8.RuneError
		}
		b.WriteRune(r)
		return 6, true
	default:
		return 0, false
	}
	return 2, true
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

// hasCtl reports whether s has a byte below 0x20 (which a JSON string
// cannot hold), eight bytes at a time.
func hasCtl(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if (x-0x2020202020202020)&^x&0x8080808080808080 != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if s[i] < 0x20 {
			return true
		}
	}
	return false
}

package render

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Slot is a per-recipient part of a rendered email. The parts are kept
// apart so a sender can fill them itself, e.g. as SES template variables
// (see Template.Segments and Template.Greeting).
type Slot uint8

const (
	// SlotGreeting is the whole greeting line, when the edition's greeting
	// uses the recipient's name ("Beste {naam},"): "Beste Jan," or, for a
	// recipient without a name, the neutral greeting ("Beste partner,").
	// An edition whose greeting is fixed, or that has none, has no slot.
	SlotGreeting Slot = iota
	SlotUnsubscribe
	SlotPreferences
	SlotWeb
)

// String names the slot, e.g. for a template variable: "greeting",
// "unsubscribe_url", "preferences_url", "web_url".
func (s Slot) String() string {
	return [...]string{"greeting", "unsubscribe_url", "preferences_url", "web_url"}[s]
}

// slotLetters follow the token base in a placeholder, one per slot.
var slotLetters = [...]byte{SlotGreeting: 'G', SlotUnsubscribe: 'U', SlotPreferences: 'P', SlotWeb: 'W'}

// Template is an edition rendered once, ready to personalise.
type Template struct {
	Subject  string
	greeting greeting // the edition's greeting, when it has a name slot
	neutral  string   // greeting line for a recipient without a name
	html     parts
	text     parts
}

// parts is a rendered document split around its placeholders:
// static[0] slot[0] static[1] ... slot[n-1] static[n].
type parts struct {
	static []string
	slots  []Slot
	size   int // total length of static
}

// Segments returns the HTML (html true) or plain-text part cut around its
// per-recipient slots: static[0] slots[0] static[1] ... static[len(slots)].
// The static text is final (HTML escaped in the HTML part); a slot's value
// must be escaped by whoever fills it: Greeting gives both forms, and the
// URLs go into href attributes HTML-escaped and into the text part raw.
func (t *Template) Segments(html bool) (static []string, slots []Slot) {
	p := t.text
	if html {
		p = t.html
	}
	return append([]string(nil), p.static...), append([]Slot(nil), p.slots...)
}

// Greeting returns the value of SlotGreeting for a recipient called name
// (trimmed; empty gives the neutral greeting): HTML-escaped for the HTML
// part and raw for the text part.
func (t *Template) Greeting(name string) (html, text string) {
	return string(t.appendGreeting(nil, name, true)), string(t.appendGreeting(nil, name, false))
}

func (t *Template) appendGreeting(dst []byte, name string, escape bool) []byte {
	name = strings.TrimSpace(name)
	if name == "" {
		return appendValue(dst, t.neutral, escape)
	}
	dst = appendValue(dst, t.greeting.prefix, escape)
	dst = appendValue(dst, name, escape)
	return appendValue(dst, t.greeting.suffix, escape)
}

// greeting is an edition's greeting line: fixed text (prefix only), or
// prefix + the recipient's name + suffix when personal.
type greeting struct {
	prefix, suffix string
	personal       bool
}

// nameFields are how an editor writes the recipient's name in a greeting
// ("Beste {naam},"), in either language, any case.
var nameFields = []string{"{naam}", "{name}"}

func parseGreeting(g string) greeting {
	g = strings.TrimSpace(g)
	low := strings.ToLower(g)
	for _, f := range nameFields {
		if i := strings.Index(low, f); i >= 0 {
			return greeting{prefix: g[:i], suffix: g[i+len(f):], personal: true}
		}
	}
	return greeting{prefix: g}
}

// PersonalGreeting reports whether greeting uses the recipient's name.
func PersonalGreeting(greeting string) bool { return parseGreeting(greeting).personal }

// UsesName reports whether t's emails greet the recipient by name: without
// that, the send step need not read the recipients' names.
func (t *Template) UsesName() bool { return t.greeting.personal }

// split cuts doc at each occurrence of base+letter.
func split(doc, base string) (parts, error) {
	var p parts
	for {
		i := strings.Index(doc, base)
		if i < 0 {
			break
		}
		if i+len(base) >= len(doc) {
			return parts{}, fmt.Errorf("truncated placeholder at offset %d", i)
		}
		s := -1
		for k, c := range slotLetters {
			if doc[i+len(base)] == c {
				s = k
			}
		}
		if s < 0 {
			return parts{}, fmt.Errorf("unknown placeholder %q", doc[i:i+len(base)+1])
		}
		p.static = append(p.static, doc[:i])
		p.slots = append(p.slots, Slot(s))
		doc = doc[i+len(base)+1:]
	}
	p.static = append(p.static, doc)
	for _, s := range p.static {
		p.size += len(s)
	}
	return p, nil
}

// Personal is what differs per recipient. The URLs should be absolute
// http(s) URLs; anything else is replaced by "#".
type Personal struct {
	Name           string
	UnsubscribeURL string
	PreferencesURL string
	WebURL         string
}

// Personalise returns the HTML and plain-text parts for one recipient.
// Both share one allocation; each is capped so appending to one cannot
// overwrite the other.
func (t *Template) Personalise(p Personal) (html, text []byte) {
	buf := make([]byte, 0, t.html.need(t, p)+t.text.need(t, p))
	buf = t.AppendHTML(buf, p)
	n := len(buf)
	buf = t.AppendText(buf, p)
	return buf[:n:n], buf[n:len(buf):len(buf)]
}

// AppendHTML appends the recipient's HTML part to dst: the name is HTML
// escaped, URLs are attribute escaped.
func (t *Template) AppendHTML(dst []byte, p Personal) []byte {
	return t.html.appendTo(dst, t, p, true)
}

// AppendText appends the recipient's plain-text part to dst, unescaped.
func (t *Template) AppendText(dst []byte, p Personal) []byte {
	return t.text.appendTo(dst, t, p, false)
}

// need is an upper bound on the bytes appendTo adds: escaping grows a
// byte to at most 6 ("&amp;" is 5, "&#34;" 5, U+FFFD for a bad byte 3).
func (ps *parts) need(t *Template, p Personal) int {
	greet := len(p.Name) + len(t.greeting.prefix) + len(t.greeting.suffix) + len(t.neutral)
	longest := max(greet, len(p.UnsubscribeURL), len(p.PreferencesURL), len(p.WebURL), 16)
	return ps.size + len(ps.slots)*6*longest
}

func (ps *parts) appendTo(dst []byte, t *Template, p Personal, escape bool) []byte {
	if need := ps.need(t, p); cap(dst)-len(dst) < need {
		n := make([]byte, len(dst), len(dst)+need)
		copy(n, dst)
		dst = n
	}
	for i, s := range ps.slots {
		dst = append(dst, ps.static[i]...)
		var v string
		switch s {
		case SlotGreeting:
			dst = t.appendGreeting(dst, p.Name, escape)
			continue
		case SlotUnsubscribe:
			v = checkedURL(p.UnsubscribeURL)
		case SlotPreferences:
			v = checkedURL(p.PreferencesURL)
		case SlotWeb:
			v = checkedURL(p.WebURL)
		}
		dst = appendValue(dst, v, escape)
	}
	return append(dst, ps.static[len(ps.static)-1]...)
}

// checkedURL passes absolute http(s) and mailto URLs and replaces anything
// else (javascript:, relative, empty) with "#".
func checkedURL(u string) string {
	for _, scheme := range [...]string{"https://", "http://", "mailto:"} {
		if len(u) > len(scheme) && strings.EqualFold(u[:len(scheme)], scheme) {
			return u
		}
	}
	return "#"
}

// appendValue appends v with control characters turned into spaces (a
// newline in a name must not start a new line in the text part) and
// invalid UTF-8 replaced; with escape, the HTML specials are escaped too,
// which is safe in text and in quoted attributes alike.
func appendValue(dst []byte, v string, escape bool) []byte {
	plain := &plainText
	if escape {
		plain = &plainHTML
	}
	start := 0
	for i := 0; i < len(v); {
		c := v[i]
		if plain[c] {
			i++
			continue
		}
		dst = append(dst, v[start:i]...)
		if c < utf8.RuneSelf {
			switch {
			case c < 0x20 || c == 0x7f:
				dst = append(dst, ' ')
			case c == '&':
				dst = append(dst, "&amp;"...)
			case c == '<':
				dst = append(dst, "&lt;"...)
			case c == '>':
				dst = append(dst, "&gt;"...)
			case c == '"':
				dst = append(dst, "&#34;"...)
			case c == '\'':
				dst = append(dst, "&#39;"...)
			}
			i++
		} else if r, n := utf8.DecodeRuneInString(v[i:]); r == utf8.RuneError && n == 1 {
			dst = append(dst, "\uFFFD"...)
			i++
		} else {
			dst = append(dst, v[i:i+n]...)
			i += n
		}
		start = i
	}
	return append(dst, v[start:]...)
}

// plainText and plainHTML are the bytes appendValue copies as they are
// (ASCII only: a multi-byte character is checked for valid UTF-8).
var plainText, plainHTML = func() (t, h [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
		h[c] = !strings.ContainsRune(`&<>"'`, rune(c))
	}
	return t, h
}()

package render

import (
	"strings"

	"newsletter/internal/jsonstr"
)

// SES templates: for SendBulkEmail the edition is rendered once and the
// per-recipient parts become SES template variables, which SES fills
// (Handlebars-like) without escaping anything. Hence two values per part,
// escaped for the HTML part and raw for the text part, and every brace or
// backslash of the edition's own content written so that no template
// engine takes it for a variable: "{" becomes {{lb}}, a "}" right after a
// variable {{rb}}, a "\" that could escape a variable {{bs}}; the data of
// every recipient carries lb, rb and bs.

// SESContent is an edition as SES template content.
type SESContent struct {
	Subject, HTML, Text string
}

// SESLinks are the beginnings every recipient's link URLs share, e.g.
// "https://nieuwsbrief.example.org/u/". With one set, the template holds
// it and a recipient's data only the rest of the URL (its signed token),
// once for both parts instead of the whole URL escaped and raw: a third of
// the bytes of a SendBulkEmail entry. The rest must be URL-safe (letters,
// digits, "-", ".", "_", "~"), which reads the same escaped or not and
// holds no brace; AppendSESData says when a recipient's URL is not of that
// form. An empty beginning, or one that is not an http(s) URL, means the
// whole URL is the variable.
type SESLinks struct{ Unsubscribe, Preferences string }

func (l SESLinks) of(s Slot) string {
	b := l.Preferences
	if s == SlotUnsubscribe {
		b = l.Unsubscribe
	}
	if checkedURL(b) != b {
		return ""
	}
	return b
}

// The variable of each slot, per part.
var sesVars = [...][2]string{
	SlotGreeting:    {"greeting_html", "greeting_text"},
	SlotUnsubscribe: {"unsubscribe_html", "unsubscribe_text"},
	SlotPreferences: {"preferences_html", "preferences_text"},
}

// sesTokenVars are the variables of a link slot whose beginning is in the
// template: the same in both parts.
var sesTokenVars = [...]string{SlotUnsubscribe: "unsubscribe_token", SlotPreferences: "preferences_token"}

// SES returns t as SES template content. The web-version URL is the same
// for every recipient, so it is written in, not a variable; so are the
// beginnings of the links in links.
func (t *Template) SES(webURL string, links SESLinks) SESContent {
	return SESContent{
		Subject: string(sesStatic(nil, t.Subject)),
		HTML:    string(t.html.appendSES(nil, webURL, links, 0)),
		Text:    string(t.text.appendSES(nil, webURL, links, 1)),
	}
}

func (ps *parts) appendSES(dst []byte, webURL string, links SESLinks, part int) []byte {
	dst = make([]byte, 0, ps.size+len(ps.static)*24)
	afterVar := false
	for i, s := range ps.slots {
		dst, afterVar = appendSESStatic(dst, ps.static[i], afterVar)
		if s == SlotWeb {
			dst, afterVar = appendSESStatic(dst, string(appendValue(nil, checkedURL(webURL), part == 0)), afterVar)
			continue
		}
		name := sesVars[s][part]
		switch s {
		case SlotUnsubscribe, SlotPreferences:
			if b := links.of(s); b != "" {
				dst, afterVar = appendSESStatic(dst, string(appendValue(nil, b, part == 0)), afterVar)
				name = sesTokenVars[s]
			}
		}
		dst = append(dst, "{{"...)
		dst = append(dst, name...)
		dst = append(dst, "}}"...)
		afterVar = true
	}
	dst, _ = appendSESStatic(dst, ps.static[len(ps.static)-1], afterVar)
	return dst
}

func sesStatic(dst []byte, s string) []byte {
	dst, _ = appendSESStatic(dst, s, false)
	return dst
}

// appendSESStatic appends s so that it renders as itself; afterVar says
// whether dst ends in a variable, and the result whether it does now.
func appendSESStatic(dst []byte, s string, afterVar bool) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{':
			dst = append(dst, "{{lb}}"...)
			afterVar = true
		case c == '}' && afterVar:
			dst = append(dst, "{{rb}}"...)
		case c == '\\' && (i+1 == len(s) || s[i+1] == '{' || s[i+1] == '\\'):
			dst = append(dst, "{{bs}}"...)
			afterVar = true
		default:
			dst = append(dst, c)
			afterVar = false
		}
	}
	return dst, afterVar
}

// AppendSESData appends the recipient's template data, a JSON object, to
// dst, for the content SES(webURL, links) gave. It reports false, with dst
// as it was, when a link URL of p does not start with its beginning in
// links or its rest is not URL-safe: that recipient needs the content of
// SES with no beginnings.
func (t *Template) AppendSESData(dst []byte, p Personal, links SESLinks) ([]byte, bool) {
	start := len(dst)
	var buf [256]byte
	dst = append(dst, '{')
	dst = jsonstr.Append(dst, sesVars[SlotGreeting][0])
	dst = append(dst, ':')
	dst = jsonstr.Append(dst, t.appendGreeting(buf[:0], p.Name, true))
	dst = append(dst, ',')
	dst = jsonstr.Append(dst, sesVars[SlotGreeting][1])
	dst = append(dst, ':')
	dst = jsonstr.Append(dst, t.appendGreeting(buf[:0], p.Name, false))
	for _, s := range [...]Slot{SlotUnsubscribe, SlotPreferences} {
		u := checkedURL(p.UnsubscribeURL)
		if s == SlotPreferences {
			u = checkedURL(p.PreferencesURL)
		}
		if b := links.of(s); b != "" {
			rest, ok := strings.CutPrefix(u, b)
			if !ok || !urlSafe(rest) {
				return dst[:start], false
			}
			dst = append(dst, ',')
			dst = jsonstr.Append(dst, sesTokenVars[s])
			dst = append(dst, ':')
			dst = jsonstr.Append(dst, rest)
			continue
		}
		for part, escape := range [...]bool{true, false} {
			dst = append(dst, ',')
			dst = jsonstr.Append(dst, sesVars[s][part])
			dst = append(dst, ':')
			dst = jsonstr.Append(dst, appendValue(buf[:0], u, escape))
		}
	}
	// Last: an emulator that substitutes in order of the data must not
	// turn an escaped brace into part of a variable name.
	return append(dst, `,"lb":"{","rb":"}","bs":"\\"}`...), true
}

// urlSafe reports whether s has only URL-unreserved characters: they read
// the same HTML-escaped or not, in a URL or as text.
func urlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if !unreserved[s[i]] {
			return false
		}
	}
	return true
}

var unreserved = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
	}
	return t
}()

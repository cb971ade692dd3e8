package render

import "newsletter/internal/jsonstr"

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

// The variable of each slot, per part.
var sesVars = [...][2]string{
	SlotGreeting:    {"greeting_html", "greeting_text"},
	SlotUnsubscribe: {"unsubscribe_html", "unsubscribe_text"},
	SlotPreferences: {"preferences_html", "preferences_text"},
}

// SES returns t as SES template content. The web-version URL is the same
// for every recipient, so it is written in, not a variable.
func (t *Template) SES(webURL string) SESContent {
	return SESContent{
		Subject: string(sesStatic(nil, t.Subject)),
		HTML:    string(t.html.appendSES(nil, webURL, 0)),
		Text:    string(t.text.appendSES(nil, webURL, 1)),
	}
}

func (ps *parts) appendSES(dst []byte, webURL string, part int) []byte {
	dst = make([]byte, 0, ps.size+len(ps.static)*24)
	afterVar := false
	for i, s := range ps.slots {
		dst, afterVar = appendSESStatic(dst, ps.static[i], afterVar)
		if s == SlotWeb {
			dst, afterVar = appendSESStatic(dst, string(appendValue(nil, checkedURL(webURL), part == 0)), afterVar)
			continue
		}
		dst = append(dst, "{{"...)
		dst = append(dst, sesVars[s][part]...)
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
// dst.
func (t *Template) AppendSESData(dst []byte, p Personal) []byte {
	var buf [256]byte
	value := func(s Slot, escape bool) []byte {
		switch s {
		case SlotGreeting:
			return t.appendGreeting(buf[:0], p.Name, escape)
		case SlotUnsubscribe:
			return appendValue(buf[:0], checkedURL(p.UnsubscribeURL), escape)
		}
		return appendValue(buf[:0], checkedURL(p.PreferencesURL), escape)
	}
	dst = append(dst, '{')
	for i, s := range [...]Slot{SlotGreeting, SlotUnsubscribe, SlotPreferences} {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, sesVars[s][0])
		dst = append(dst, ':')
		dst = jsonstr.Append(dst, value(s, true))
		dst = append(dst, ',')
		dst = jsonstr.Append(dst, sesVars[s][1])
		dst = append(dst, ':')
		dst = jsonstr.Append(dst, value(s, false))
	}
	// Last: an emulator that substitutes in order of the data must not
	// turn an escaped brace into part of a variable name.
	return append(dst, `,"lb":"{","rb":"}","bs":"\\"}`...)
}

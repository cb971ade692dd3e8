package edition

import (
	"strconv"
	"strings"

	"newsletter"
)

// frontMatterKeys are the keys a Markdown edition may set, in the order the
// error message lists them. A strict reader beats YAML here: editors write a
// dozen flat strings, and a typo ("subjet") must be an error, not a silently
// ignored key.
var frontMatterKeys = []string{
	"subject", "preheader", "language", "title", "greeting", "sign_off",
	"author", "author_role", "hero_image", "hero_image_alt", "cta_text", "cta_url",
}

func parseMarkdown(text string) (*newsletter.Edition, error) {
	lines := strings.Split(text, "\n")
	if strings.TrimSpace(lines[0]) != "---" {
		return nil, invalid("markdown edition has no front matter: start the file with a line \"---\", then \"subject: …\", then \"---\"")
	}
	end := -1
	for i := 1; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "---" {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, invalid("front matter is not closed: add a line \"---\" after the last \"key: value\" line")
	}

	e := &newsletter.Edition{Format: FormatMarkdown}
	fields := map[string]*string{
		"subject": &e.Subject, "preheader": &e.Preheader, "language": &e.Language,
		"title": &e.Title, "greeting": &e.Greeting, "sign_off": &e.SignOff,
		"author": &e.Author, "author_role": &e.AuthorRole,
		"hero_image": &e.HeroImageURL, "hero_image_alt": &e.HeroImageAlt,
		"cta_text": &e.CTAText, "cta_url": &e.CTAURL,
	}
	seen := map[string]int{}
	for i := 1; i < end; i++ {
		lineNo := i + 1
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, invalid("bad front matter line %d: %q is not \"key: value\"", lineNo, clip(line))
		}
		// Be lenient about case and "sign-off" vs "sign_off"; strict
		// about the key itself.
		key := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(k)), "-", "_")
		p, known := fields[key]
		if !known {
			return nil, invalid("bad front matter line %d: unknown key %q: use one of %s", lineNo, strings.TrimSpace(k), strings.Join(frontMatterKeys, ", "))
		}
		if prev, dup := seen[key]; dup {
			return nil, invalid("bad front matter line %d: %s is already set on line %d: keep one", lineNo, key, prev)
		}
		seen[key] = lineNo
		val, err := unquote(strings.TrimSpace(v))
		if err != nil {
			return nil, invalid("bad front matter line %d: %s: %v", lineNo, key, err)
		}
		*p = val
	}

	if strings.TrimSpace(e.Subject) == "" {
		return nil, invalid("edition has no subject: add \"subject: …\" to the front matter")
	}
	switch lang := strings.ToLower(e.Language); lang {
	case "":
		e.Language = "nl"
	case "nl", "en":
		e.Language = lang
	default:
		return nil, invalid("unknown language %q on front matter line %d: use \"nl\" or \"en\"", e.Language, seen["language"])
	}
	if (e.CTAText == "") != (e.CTAURL == "") {
		return nil, invalid("front matter sets only one of cta_text and cta_url: set both (the button text and where it goes) or neither")
	}

	body := strings.Join(lines[end+1:], "\n")
	body = strings.Trim(body, "\n")
	if strings.TrimSpace(body) == "" {
		return nil, invalid("edition has an empty body: write the text of the newsletter below the closing \"---\"")
	}
	e.Body = strings.TrimRight(body, " \t\n") + "\n"
	return e, nil
}

// unquote accepts a bare value, a "double-quoted" value with Go/JSON escapes,
// or a 'single-quoted' one where ” is a quote, as YAML writers expect.
func unquote(v string) (string, error) {
	if len(v) >= 1 && (v[0] == '"' || v[0] == '\'') {
		q := v[0]
		if len(v) < 2 || v[len(v)-1] != q {
			return "", errUnclosedQuote
		}
		if q == '"' {
			s, err := strconv.Unquote(v)
			if err != nil {
				return "", errBadEscape
			}
			// A newline in a subject would end the mail header: refuse it.
			if strings.ContainsAny(s, "\r\n") {
				return "", errMultiline
			}
			return s, nil
		}
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'"), nil
	}
	if strings.HasPrefix(v, "|") || strings.HasPrefix(v, ">") {
		return "", errMultiline
	}
	return v, nil
}

type frontMatterError string

func (e frontMatterError) Error() string { return string(e) }

const (
	errUnclosedQuote = frontMatterError("the quote is not closed: end the value with the same quote")
	errBadEscape     = frontMatterError("bad escape in double-quoted value: write \\\" for a quote and \\\\ for a backslash, or use single quotes")
	errMultiline     = frontMatterError("values must fit on one line: write the value after the colon")
)

func clip(s string) string {
	const max = 40
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

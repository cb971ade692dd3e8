package edition

import (
	"path/filepath"
	"strings"
	"unicode/utf8"

	"newsletter"
)

// Edition formats, as stored in newsletter.Edition.Format.
const (
	FormatMarkdown = "markdown"
	FormatText     = "text"
)

// Parse reads an edition. name is the file name: ".md" and ".markdown" mean
// Markdown with front matter; anything else is plain text like the seed
// editions. The findings are the encoding guard's, with positions in data
// (Field "source"), because that is the file the editor can open and fix.
// Bad input is a *newsletter.Error with Code newsletter.EINVALID.
func Parse(name string, data []byte) (*newsletter.Edition, []Finding, error) {
	if !utf8.Valid(data) {
		return nil, nil, invalidUTF8Error(data)
	}
	src := string(data)
	text := normalize(src)
	if strings.TrimSpace(text) == "" {
		return nil, nil, invalid("edition file %s is empty: write a subject and a body", quoteName(name))
	}

	var e *newsletter.Edition
	var err error
	switch strings.ToLower(filepath.Ext(name)) {
	case ".md", ".markdown":
		e, err = parseMarkdown(text)
	default:
		e, err = parseText(text)
	}
	if err != nil {
		return nil, nil, err
	}
	e.Source = src
	e.State = newsletter.EditionDraft
	if e.Language == "" {
		e.Language = "nl"
	}
	// Every importer must leave a sendable edition; check once here so no
	// path can return an edition without a subject or body.
	if strings.TrimSpace(e.Subject) == "" {
		return nil, nil, invalid("edition has no subject: start the file with a title line, or add \"subject: …\" to the front matter")
	}
	if strings.TrimSpace(e.Body) == "" {
		return nil, nil, invalid("edition has an empty body: write the text of the newsletter below the subject")
	}

	findings := Check(src)
	for i := range findings {
		findings[i].Field = "source"
	}
	return e, findings, nil
}

func invalid(format string, args ...any) error {
	return newsletter.Errorf(newsletter.EINVALID, format, args...)
}

func quoteName(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	return "\"" + filepath.Base(name) + "\""
}

// invalidUTF8Error names where the first bad byte is and guesses why: a
// file saved as Windows-1252 or Latin-1 is the usual cause.
func invalidUTF8Error(data []byte) error {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return invalid("edition file is not valid UTF-8 (byte 0x%02X at line %d, column %d; it was probably saved as Windows-1252 or Latin-1): save it as UTF-8 and import it again", data[i], line, col)
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return invalid("edition file is not valid UTF-8: save it as UTF-8 and import it again")
}

// normalize removes a leading byte-order mark and makes every line end in
// "\n", so the importers need not care which editor wrote the file.
func normalize(s string) string {
	s = strings.TrimPrefix(s, "\uFEFF")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// CheckEdition runs Check over every text field of e. Finding.Field names
// the field (by its JSON name) and positions are within that field. Source
// is not checked: it is the record of what the editor supplied.
func CheckEdition(e *newsletter.Edition) []Finding {
	var out []Finding
	for _, f := range textFields(e) {
		for _, fd := range Check(*f.p) {
			fd.Field = f.name
			out = append(out, fd)
		}
	}
	return out
}

// FixEdition applies Fix to every text field of e and returns the changes.
// Source is left as the editor supplied it, so the repair stays auditable.
func FixEdition(e *newsletter.Edition) []Finding {
	var out []Finding
	for _, f := range textFields(e) {
		fixed, changed := Fix(*f.p)
		*f.p = fixed
		for _, fd := range changed {
			fd.Field = f.name
			out = append(out, fd)
		}
	}
	return out
}

type textField struct {
	name string
	p    *string
}

func textFields(e *newsletter.Edition) []textField {
	return []textField{
		{"subject", &e.Subject},
		{"preheader", &e.Preheader},
		{"title", &e.Title},
		{"greeting", &e.Greeting},
		{"body", &e.Body},
		{"sign_off", &e.SignOff},
		{"author", &e.Author},
		{"author_role", &e.AuthorRole},
		{"hero_image_url", &e.HeroImageURL},
		{"hero_image_alt", &e.HeroImageAlt},
		{"cta_text", &e.CTAText},
		{"cta_url", &e.CTAURL},
	}
}

package subscribercsv

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Writer writes a subscriber export: comma-separated UTF-8 with a header
// row, every field defused against spreadsheet formula injection.
type Writer struct {
	w      *bufio.Writer
	sep    byte
	err    error
	n      int
	fields []string
}

// WriterOption changes how a Writer writes.
type WriterOption func(*writerConfig)

type writerConfig struct {
	bom bool
	sep byte
}

// WithBOM starts the file with a UTF-8 byte-order mark, which Excel needs
// to read it as UTF-8 rather than as the local code page.
func WithBOM() WriterOption { return func(c *writerConfig) { c.bom = true } }

// WithSemicolons separates fields with ";", as Dutch Excel reads and
// writes CSV (the default is ",").
func WithSemicolons() WriterOption { return func(c *writerConfig) { c.sep = ';' } }

// NewWriter returns a Writer that has written the header row (e.g. email,
// name, organisation, status, lists, ...) to its buffer. Write errors,
// including the header's, come back from Write or Flush.
func NewWriter(w io.Writer, columns []string, opts ...WriterOption) *Writer {
	cfg := writerConfig{sep: ','}
	for _, o := range opts {
		o(&cfg)
	}
	bw := bufio.NewWriter(w)
	if cfg.bom {
		bw.WriteString("\ufeff")
	}
	out := &Writer{w: bw, sep: cfg.sep, n: len(columns), fields: make([]string, len(columns))}
	out.write(columns)
	return out
}

// Write writes one row; it must have as many fields as the header.
func (w *Writer) Write(fields []string) error {
	if len(fields) != w.n {
		return fmt.Errorf("subscribercsv: row has %d fields, the header has %d", len(fields), w.n)
	}
	return w.write(fields)
}

// write writes one RFC 4180 row. Unlike encoding/csv it also quotes a
// field that contains ";", so the file reads right whichever separator the
// spreadsheet assumes.
func (w *Writer) write(fields []string) error {
	if w.err != nil {
		return w.err
	}
	for i, f := range fields {
		if i > 0 {
			w.w.WriteByte(w.sep)
		}
		f = escapeFormula(strings.ToValidUTF8(f, "\uFFFD"))
		if !fieldNeedsQuotes(f) {
			w.w.WriteString(f)
			continue
		}
		w.w.WriteByte('"')
		w.w.WriteString(strings.ReplaceAll(f, `"`, `""`))
		w.w.WriteByte('"')
	}
	_, w.err = w.w.WriteString("\n")
	return w.err
}

func fieldNeedsQuotes(f string) bool {
	return f != "" && (strings.ContainsAny(f, ",;\"\r\n") || f[0] == ' ' || f[len(f)-1] == ' ')
}

// Flush writes any buffered rows to the underlying writer and reports the
// first error of any earlier Write.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); w.err == nil {
		w.err = err
	}
	return w.err
}

// escapeFormula defuses a value a spreadsheet would run as a formula (OWASP
// "CSV Injection"): one starting with = + - @ tab or CR, or their
// full-width forms, gets a leading single quote. So does a value that
// already starts with a quote, so that the Reader, which removes exactly
// one such quote, gives back the original value on re-import. The same
// holds for every part after a "," or ";": Dutch Excel splits on ";", and
// a program that ignores the CSV quoting starts a new cell there.
func escapeFormula(s string) string {
	return mapParts(s, func(part string) string {
		if needsQuote(part) {
			return "'" + part
		}
		return part
	})
}

// unescapeFormula undoes escapeFormula for a value read back from an
// export.
func unescapeFormula(s string) string {
	return mapParts(s, func(part string) string {
		if len(part) > 1 && part[0] == '\'' && needsQuote(part[1:]) {
			return part[1:]
		}
		return part
	})
}

// mapParts applies fn to each part of s between the separators "," and ";".
func mapParts(s string, fn func(string) string) string {
	if !strings.ContainsAny(s, ",;") {
		return fn(s)
	}
	var b strings.Builder
	for {
		i := strings.IndexAny(s, ",;")
		if i < 0 {
			b.WriteString(fn(s))
			return b.String()
		}
		b.WriteString(fn(s[:i]))
		b.WriteByte(s[i])
		s = s[i+1:]
	}
}

func needsQuote(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\'':
		return true
	}
	r, _ := utf8.DecodeRuneInString(s)
	switch r {
	case '＝', '＋', '－', '＠': // full-width forms that some spreadsheet locales also evaluate
		return true
	}
	return false
}

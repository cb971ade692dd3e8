package subscribercsv

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Writer writes a subscriber export: comma-separated UTF-8 with a header
// row, every field defused against spreadsheet formula injection.
type Writer struct {
	csv    *csv.Writer
	n      int
	fields []string
}

// WriterOption changes how a Writer writes.
type WriterOption func(*writerConfig)

type writerConfig struct{ bom bool }

// WithBOM starts the file with a UTF-8 byte-order mark, which Excel needs
// to read it as UTF-8 rather than as the local code page.
func WithBOM() WriterOption { return func(c *writerConfig) { c.bom = true } }

// NewWriter returns a Writer that has written the header row (e.g. email,
// name, organisation, status, lists, ...) to its buffer. Write errors,
// including the header's, come back from Write or Flush.
func NewWriter(w io.Writer, columns []string, opts ...WriterOption) *Writer {
	var cfg writerConfig
	for _, o := range opts {
		o(&cfg)
	}
	bw := bufio.NewWriter(w)
	if cfg.bom {
		bw.WriteString("\ufeff")
	}
	cw := csv.NewWriter(bw) // reuses bw, so the BOM comes first
	out := &Writer{csv: cw, n: len(columns), fields: make([]string, len(columns))}
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

func (w *Writer) write(fields []string) error {
	for i, f := range fields {
		w.fields[i] = escapeFormula(strings.ToValidUTF8(f, "\uFFFD"))
	}
	return w.csv.Write(w.fields)
}

// Flush writes any buffered rows to the underlying writer and reports the
// first error of any earlier Write.
func (w *Writer) Flush() error {
	w.csv.Flush()
	return w.csv.Error()
}

// escapeFormula defuses a value a spreadsheet would run as a formula (OWASP
// "CSV Injection"): one starting with = + - @ tab or CR, or their
// full-width forms, gets a leading single quote. So does a value that
// already starts with a quote, so that the Reader, which removes exactly
// one such quote, gives back the original value on re-import.
func escapeFormula(s string) string {
	if needsQuote(s) {
		return "'" + s
	}
	return s
}

// unescapeFormula undoes escapeFormula for a value read back from an
// export.
func unescapeFormula(s string) string {
	if len(s) > 1 && s[0] == '\'' && needsQuote(s[1:]) {
		return s[1:]
	}
	return s
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

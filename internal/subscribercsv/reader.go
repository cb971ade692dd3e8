package subscribercsv

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"newsletter"
	"newsletter/internal/address"
)

const (
	// MaxFieldLen is the longest value a row may hold, in bytes.
	MaxFieldLen = 1024
	// maxRowBytes bounds how much input one row may take, so a quote that
	// is never closed cannot pull the rest of the file into memory.
	maxRowBytes = 1 << 20
	// peekSize is how much of the start of the file is looked at to find
	// the separator and line ends.
	peekSize = 64 << 10
)

// Row is one data row of an import.
type Row struct {
	Line         int // 1-based physical line where the row starts
	Email        string
	Name         string
	Organisation string
	Attributes   map[string]string // other columns by header name; nil when all are empty
	Err          error             // non-nil: the row is rejected, and this says why
}

type role uint8

const (
	roleAttribute role = iota
	roleEmail
	roleName
	roleFirst
	roleInfix
	roleLast
	roleOrganisation
)

var roleNames = [...]string{"", "email", "name", "first name", "name infix", "last name", "organisation"}

// headerRoles maps a header, lower-cased and without spaces, hyphens,
// underscores and dots, to its role.
var headerRoles = map[string]role{
	"email": roleEmail, "emailadres": roleEmail, "emailaddress": roleEmail, "mail": roleEmail, "mailadres": roleEmail,
	"name": roleName, "naam": roleName, "volledigenaam": roleName, "fullname": roleName,
	"voornaam": roleFirst, "firstname": roleFirst, "givenname": roleFirst, "roepnaam": roleFirst,
	"tussenvoegsel": roleInfix, "tussenvoegsels": roleInfix,
	"achternaam": roleLast, "lastname": roleLast, "surname": roleLast, "familyname": roleLast,
	"organisation": roleOrganisation, "organization": roleOrganisation, "organisatie": roleOrganisation,
	"bedrijf": roleOrganisation, "bedrijfsnaam": roleOrganisation, "company": roleOrganisation,
}

var errRowTooLong = errors.New("row too long")

// Reader streams the rows of a subscriber CSV file.
type Reader struct {
	csv     *csv.Reader
	limit   *limitReader
	columns []string
	roles   []role
	col     [roleOrganisation + 1]int // column index per role, -1 if absent
	seen    map[[16]byte]int32        // address hash → first line
	err     error                     // sticky fatal error
}

// NewReader reads the header row of r. It detects the separator (';' as
// Dutch Excel writes it, ',' or tab), skips a UTF-8 byte-order mark and an
// Excel "sep=;" line, and maps the columns. It fails if there is no header
// or no email column.
func NewReader(r io.Reader) (*Reader, error) {
	lim := &limitReader{r: r}
	br := bufio.NewReaderSize(lim, peekSize)
	if b, _ := br.Peek(3); bytes.HasPrefix(b, []byte("\ufeff")) {
		br.Discard(3)
	}
	head, err := br.Peek(peekSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("read CSV: %w", err)
	}
	if crOnly(head) {
		// Old Mac Excel ends lines with a lone CR, which encoding/csv does
		// not see as a line end.
		br = bufio.NewReaderSize(&crReader{r: br}, peekSize)
		head = bytes.ReplaceAll(head, []byte("\r"), []byte("\n"))
	}
	first := firstLine(head)
	sep, sepLine := separator(first)

	cr := csv.NewReader(br)
	cr.Comma = sep
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true // hand-typed files have stray quotes; the row-size limit guards the rest
	cr.ReuseRecord = true

	rd := &Reader{csv: cr, limit: lim, seen: make(map[[16]byte]int32)}
	if sepLine {
		if _, err := rd.read(); err != nil {
			return nil, err
		}
	}
	header, err := rd.read()
	if err == io.EOF {
		return nil, invalid("the file is empty: the first row must be a header, e.g. email,name,organisation")
	}
	if err != nil {
		return nil, err
	}
	if err := rd.mapHeader(header); err != nil {
		return nil, err
	}
	return rd, nil
}

// read returns the next record, turning a runaway row into a clear error.
func (r *Reader) read() ([]string, error) {
	r.limit.n = 0
	rec, err := r.csv.Read()
	if err == nil || err == io.EOF {
		return rec, err
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, invalid("line %d: %v", pe.StartLine, pe.Err) // not reached with LazyQuotes
	}
	line := 0
	if len(rec) > 0 {
		line, _ = r.csv.FieldPos(0)
	}
	if errors.Is(err, errRowTooLong) {
		return nil, invalid("the row at line %d is longer than 1 MiB: check it for a quote (\") that is never closed", line)
	}
	return nil, fmt.Errorf("read CSV near line %d: %w", line, err)
}

func (r *Reader) mapHeader(header []string) error {
	for i := range r.col {
		r.col[i] = -1
	}
	if !validUTF8(header) {
		return invalid("the header row is not valid UTF-8: save the file as CSV UTF-8 (in Excel: Save as, CSV UTF-8)")
	}
	r.columns = make([]string, len(header))
	r.roles = make([]role, len(header))
	byName := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		r.columns[i] = h
		if h == "" {
			continue
		}
		if j, dup := byName[strings.ToLower(h)]; dup {
			return invalid("the header has the column %q twice (columns %d and %d): keep one", h, j+1, i+1)
		}
		byName[strings.ToLower(h)] = i
		ro := headerRoles[headerKey(h)]
		if ro == roleAttribute {
			continue
		}
		if j := r.col[ro]; j >= 0 {
			return invalid("the header has two %s columns (%q and %q): keep one", roleNames[ro], r.columns[j], h)
		}
		r.col[ro] = i
		r.roles[i] = ro
	}
	if r.col[roleEmail] >= 0 {
		return nil
	}
	for _, h := range header {
		if strings.Contains(h, "@") {
			if _, err := address.Normalize(h); err == nil {
				return invalid("the first row holds an address (%s), not column names: add a header row above it, e.g. email,name,organisation", strings.TrimSpace(h))
			}
		}
	}
	return invalid("the header row needs an email column, e.g. email,name,organisation (it has: %s)", strings.Join(r.columns, ", "))
}

// Columns returns the header as written in the file (trimmed).
func (r *Reader) Columns() []string {
	return append([]string(nil), r.columns...)
}

// Next returns the next non-empty row, or io.EOF after the last. A row the
// import must skip comes back with Err set and the reading goes on; Next
// itself fails only when the input cannot be read any further. A leading
// single quote that the Writer put before a formula character is removed,
// so an export imports back unchanged.
func (r *Reader) Next() (Row, error) {
	if r.err != nil {
		return Row{}, r.err
	}
	for {
		rec, err := r.read()
		if err != nil {
			r.err = err
			return Row{}, err
		}
		if allBlank(rec) {
			continue
		}
		line, _ := r.csv.FieldPos(0)
		row := r.row(rec, line)
		if row.Err != nil {
			last := len(rec) - 1
			end, _ := r.csv.FieldPos(last)
			if end += strings.Count(strings.TrimSuffix(rec[last], "\n"), "\n"); end > line {
				row.Err = invalid("%v (this row runs from line %d to line %d: check for a missing closing quote)", row.Err, line, end)
			}
		}
		return row, nil
	}
}

func (r *Reader) row(rec []string, line int) Row {
	row := Row{Line: line}
	if !validUTF8(rec) {
		row.Err = invalid("row is not valid UTF-8: save the file as CSV UTF-8 (in Excel: Save as, CSV UTF-8)")
		return row
	}
	if len(rec) != len(r.columns) {
		hint := "add the missing separators"
		if len(rec) > len(r.columns) {
			hint = fmt.Sprintf("put quotes around values that contain %q", string(r.csv.Comma))
		}
		row.Err = invalid("row has %d fields, the header has %d: %s", len(rec), len(r.columns), hint)
		return row
	}
	for i, f := range rec {
		if len(f) > MaxFieldLen {
			row.Err = invalid("the %s field is %d bytes long, more than the 1 KiB allowed: shorten it", r.columnName(i), len(f))
			return row
		}
		rec[i] = unescapeFormula(f)
		// A quote that is not closed swallows the rows after it into one
		// field; refuse what that looks like rather than lose them quietly.
		if nl := strings.IndexAny(f, "\r\n"); nl >= 0 {
			if r.roles[i] != roleAttribute {
				row.Err = invalid("the %s field has a line break in it", r.columnName(i))
				return row
			}
			if strings.ContainsRune(f[nl:], r.csv.Comma) {
				row.Err = invalid("the %s field has a line break followed by %q, as if other rows ended up inside it", r.columnName(i), string(r.csv.Comma))
				return row
			}
		}
	}
	email, err := address.Normalize(rec[r.col[roleEmail]])
	if err != nil {
		row.Err = err
		return row
	}
	key := dedupKey(email)
	if first, dup := r.seen[key]; dup {
		row.Err = invalid("%s is a duplicate of line %d", email, first)
		return row
	}
	r.seen[key] = int32(min(line, math.MaxInt32))
	row.Email = email

	if c := r.col[roleName]; c >= 0 {
		row.Name = collapse(rec[c])
	}
	if row.Name == "" {
		var parts []string
		for _, ro := range []role{roleFirst, roleInfix, roleLast} {
			if c := r.col[ro]; c >= 0 {
				if p := collapse(rec[c]); p != "" {
					parts = append(parts, p)
				}
			}
		}
		row.Name = strings.Join(parts, " ")
	}
	if c := r.col[roleOrganisation]; c >= 0 {
		row.Organisation = collapse(rec[c])
	}
	for i, ro := range r.roles {
		if ro != roleAttribute {
			continue
		}
		v := strings.TrimSpace(rec[i])
		if v == "" {
			continue
		}
		if row.Attributes == nil {
			row.Attributes = make(map[string]string)
		}
		row.Attributes[r.columnName(i)] = strings.Clone(v) // do not pin the whole record
	}
	return row
}

func (r *Reader) columnName(i int) string {
	if r.columns[i] == "" {
		return fmt.Sprintf("column %d", i+1)
	}
	return r.columns[i]
}

// dedupKey is the first 16 bytes of SHA-256: collision-free in practice
// (2^-128 per pair) at half the size of the whole hash.
func dedupKey(email string) [16]byte {
	sum := sha256.Sum256([]byte(email))
	return [16]byte(sum[:16])
}

func headerKey(h string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_', '.', '\u00a0':
			return -1
		}
		return r
	}, strings.ToLower(h))
}

// collapse trims s and turns every run of white space into one space.
// Strings already in that form are returned as they are, without copying.
func collapse(s string) string {
	t := strings.TrimSpace(s)
	clean := true
	for i := 0; i < len(t); i++ {
		if c := t[i]; c < ' ' || c >= utf8.RuneSelf || (c == ' ' && t[i+1] == ' ') {
			clean = false
			break
		}
	}
	if clean {
		return strings.Clone(t)
	}
	return strings.Join(strings.Fields(t), " ")
}

func allBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func validUTF8(rec []string) bool {
	for _, f := range rec {
		if !utf8.ValidString(f) {
			return false
		}
	}
	return true
}

// firstLine returns the first line of b that is not blank.
func firstLine(b []byte) []byte {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(bytes.TrimSpace(line)) > 0 {
			return line
		}
	}
	return nil
}

// separator picks the separator of a header line: the most frequent of
// ';', ',' and tab outside quotes (',' if none). An Excel "sep=X" line names
// it outright; sepLine reports that such a line must be skipped.
func separator(line []byte) (sep rune, sepLine bool) {
	line = bytes.TrimSpace(line)
	if len(line) == 5 && bytes.EqualFold(line[:4], []byte("sep=")) && strings.IndexByte(";,\t|", line[4]) >= 0 {
		return rune(line[4]), true
	}
	var semi, comma, tab int
	quoted := false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == ';':
			semi++
		case c == ',':
			comma++
		case c == '\t':
			tab++
		}
	}
	switch {
	case tab > semi && tab > comma:
		return '\t', false
	case semi > comma:
		return ';', false
	}
	return ',', false
}

// crOnly reports whether lines in b end with a lone CR (and never LF).
func crOnly(b []byte) bool {
	i := bytes.IndexByte(b, '\r')
	return i >= 0 && bytes.IndexByte(b, '\n') < 0 && (i+1 < len(b) || len(b) < peekSize)
}

// limitReader counts the bytes read since n was last reset and fails once
// one row has taken more than maxRowBytes.
type limitReader struct {
	r io.Reader
	n int
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n > maxRowBytes {
		return 0, errRowTooLong
	}
	n, err := l.r.Read(p)
	l.n += n
	return n, err
}

// crReader turns every CR into LF.
type crReader struct{ r io.Reader }

func (c *crReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

func invalid(format string, args ...any) error {
	return newsletter.Errorf(newsletter.EINVALID, format, args...)
}

package subscribercsv_test

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/subscribercsv"
)

// summary renders a row compactly: "line email|name|organisation|k=v,..." or
// "line ERR reason".
func summary(r subscribercsv.Row) string {
	if r.Err != nil {
		return fmt.Sprintf("%d ERR %s", r.Line, r.Err)
	}
	var attrs []string
	for _, k := range slices.Sorted(maps.Keys(r.Attributes)) {
		attrs = append(attrs, k+"="+r.Attributes[k])
	}
	return fmt.Sprintf("%d %s|%s|%s|%s", r.Line, r.Email, r.Name, r.Organisation, strings.Join(attrs, ","))
}

func readAll(t *testing.T, in string) ([]string, []string) {
	t.Helper()
	rd, err := subscribercsv.NewReader(strings.NewReader(in))
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var rows []string
	for {
		r, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if r.Err != nil && newsletter.ErrorCode(r.Err) != newsletter.EINVALID {
			t.Fatalf("row error %v has code %q", r.Err, newsletter.ErrorCode(r.Err))
		}
		rows = append(rows, summary(r))
	}
	return rd.Columns(), rows
}

func TestReader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		columns []string
		want    []string // summaries; for errors, "line ERR" + a substring of the reason
	}{
		{
			name:    "plain comma",
			in:      "email,name,organisation\njan@example.nl,Jan Jansen,Gemeente\n",
			columns: []string{"email", "name", "organisation"},
			want:    []string{"2 jan@example.nl|Jan Jansen|Gemeente|"},
		},
		{
			name:    "dutch excel: semicolon, BOM, CRLF",
			in:      "\ufeffE-mailadres;Naam;Organisatie;Functie\r\nJan@Example.NL;Jan  de   Vries ;ROC;docent\r\npiet@example.nl;Piet;;\r\n",
			columns: []string{"E-mailadres", "Naam", "Organisatie", "Functie"},
			want: []string{
				"2 jan@example.nl|Jan de Vries|ROC|Functie=docent",
				"3 piet@example.nl|Piet||",
			},
		},
		{
			name: "quoted newline keeps line numbers",
			in:   "email;name;notes\na@x.nl;A;\"one\r\ntwo\r\nthree\"\nb@x.nl;\"B; the second\";\n\"c@x.nl\";C;\"x\"\"y\"\n",
			want: []string{
				"2 a@x.nl|A||notes=one\ntwo\nthree",
				"5 b@x.nl|B; the second||",
				"6 c@x.nl|C||notes=x\"y",
			},
		},
		{
			name: "IDN domain",
			in:   "email\ninfo@bücher.de\n",
			want: []string{"2 info@xn--bcher-kva.de|||"},
		},
		{
			name: "duplicates inside the file",
			in:   "email,name\njan@x.nl,Jan\nJAN@X.NL ,Jan again\nbad,Bad\npiet@x.nl,Piet\njan@x.nl,Third\n",
			want: []string{
				"2 jan@x.nl|Jan||",
				"3 ERR jan@x.nl is a duplicate of line 2",
				"4 ERR \"bad\" has no @",
				"5 piet@x.nl|Piet||",
				"6 ERR jan@x.nl is a duplicate of line 2",
			},
		},
		{
			name: "rejected row does not claim the address",
			in:   "email,name\njan@x.nl,Jan,extra\njan@x.nl,Jan\n",
			want: []string{
				"2 ERR row has 3 fields, the header has 2",
				"3 jan@x.nl|Jan||",
			},
		},
		{
			name: "display name and two addresses",
			in:   "email;name\nJan <jan@x.nl>;Jan\n\"a@x.nl; b@y.nl\";Two\n",
			want: []string{
				"2 ERR write only the address, e.g. jan@x.nl",
				"3 ERR one address per row",
			},
		},
		{
			name: "field count",
			in:   "email;name;organisation\na@x.nl;A\nb@x.nl;B;Org;extra\nc@x.nl;C;Org\n",
			want: []string{
				"2 ERR row has 2 fields, the header has 3: add the missing separators",
				"3 ERR row has 4 fields, the header has 3: put quotes around values that contain \";\"",
				"4 c@x.nl|C|Org|",
			},
		},
		{
			name: "empty rows skipped, not rejected",
			in:   "\n\nemail;name\n\n;\n  ;  \r\na@x.nl;A\n\r\n\n",
			want: []string{"7 a@x.nl|A||"},
		},
		{
			name: "row without email is rejected",
			in:   "email;name\n;Only a name\n",
			want: []string{"2 ERR the address is empty"},
		},
		{
			name: "first, infix and last name joined",
			in:   "Voornaam,Tussenvoegsel,Achternaam,E-mail,Bedrijf\nJan,van der,Berg,jan@x.nl,Acme\nPiet,,Jansen,piet@x.nl,\n",
			want: []string{
				"2 jan@x.nl|Jan van der Berg|Acme|",
				"3 piet@x.nl|Piet Jansen||",
			},
		},
		{
			name: "english first_name last_name, full name wins",
			in:   "first_name,last_name,name,mail,company\nJohn,Smith,,john@x.com,Acme\nJohn,Smith,Johnny S,j2@x.com,\n",
			want: []string{
				"2 john@x.com|John Smith|Acme|",
				"3 j2@x.com|Johnny S||",
			},
		},
		{
			name: "header variants",
			in:   "E-Mail Adres\tVolledige naam\tOrganization\n a@x.nl \tA\tOrg\n",
			want: []string{"2 a@x.nl|A|Org|"},
		},
		{
			name: "invalid UTF-8 rejected",
			in:   "email;name\njos\xe9@x.nl;Jos\xe9\nb@x.nl;B\n",
			want: []string{
				"2 ERR row is not valid UTF-8: save the file as CSV UTF-8",
				"3 b@x.nl|B||",
			},
		},
		{
			name: "overly long field",
			in:   "email;name;bio\na@x.nl;A;" + strings.Repeat("x", 1025) + "\nb@x.nl;B;" + strings.Repeat("x", 1024) + "\n",
			want: []string{
				"2 ERR the bio field is 1025 bytes long",
				"3 b@x.nl|B||bio=" + strings.Repeat("x", 1024),
			},
		},
		{
			name: "excel sep line",
			in:   "sep=,\r\nemail,name\r\na@x.nl,\"A, B\"\r\n",
			want: []string{"3 a@x.nl|A, B||"},
		},
		{
			name: "old mac CR line ends",
			in:   "email;name\ra@x.nl;A\rb@x.nl;B\r",
			want: []string{"2 a@x.nl|A||", "3 b@x.nl|B||"},
		},
		{
			name: "no trailing newline",
			in:   "email\na@x.nl",
			want: []string{"2 a@x.nl|||"},
		},
		{
			name: "formula quote from an export is removed",
			in:   "email,name,phone\n'-jan@x.nl,'=HYPERLINK(),'+31 20 123\n",
			want: []string{"2 -jan@x.nl|=HYPERLINK()||phone=+31 20 123"},
		},
		{
			name: "stray quotes in unquoted field",
			in:   "email;name\na@x.nl;Jan \"JJ\" Jansen\n",
			want: []string{"2 a@x.nl|Jan \"JJ\" Jansen||"},
		},
		{
			name: "unclosed quote is pointed at",
			in:   "email;name\na@x.nl;\"Jan\nb@x.nl;B\n",
			want: []string{"2 ERR the name field has a line break in it (this row runs from line 2 to line 3: check for a missing closing quote)"},
		},
		{
			name: "unclosed quote in a free-text column",
			in:   "email;notes\na@x.nl;\"note\nb@x.nl;B\n",
			want: []string{"2 ERR the notes field has a line break followed by \";\""},
		},
		{
			name: "unnamed columns",
			in:   "email;;\na@x.nl;;\nb@x.nl;;x\n",
			want: []string{"2 a@x.nl|||", "3 b@x.nl|||column 3=x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cols, got := readAll(t, tt.in)
			if tt.columns != nil && !slices.Equal(cols, tt.columns) {
				t.Errorf("Columns() = %q, want %q", cols, tt.columns)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d rows, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				w := tt.want[i]
				if strings.Contains(w, " ERR ") {
					if !strings.HasPrefix(got[i], w[:strings.Index(w, " ERR ")+5]) || !strings.Contains(got[i], w[strings.Index(w, " ERR ")+5:]) {
						t.Errorf("row %d = %q, want %q", i, got[i], w)
					}
					continue
				}
				if got[i] != w {
					t.Errorf("row %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

func TestUnclosedQuoteHint(t *testing.T) {
	t.Parallel()
	_, rows := readAll(t, "email;name\na@x.nl;\"Jan\nb@x.nl;B\nc@x.nl;C\n")
	if len(rows) != 1 || !strings.Contains(rows[0], "runs from line 2 to line 4: check for a missing closing quote") {
		t.Fatalf("rows = %q", rows)
	}
}

func TestNewReaderRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"empty", "", "the file is empty"},
		{"only blank lines", "\n\r\n\n", "the file is empty"},
		{"bom only", "\ufeff", "the file is empty"},
		{"no email column", "name;organisation\nJan;X\n", "the header row needs an email column, e.g. email,name,organisation (it has: name, organisation)"},
		{"data instead of header", "jan@x.nl;Jan\n", "the first row holds an address (jan@x.nl), not column names"},
		{"two email columns", "email,e-mail\n", "two email columns (\"email\" and \"e-mail\")"},
		{"duplicate column", "email,Lid,lid\n", "the column \"lid\" twice"},
		{"header not utf-8", "email;Functi\xeb\n", "header row is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := subscribercsv.NewReader(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewReader error %v, want %q", err, tt.want)
			}
			if newsletter.ErrorCode(err) != newsletter.EINVALID {
				t.Fatalf("code %q, want EINVALID", newsletter.ErrorCode(err))
			}
		})
	}
}

func TestRunawayQuoteStopsTheImport(t *testing.T) {
	t.Parallel()
	// A quote that never closes would make the rest of the file one row.
	in := io.MultiReader(
		strings.NewReader("email;name\na@x.nl;A\nb@x.nl;\"B\n"),
		&repeat{line: "c@x.nl;C\n", n: 300_000},
	)
	rd, err := subscribercsv.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := rd.Next(); err != nil || r.Email != "a@x.nl" {
		t.Fatalf("first row: %+v, %v", r, err)
	}
	_, err = rd.Next()
	if err == nil || !strings.Contains(err.Error(), "longer than 1 MiB: check it for a quote") {
		t.Fatalf("Next error %v, want the runaway-row error", err)
	}
	if _, err2 := rd.Next(); err2 == nil {
		t.Fatal("Next after a fatal error succeeded")
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadErrorIsReturned(t *testing.T) {
	t.Parallel()
	rd, err := subscribercsv.NewReader(io.MultiReader(strings.NewReader("email\na@x.nl\n"), failingReader{}))
	if err == nil {
		_, err = rd.Next()
		for err == nil {
			_, err = rd.Next()
		}
	}
	if err == io.EOF || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("error %v, want the read error", err)
	}
}

// repeat is an io.Reader that yields line n times without holding them.
type repeat struct {
	line string
	n    int
	off  int
}

func (r *repeat) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) {
		if r.n == 0 {
			if w == 0 {
				return 0, io.EOF
			}
			break
		}
		c := copy(p[w:], r.line[r.off:])
		w += c
		r.off += c
		if r.off == len(r.line) {
			r.off = 0
			r.n--
		}
	}
	return w, nil
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"email,name\njan@x.nl,Jan\n",
		"\ufeffe-mail;naam\r\n\"a@x.nl\";\"A\r\nB\"\r\na@x.nl;dup\r\n",
		"email;name\nJan <jan@x.nl>;Jan\n\n;\n\"a@x.nl; b@y.nl\";Two\n",
		"sep=;\nemail;x\na@b.nl;'=1\n",
		"email;name\ra@x.nl;A\r",
		"voornaam,achternaam,email\nJan,Berg,j@x.nl,extra\n",
		"email\n\"a@x.nl\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rd, err := subscribercsv.NewReader(strings.NewReader(in))
		if err != nil {
			return
		}
		prev := 0
		seen := map[string]bool{}
		for {
			r, err := rd.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if newsletter.ErrorCode(err) == newsletter.EINTERNAL {
					t.Fatalf("Next: %v", err)
				}
				return
			}
			if r.Line <= prev {
				t.Fatalf("line %d after line %d", r.Line, prev)
			}
			prev = r.Line
			if r.Err != nil {
				if r.Email != "" {
					t.Fatalf("rejected row has an email: %+v", r)
				}
				continue
			}
			if r.Email == "" || strings.Count(r.Email, "@") != 1 {
				t.Fatalf("accepted row without a normalised email: %+v", r)
			}
			if seen[r.Email] {
				t.Fatalf("duplicate %s accepted", r.Email)
			}
			seen[r.Email] = true
		}
	})
}

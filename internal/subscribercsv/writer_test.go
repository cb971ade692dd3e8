package subscribercsv_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"newsletter/internal/subscribercsv"
)

func TestWriterDefusesFormulas(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"=HYPERLINK(\"http://evil\",\"click\")", `"'=HYPERLINK(""http://evil"",""click"")"`},
		{"+31 20 123 4567", "'+31 20 123 4567"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "\"'\r=1\""},
		{"＝1+1", "'＝1+1"},
		{"'quoted", "''quoted"},
		{"jan@example.nl", "jan@example.nl"},
		{"a=b", "a=b"},
		{"", ""},
		{"Jan, de \"Vries\"", `"Jan, de ""Vries"""`},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		// Dutch Excel splits on ";": such a value is quoted, and a formula
		// start after any separator is defused too.
		{"Jan;=cmd|' /C calc'!A0", `"Jan;'=cmd|' /C calc'!A0"`},
		{"a;b", `"a;b"`},
		{"x,+1;@2", `"x,'+1;'@2"`},
		{" padded", `" padded"`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		w := subscribercsv.NewWriter(&buf, []string{"value"})
		if err := w.Write([]string{tt.in}); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		want := "value\n" + tt.want + "\n"
		if buf.String() != want {
			t.Errorf("Write(%q) wrote %q, want %q", tt.in, buf.String(), want)
		}
	}
}

func TestWriterBOMAndHeader(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := subscribercsv.NewWriter(&buf, []string{"email", "name", "organisation", "status", "lists"}, subscribercsv.WithBOM())
	if err := w.Write([]string{"jan@example.nl", "José Müller", "Gemeente, Zorg", "active", "algemeen zorg"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]string{"too", "few"}); err == nil {
		t.Fatal("Write with the wrong field count succeeded")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "\ufeffemail,name,organisation,status,lists\njan@example.nl,José Müller,\"Gemeente, Zorg\",active,algemeen zorg\n"
	if buf.String() != want {
		t.Fatalf("wrote %q, want %q", buf.String(), want)
	}
}

// Read as a spreadsheet with ";" as the separator would, ignoring the
// CSV quoting, no cell of an export starts a formula.
func TestWriterNoFormulaCellWithEitherSeparator(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := subscribercsv.NewWriter(&buf, []string{"email", "name"})
	for _, v := range []string{"Jan;=cmd|' /C calc'!A0", "a,-1", "b;+2,@3", "=x"} {
		if err := w.Write([]string{"e@example.nl", v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		for _, cell := range strings.FieldsFunc(line, func(r rune) bool { return r == ';' || r == ',' }) {
			cell = strings.TrimLeft(cell, `"`)
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("line %q has a formula cell %q", line, cell)
			}
		}
	}
}

func TestExportReimportRoundTrip(t *testing.T) {
	t.Parallel()
	rows := [][]string{
		{"-jan@example.nl", "=Jan", "+Org", "'=literal"},
		{"piet@example.nl", "Piet 'P' Jansen", "'Quote Org", "@home"},
		{"kees@example.nl", "Kees", "", "line one\nline two"},
		{"mies@example.nl", "Jan;=cmd|' /C calc'!A0", "A;'-B,@C", "x;'y"},
	}
	var buf bytes.Buffer
	w := subscribercsv.NewWriter(&buf, []string{"email", "name", "organisation", "note"}, subscribercsv.WithBOM())
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	rd, err := subscribercsv.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range rows {
		got, err := rd.Next()
		if err != nil || got.Err != nil {
			t.Fatalf("Next: %+v, %v", got, err)
		}
		if got.Email != want[0] || got.Name != want[1] || got.Organisation != want[2] || got.Attributes["note"] != want[3] {
			t.Fatalf("round trip: got %+v, want %q", got, want)
		}
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("after the last row: %v", err)
	}
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("pipe closed") }

func TestWriterReportsErrors(t *testing.T) {
	t.Parallel()
	w := subscribercsv.NewWriter(brokenWriter{}, []string{"email"})
	w.Write([]string{strings.Repeat("a", 10000) + "@x.nl"})
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "pipe closed") {
		t.Fatalf("Flush error %v, want the write error", err)
	}
}

func TestWriterSemicolons(t *testing.T) {
	var b strings.Builder
	w := subscribercsv.NewWriter(&b, []string{"email", "name"}, subscribercsv.WithSemicolons(), subscribercsv.WithBOM())
	if err := w.Write([]string{"a@example.org", "Jan; de Vries"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := "\ufeffemail;name\na@example.org;\"Jan; de Vries\"\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

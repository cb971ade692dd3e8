package webui

import (
	"bytes"
	"testing"
)

// The column mapping rewrites only the header line of an upload: every
// byte after it reaches the importer as it was, so the report's line
// numbers are the file's. Reading the preview never fails on any input.
func FuzzImportHeader(f *testing.F) {
	f.Add([]byte("email;naam\na@example.org;A\n"), "email", "name")
	f.Add([]byte("\ufeffadres,wie\r\nb@example.org,B\r\n"), "email", "na\"me")
	f.Add([]byte("\"e\nmail\",x\n"), "", ";")
	f.Fuzz(func(t *testing.T, data []byte, h1, h2 string) {
		sample(data, 5)
		out := withHeader(data, []string{h1, h2})
		body := bytes.TrimPrefix(data, []byte("\ufeff"))
		_, rest, found := bytes.Cut(body, []byte("\n"))
		if !found {
			return
		}
		_, gotRest, _ := bytes.Cut(out, []byte("\n"))
		if h1+h2 != "" && bytes.ContainsAny([]byte(h1+h2), "\n") {
			return // a header with a line break spans lines itself
		}
		if !bytes.Equal(gotRest, rest) {
			t.Errorf("the rows changed:\n%q\n→\n%q", rest, gotRest)
		}
	})
}

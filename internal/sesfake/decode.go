package sesfake

import (
	"io"
	"net/http"
	"unicode/utf8"
)

// maxBody is the largest request body a send call reads.
const maxBody = 50 << 20

// readBody is io.ReadAll of the body (at most maxBody), into a buffer of
// the announced length instead of a growing one.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rd := http.MaxBytesReader(w, r.Body, maxBody)
	n := r.ContentLength
	if n <= 0 || n > maxBody {
		return io.ReadAll(rd)
	}
	b := make([]byte, 0, n+1) // +1: room to see the end
	for {
		k, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+k]
		switch {
		case err == io.EOF:
			return b, nil
		case err != nil:
			return b, err
		case len(b) == cap(b): // longer than announced
			rest, err := io.ReadAll(rd)
			return append(b, rest...), err
		}
	}
}

// A bulk call's body is some 80 KB of JSON, most of it the entries' own
// template data (JSON in a JSON string); encoding/json took about a
// quarter of the endpoint's CPU reading it. reader reads the bodies the
// SDK sends, of exactly the request types' fields, in place, and gives up
// (ok false) on anything else: unknown, duplicated or differently cased
// names, null, numbers, invalid UTF-8, control characters (even white
// space), any syntax error. The caller then
// decodes with encoding/json, so results and errors are what they were.
// FuzzDecodeBulk compares the two.
type reader struct {
	s  string
	i  int
	ok bool
	// The slices read are cut from these, a few allocations a call rather
	// than some per entry.
	hs   []Header
	strs []string
}

// newReader reads s, if it is valid UTF-8 without control characters:
// the SDK sends no white space but spaces.
func newReader(s string) *reader {
	return &reader{s: s, ok: utf8.ValidString(s) && !hasCtl(s), hs: make([]Header, 0, 64), strs: make([]string, 0, 64)}
}

func (r *reader) fail() bool { r.ok = false; return false }

func (r *reader) ws() { r.i = skipWS(r.s, r.i) }

// next skips white space and reports whether c is next, consuming it.
func (r *reader) next(c byte) bool {
	r.ws()
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

func (r *reader) str() string {
	if !r.ok {
		return ""
	}
	r.ws()
	v, i, ok := jsonString(r.s, r.i)
	if !ok {
		r.fail()
		return ""
	}
	r.i = i
	return v
}

// object calls field for every name of an object, which reads the value
// and reports whether it knew the name. A name seen twice is a failure
// (encoding/json merges repeated objects): seen has one bit per known
// name, set by field's index.
func (r *reader) object(field func(name string) (index int)) {
	if !r.ok || !r.next('{') {
		r.fail()
		return
	}
	if r.next('}') {
		return
	}
	var seen uint64
	for r.ok {
		name := r.str()
		if !r.ok || !r.next(':') {
			r.fail()
			return
		}
		n := field(name)
		if n < 0 || seen&(1<<n) != 0 {
			r.fail()
			return
		}
		seen |= 1 << n
		if r.next('}') {
			return
		}
		if !r.next(',') {
			r.fail()
			return
		}
	}
}

// array calls elem for every element of an array.
func (r *reader) array(elem func()) {
	if !r.ok || !r.next('[') {
		r.fail()
		return
	}
	if r.next(']') {
		return
	}
	for r.ok {
		elem()
		if r.next(']') {
			return
		}
		if !r.next(',') {
			r.fail()
			return
		}
	}
}

// strings is a []string as encoding/json decodes one (empty, not nil, for
// []). Its capacity is its length: an append does not touch the next.
func (r *reader) strings() []string {
	start := len(r.strs)
	r.array(func() { r.strs = append(r.strs, r.str()) })
	return r.strs[start:len(r.strs):len(r.strs)]
}

func (r *reader) headers() []Header {
	start := len(r.hs)
	r.array(func() {
		r.hs = append(r.hs, Header{})
		h := &r.hs[len(r.hs)-1]
		r.object(func(name string) int {
			switch name {
			case "Name":
				h.Name = r.str()
				return 0
			case "Value":
				h.Value = r.str()
				return 1
			}
			return -1
		})
	})
	return r.hs[start:len(r.hs):len(r.hs)]
}

func (r *reader) destination() *destination {
	d := &destination{}
	r.object(func(name string) int {
		switch name {
		case "ToAddresses":
			d.ToAddresses = r.strings()
			return 0
		case "CcAddresses":
			d.CcAddresses = r.strings()
			return 1
		case "BccAddresses":
			d.BccAddresses = r.strings()
			return 2
		}
		return -1
	})
	return d
}

// end reports whether all of the body was read.
func (r *reader) end() bool {
	r.ws()
	return r.ok && r.i == len(r.s)
}

// decodeBulk reads body into req as json.Unmarshal would; false if it
// cannot (req is then partly filled: start over).
func decodeBulk(body string, req *sendBulkEmailRequest) bool {
	r := newReader(body)
	r.object(func(name string) int {
		switch name {
		case "FromEmailAddress":
			req.FromEmailAddress = r.str()
			return 0
		case "ReplyToAddresses":
			req.ReplyToAddresses = r.strings()
			return 1
		case "DefaultContent":
			req.DefaultContent = &defaultContent{}
			r.object(func(name string) int {
				if name != "Template" {
					return -1
				}
				t := &bulkTemplateField{}
				req.DefaultContent.Template = t
				r.object(func(name string) int {
					switch name {
					case "TemplateName":
						t.TemplateName = r.str()
						return 0
					case "TemplateArn":
						t.TemplateArn = r.str()
						return 1
					case "TemplateContent":
						c := &templateFields{}
						t.TemplateContent = c
						r.object(func(name string) int {
							switch name {
							case "Subject":
								c.Subject = r.str()
								return 0
							case "Html":
								c.Html = r.str()
								return 1
							case "Text":
								c.Text = r.str()
								return 2
							}
							return -1
						})
						return 2
					case "TemplateData":
						t.TemplateData = r.str()
						return 3
					case "Headers":
						t.Headers = r.headers()
						return 4
					}
					return -1
				})
				return 0
			})
			return 2
		case "BulkEmailEntries":
			req.BulkEmailEntries = []bulkEntryFields{}
			r.array(func() {
				var e bulkEntryFields
				r.object(func(name string) int {
					switch name {
					case "Destination":
						e.Destination = r.destination()
						return 0
					case "ReplacementEmailContent":
						e.ReplacementEmailContent = &replacementContent{}
						r.object(func(name string) int {
							if name != "ReplacementTemplate" {
								return -1
							}
							t := &replacementTemplate{}
							e.ReplacementEmailContent.ReplacementTemplate = t
							r.object(func(name string) int {
								if name != "ReplacementTemplateData" {
									return -1
								}
								t.ReplacementTemplateData = r.str()
								return 0
							})
							return 0
						})
						return 1
					case "ReplacementHeaders":
						e.ReplacementHeaders = r.headers()
						return 2
					case "ReplacementTags":
						e.ReplacementTags = r.headers()
						return 3
					}
					return -1
				})
				req.BulkEmailEntries = append(req.BulkEmailEntries, e)
			})
			return 3
		case "DefaultEmailTags":
			req.DefaultEmailTags = r.headers()
			return 4
		case "ConfigurationSetName":
			req.ConfigurationSetName = r.str()
			return 5
		}
		return -1
	})
	return r.end()
}

// decodeSingle reads a SendEmail body of Simple content into req as
// json.Unmarshal would; false if it cannot (start over).
func decodeSingle(body string, req *sendEmailRequest) bool {
	r := newReader(body)
	part := func() *contentPart {
		p := &contentPart{}
		r.object(func(name string) int {
			switch name {
			case "Data":
				p.Data = r.str()
				return 0
			case "Charset":
				p.Charset = r.str()
				return 1
			}
			return -1
		})
		return p
	}
	r.object(func(name string) int {
		switch name {
		case "FromEmailAddress":
			req.FromEmailAddress = r.str()
			return 0
		case "ReplyToAddresses":
			req.ReplyToAddresses = r.strings()
			return 1
		case "Destination":
			req.Destination = r.destination()
			return 2
		case "Content":
			req.Content = &emailContent{}
			r.object(func(name string) int {
				if name != "Simple" {
					return -1 // Raw (base64) and Template: encoding/json
				}
				sc := &simpleContent{}
				req.Content.Simple = sc
				r.object(func(name string) int {
					switch name {
					case "Subject":
						sc.Subject = part()
						return 0
					case "Body":
						sc.Body = &struct{ Text, Html *contentPart }{}
						r.object(func(name string) int {
							switch name {
							case "Text":
								sc.Body.Text = part()
								return 0
							case "Html":
								sc.Body.Html = part()
								return 1
							}
							return -1
						})
						return 1
					case "Headers":
						sc.Headers = r.headers()
						return 2
					}
					return -1
				})
				return 0
			})
			return 3
		case "EmailTags":
			req.EmailTags = r.headers()
			return 4
		case "ConfigurationSetName":
			req.ConfigurationSetName = r.str()
			return 5
		}
		return -1
	})
	return r.end()
}

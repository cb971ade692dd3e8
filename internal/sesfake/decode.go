package sesfake

import (
	"io"
	"net/http"

	"newsletter/internal/jsonstr"
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
// SDK sends, of exactly the request types' fields, in place
// (jsonstr.Reader), and gives up on anything else. The caller then
// decodes with encoding/json, so results and errors are what they were.
// FuzzDecodeBulk compares the two.
type reader struct {
	*jsonstr.Reader
	// The slices read are cut from these, a few allocations a call rather
	// than some per entry.
	hs   []Header
	strs []string
}

func newReader(s string) *reader {
	return &reader{Reader: jsonstr.NewReader(s), hs: make([]Header, 0, 64), strs: make([]string, 0, 64)}
}

// strings is a []string as encoding/json decodes one (empty, not nil, for
// []). Its capacity is its length: an append does not touch the next.
func (r *reader) strings() []string {
	start := len(r.strs)
	r.Array(func() { r.strs = append(r.strs, r.Str()) })
	return r.strs[start:len(r.strs):len(r.strs)]
}

func (r *reader) headers() []Header {
	start := len(r.hs)
	r.Array(func() {
		r.hs = append(r.hs, Header{})
		h := &r.hs[len(r.hs)-1]
		r.Object(func(name string) int {
			switch name {
			case "Name":
				h.Name = r.Str()
				return 0
			case "Value":
				h.Value = r.Str()
				return 1
			}
			return -1
		})
	})
	return r.hs[start:len(r.hs):len(r.hs)]
}

func (r *reader) destination() *destination {
	d := &destination{}
	r.Object(func(name string) int {
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

// decodeBulk reads body into req as json.Unmarshal would; false if it
// cannot (req is then partly filled: start over).
func decodeBulk(body string, req *sendBulkEmailRequest) bool {
	r := newReader(body)
	r.Object(func(name string) int {
		switch name {
		case "FromEmailAddress":
			req.FromEmailAddress = r.Str()
			return 0
		case "ReplyToAddresses":
			req.ReplyToAddresses = r.strings()
			return 1
		case "DefaultContent":
			req.DefaultContent = &defaultContent{}
			r.Object(func(name string) int {
				if name != "Template" {
					return -1
				}
				t := &bulkTemplateField{}
				req.DefaultContent.Template = t
				r.Object(func(name string) int {
					switch name {
					case "TemplateName":
						t.TemplateName = r.Str()
						return 0
					case "TemplateArn":
						t.TemplateArn = r.Str()
						return 1
					case "TemplateContent":
						c := &templateFields{}
						t.TemplateContent = c
						r.Object(func(name string) int {
							switch name {
							case "Subject":
								c.Subject = r.Str()
								return 0
							case "Html":
								c.Html = r.Str()
								return 1
							case "Text":
								c.Text = r.Str()
								return 2
							}
							return -1
						})
						return 2
					case "TemplateData":
						t.TemplateData = r.Str()
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
			r.Array(func() {
				var e bulkEntryFields
				r.Object(func(name string) int {
					switch name {
					case "Destination":
						e.Destination = r.destination()
						return 0
					case "ReplacementEmailContent":
						e.ReplacementEmailContent = &replacementContent{}
						r.Object(func(name string) int {
							if name != "ReplacementTemplate" {
								return -1
							}
							t := &replacementTemplate{}
							e.ReplacementEmailContent.ReplacementTemplate = t
							r.Object(func(name string) int {
								if name != "ReplacementTemplateData" {
									return -1
								}
								t.ReplacementTemplateData = r.Str()
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
			req.ConfigurationSetName = r.Str()
			return 5
		}
		return -1
	})
	return r.End()
}

// decodeSingle reads a SendEmail body of Simple content into req as
// json.Unmarshal would; false if it cannot (start over).
func decodeSingle(body string, req *sendEmailRequest) bool {
	r := newReader(body)
	part := func() *contentPart {
		p := &contentPart{}
		r.Object(func(name string) int {
			switch name {
			case "Data":
				p.Data = r.Str()
				return 0
			case "Charset":
				p.Charset = r.Str()
				return 1
			}
			return -1
		})
		return p
	}
	r.Object(func(name string) int {
		switch name {
		case "FromEmailAddress":
			req.FromEmailAddress = r.Str()
			return 0
		case "ReplyToAddresses":
			req.ReplyToAddresses = r.strings()
			return 1
		case "Destination":
			req.Destination = r.destination()
			return 2
		case "Content":
			req.Content = &emailContent{}
			r.Object(func(name string) int {
				if name != "Simple" {
					return -1 // Raw (base64) and Template: encoding/json
				}
				sc := &simpleContent{}
				req.Content.Simple = sc
				r.Object(func(name string) int {
					switch name {
					case "Subject":
						sc.Subject = part()
						return 0
					case "Body":
						sc.Body = &struct{ Text, Html *contentPart }{}
						r.Object(func(name string) int {
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
			req.ConfigurationSetName = r.Str()
			return 5
		}
		return -1
	})
	return r.End()
}

package ses

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// DeserializeResponse implements smithyhttp.ClientProtocol. The answers
// of SendBulkEmail and SendEmail that succeeded are read here when they
// have the shape SES gives them (a list of status and message id, or one
// message id, all plain ASCII): the SDK's reader walks the schema token by
// token, a tenth of the worker's time on a bulk call. Any other answer,
// and every error, goes to the SDK's reader with the same bytes;
// TestOutputMatchesSDK and FuzzOutput compare the two.
func (p *protocol) DeserializeResponse(ctx context.Context, op *smithy.OperationSchema, reg *smithy.TypeRegistry, resp *smithyhttp.Response, out smithy.Deserializable) error {
	if resp.StatusCode < 200 || resp.StatusCode >= 300 || resp.Body == nil {
		return p.ClientProtocol.DeserializeResponse(ctx, op, reg, resp, out)
	}
	var decode func([]byte) bool
	switch o := out.(type) {
	case *sesv2.SendBulkEmailOutput:
		decode = func(b []byte) bool { return decodeBulkOutput(b, o) }
	case *sesv2.SendEmailOutput:
		decode = func(b []byte) bool { return decodeSendOutput(b, o) }
	default:
		return p.ClientProtocol.DeserializeResponse(ctx, op, reg, resp, out)
	}
	buf := answerBufs.Get().(*bytes.Buffer)
	defer putAnswerBuf(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return &smithy.DeserializationError{Err: err}
	}
	if decode(buf.Bytes()) {
		return nil
	}
	_ = resp.Body.Close() // read to its end: the connection is free again
	resp.Body = io.NopCloser(bytes.NewReader(bytes.Clone(buf.Bytes())))
	return p.ClientProtocol.DeserializeResponse(ctx, op, reg, resp, out)
}

var answerBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putAnswerBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		answerBufs.Put(b)
	}
}

// decodeBulkOutput reads {"BulkEmailEntryResults":[{"Status":…,
// "MessageId":…,"Error":…},…]} into out; false (out untouched) for
// anything else.
func decodeBulkOutput(b []byte, out *sesv2.SendBulkEmailOutput) bool {
	s := scanner{b: string(b)}
	var res []types.BulkEmailEntryResult
	var vals []string // the values the results point to, a block at a time
	seen := false
	ok := s.object(func(key string) bool {
		if key != "BulkEmailEntryResults" || seen || !s.lit('[') {
			return false
		}
		seen = true
		res = make([]types.BulkEmailEntryResult, 0, 50)
		if s.lit(']') {
			return true
		}
		for {
			var r types.BulkEmailEntryResult
			if !s.object(func(key string) bool {
				v, ok := s.str()
				if !ok {
					return false
				}
				if key == "Status" {
					r.Status = types.BulkEmailStatus(v)
					return true
				}
				if key != "MessageId" && key != "Error" {
					return false
				}
				if len(vals) == cap(vals) {
					vals = make([]string, 0, 64)
				}
				vals = append(vals, v)
				if key == "MessageId" {
					r.MessageId = &vals[len(vals)-1]
				} else {
					r.Error = &vals[len(vals)-1]
				}
				return true
			}) {
				return false
			}
			res = append(res, r)
			if s.lit(']') {
				return true
			}
			if !s.lit(',') {
				return false
			}
		}
	})
	if !ok || !seen || !s.end() {
		return false
	}
	out.BulkEmailEntryResults = res
	return true
}

// decodeSendOutput reads {"MessageId":…} into out; false (out untouched)
// for anything else.
func decodeSendOutput(b []byte, out *sesv2.SendEmailOutput) bool {
	s := scanner{b: string(b)}
	var id *string
	ok := s.object(func(key string) bool {
		v, ok := s.str()
		if !ok || key != "MessageId" || id != nil {
			return false
		}
		id = &v
		return true
	})
	if !ok || id == nil || !s.end() {
		return false
	}
	out.MessageId = id
	return true
}

// scanner reads the small JSON of those answers: objects, arrays and
// strings of printable ASCII without escapes; anything else is a miss.
// The values it returns are substrings of b (one copy of the answer).
type scanner struct {
	b string
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// lit consumes c (after white space) if it is next.
func (s *scanner) lit(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string.
func (s *scanner) str() (string, bool) {
	if !s.lit('"') {
		return "", false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			return v, true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return "", false
		}
		s.i++
	}
	return "", false
}

// object reads {"key": value, …}, handing each key to member, which reads
// the value; member false or anything malformed is false.
func (s *scanner) object(member func(key string) bool) bool {
	if !s.lit('{') {
		return false
	}
	if s.lit('}') {
		return true
	}
	for {
		k, ok := s.str()
		if !ok || !s.lit(':') || !member(k) {
			return false
		}
		if s.lit('}') {
			return true
		}
		if !s.lit(',') {
			return false
		}
	}
}

// end reports whether only white space is left.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

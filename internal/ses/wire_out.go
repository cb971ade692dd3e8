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

	"newsletter/internal/jsonstr"
)

// DeserializeResponse implements smithyhttp.ClientProtocol. The answers
// of SendBulkEmail and SendEmail that succeeded are read here when they
// have the shape SES gives them (a list of status and message id, or one
// message id; jsonstr.Reader): the SDK's reader walks the schema token by
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
	r := jsonstr.NewReader(string(b)) // the values are substrings of this copy
	var res []types.BulkEmailEntryResult
	var vals []string // the values the results point to, a block at a time
	keep := func(v string) *string {
		if len(vals) == cap(vals) {
			vals = make([]string, 0, 64)
		}
		vals = append(vals, v)
		return &vals[len(vals)-1]
	}
	r.Object(func(name string) int {
		if name != "BulkEmailEntryResults" {
			return -1
		}
		res = make([]types.BulkEmailEntryResult, 0, 50)
		r.Array(func() {
			var e types.BulkEmailEntryResult
			r.Object(func(name string) int {
				switch name {
				case "Status":
					e.Status = types.BulkEmailStatus(r.Str())
					return 0
				case "MessageId":
					e.MessageId = keep(r.Str())
					return 1
				case "Error":
					e.Error = keep(r.Str())
					return 2
				}
				return -1
			})
			res = append(res, e)
		})
		return 0
	})
	if !r.End() || res == nil {
		return false
	}
	out.BulkEmailEntryResults = res
	return true
}

// decodeSendOutput reads {"MessageId":…} into out; false (out untouched)
// for anything else.
func decodeSendOutput(b []byte, out *sesv2.SendEmailOutput) bool {
	r := jsonstr.NewReader(string(b))
	var id *string
	r.Object(func(name string) int {
		if name != "MessageId" {
			return -1
		}
		v := r.Str()
		id = &v
		return 0
	})
	if !r.End() || id == nil {
		return false
	}
	out.MessageId = id
	return true
}

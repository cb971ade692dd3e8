package ses

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"newsletter/internal/jsonstr"
)

// The SDK serialises a request by walking its schema and escaping every
// string byte by byte. For SendBulkEmail that is the whole edition (some
// 50 KB of HTML and text) again for every call of 50 recipients, and a
// third of the worker's CPU. protocol is the SDK's own protocol with
// one change: the bodies of SendBulkEmail and SendEmail are written here,
// a SendBulkEmail's default content encoded once per edition and reused
// while it stays the same, and their hashes handed to the signer.
// Everything else (the HTTP binding, signing, the transport, the answer)
// is the SDK's. An input with a field these encoders do not know goes to
// the SDK's serialiser unchanged; TestBulkBodyMatchesSDK and
// TestSendBodyMatchesSDK compare the bodies. For every operation it also
// hands net/http a body it can read to the end after the SDK closed it
// (sentBody).
type protocol struct {
	smithyhttp.ClientProtocol

	mu     sync.Mutex
	cache  [4]encodedContent // most recently used first
	hashed hashedHead
}

// hashedHead is the beginning of the last SendBulkEmail body, up to and
// with the default content, and the SHA-256 state after it: the signature
// covers the body's hash, and the content is most of the body and the
// same for every call of an edition, so the hash of the rest goes on
// from there (sentBody carries it to knownPayloadHash).
type hashedHead struct {
	head []byte
	hash hash.Cloner // never written to: each body goes on from a clone
}

// encodedContent is one default content and its JSON.
type encodedContent struct {
	src  *types.BulkEmailContent // a copy of what was encoded
	json []byte
}

func newProtocol(p smithyhttp.ClientProtocol) *protocol {
	return &protocol{ClientProtocol: p}
}

// SerializeRequest implements smithyhttp.ClientProtocol.
func (p *protocol) SerializeRequest(ctx context.Context, op *smithy.OperationSchema, in smithy.Serializable, req *smithyhttp.Request) error {
	bulk, ok := in.(*sesv2.SendBulkEmailInput)
	var body *bytes.Reader
	var sum string
	if ok && encodable(bulk) {
		// The binding (method, path, headers) of an input without a body
		// member set is the same as the full input's: SendBulkEmail has
		// no member bound to the path, query or headers.
		if err := p.ClientProtocol.SerializeRequest(ctx, op, &sesv2.SendBulkEmailInput{}, req); err != nil {
			return err
		}
		b, head := p.appendBulk(nil, bulk)
		sum = p.payloadHash(b, head)
		body = bytes.NewReader(b)
	} else if send, ok := in.(*sesv2.SendEmailInput); ok && sendEncodable(send) {
		// SendEmail has no member bound to the path, query or headers
		// either.
		if err := p.ClientProtocol.SerializeRequest(ctx, op, &sesv2.SendEmailInput{}, req); err != nil {
			return err
		}
		b := appendSend(nil, send)
		sum = p.payloadHash(b, 0)
		body = bytes.NewReader(b)
	} else {
		if err := p.ClientProtocol.SerializeRequest(ctx, op, in, req); err != nil {
			return err
		}
		body, _ = req.GetStream().(*bytes.Reader)
	}
	if body == nil {
		return nil
	}
	sreq, err := req.SetStream(sentBody{body, sum}) // without WriteTo: see sentBody
	if err != nil {
		return err
	}
	*req = *sreq
	return nil
}

// sentBody is a request body that net/http can finish reading after the
// SDK has closed it. The SDK closes a request's body as soon as the answer
// arrives; net/http's writer may then still be reading it once more, past
// its Content-Length, to check that nothing follows. On a closed body the
// SDK's wrapper answers that read with io.EOF, which is the normal end,
// unless the body has a WriteTo method: then the wrapper's WriteTo returns
// io.EOF as an error, net/http closes the connection, and the answer being
// read on it is lost (an SES call that succeeded reported as unknown: about
// one SendBulkEmail in 700 when the machine is busy). Hiding WriteTo keeps
// the read on the normal path.
type sentBody struct {
	r   *bytes.Reader
	sum string // hex SHA-256 of the whole body, when known
}

func (b sentBody) Read(p []byte) (int, error)                   { return b.r.Read(p) }
func (b sentBody) Seek(offset int64, whence int) (int64, error) { return b.r.Seek(offset, whence) }
func (b sentBody) Len() int                                     { return b.r.Len() }

// encodable reports whether every member of in that is set is one that
// appendBulk writes.
func encodable(in *sesv2.SendBulkEmailInput) bool {
	if in.ConfigurationOverrides != nil || in.EndpointId != nil || in.FeedbackForwardingEmailAddress != nil ||
		in.FeedbackForwardingEmailAddressIdentityArn != nil || in.FromEmailAddressIdentityArn != nil || in.TenantName != nil {
		return false
	}
	if c := in.DefaultContent; c != nil && c.Template != nil && len(c.Template.Attachments) > 0 {
		return false
	}
	return true
}

// payloadHash is the hex SHA-256 of body, whose first head bytes are
// hashed only when they differ from the last body's.
func (p *protocol) payloadHash(body []byte, head int) string {
	var d hash.Hash
	if head >= minHashedHead {
		p.mu.Lock()
		h := p.hashed
		p.mu.Unlock()
		if h.hash != nil && bytes.Equal(h.head, body[:head]) {
			if c, err := h.hash.Clone(); err == nil {
				d = c
			}
		}
	}
	if d == nil {
		d = sha256.New()
		d.Write(body[:head])
		// Cloning is missing only in a FIPS 140 v1.0.0 build: then every
		// body is hashed whole.
		if c, ok := d.(hash.Cloner); ok && head >= minHashedHead {
			if kept, err := c.Clone(); err == nil {
				p.mu.Lock()
				p.hashed = hashedHead{head: bytes.Clone(body[:head]), hash: kept}
				p.mu.Unlock()
			}
		}
	}
	d.Write(body[head:])
	return hex.EncodeToString(d.Sum(nil))
}

// minHashedHead is the shortest beginning worth keeping the state of.
const minHashedHead = 4096

// knownPayloadHash hands the signer the hash of a body that SerializeRequest
// already knows (sentBody.sum), so that the signer does not read the body
// again to hash it. It runs just before the signer's own ComputePayloadHash
// step, which leaves a known hash alone.
type knownPayloadHash struct{}

func (knownPayloadHash) ID() string { return "NewsletterKnownPayloadHash" }

func (knownPayloadHash) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		if b, ok := req.GetStream().(sentBody); ok && b.sum != "" {
			ctx = v4.SetPayloadHash(ctx, b.sum)
		}
	}
	return next.HandleFinalize(ctx, in)
}

// addKnownPayloadHash puts knownPayloadHash before the signer's hashing
// step; a stack without that step is left as it is.
func addKnownPayloadHash(st *middleware.Stack) error {
	if _, ok := st.Finalize.Get("ComputePayloadHash"); !ok {
		return nil
	}
	return st.Finalize.Insert(knownPayloadHash{}, "ComputePayloadHash", middleware.Before)
}

// appendBulk appends in as the JSON body of a SendBulkEmail request, and
// says how long its beginning up to and with the default content is (0
// without one).
func (p *protocol) appendBulk(b []byte, in *sesv2.SendBulkEmailInput) ([]byte, int) {
	var content []byte
	if in.DefaultContent != nil {
		content = p.content(in.DefaultContent)
	}
	if b == nil {
		// Room for all of it: growing a 100 KB body costs more than its
		// encoding.
		n := 1024 + len(content)
		for _, e := range in.BulkEmailEntries {
			n += 256
			if r := e.ReplacementEmailContent; r != nil && r.ReplacementTemplate != nil && r.ReplacementTemplate.ReplacementTemplateData != nil {
				n += len(*r.ReplacementTemplate.ReplacementTemplateData) * 5 / 4
			}
			n += pairsSize(e.ReplacementHeaders) + pairsSize(e.ReplacementTags)
		}
		b = make([]byte, 0, n)
	}
	b = appendSender(append(b, '{'), in.FromEmailAddress, in.ConfigurationSetName, in.ReplyToAddresses)
	if in.DefaultEmailTags != nil {
		b = appendKey(b, "DefaultEmailTags")
		b = appendPairs(b, in.DefaultEmailTags)
	}
	head := 0
	if in.DefaultContent != nil {
		b = appendKey(b, "DefaultContent")
		b = append(b, content...)
		head = len(b)
	}
	if in.BulkEmailEntries != nil {
		b = appendKey(b, "BulkEmailEntries")
		b = append(b, '[')
		for i := range in.BulkEmailEntries {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendEntry(b, &in.BulkEmailEntries[i])
		}
		b = append(b, ']')
	}
	return append(b, '}'), head
}

// content is the JSON of c, from the cache when c is the same as one
// encoded before.
func (p *protocol) content(c *types.BulkEmailContent) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, e := range p.cache {
		if e.src != nil && sameContent(e.src, c) {
			copy(p.cache[1:i+1], p.cache[:i])
			p.cache[0] = e
			return e.json
		}
	}
	e := encodedContent{src: copyContent(c), json: appendContent(nil, c)}
	copy(p.cache[1:], p.cache[:len(p.cache)-1])
	p.cache[0] = e
	return e.json
}

func appendContent(b []byte, c *types.BulkEmailContent) []byte {
	b = append(b, '{')
	if t := c.Template; t != nil {
		b = appendKey(b, "Template")
		b = append(b, '{')
		b = appendStringField(b, "TemplateName", t.TemplateName)
		b = appendStringField(b, "TemplateArn", t.TemplateArn)
		b = appendStringField(b, "TemplateData", t.TemplateData)
		if tc := t.TemplateContent; tc != nil {
			b = appendKey(b, "TemplateContent")
			b = append(b, '{')
			b = appendStringField(b, "Subject", tc.Subject)
			b = appendStringField(b, "Html", tc.Html)
			b = appendStringField(b, "Text", tc.Text)
			b = closeObject(b)
		}
		if t.Headers != nil {
			b = appendKey(b, "Headers")
			b = appendPairs(b, t.Headers)
		}
		b = closeObject(b)
	}
	return closeObject(b)
}

func appendEntry(b []byte, e *types.BulkEmailEntry) []byte {
	b = append(b, '{')
	b = appendDestination(b, e.Destination)
	if r := e.ReplacementEmailContent; r != nil {
		b = appendKey(b, "ReplacementEmailContent")
		b = append(b, '{')
		if t := r.ReplacementTemplate; t != nil {
			b = appendKey(b, "ReplacementTemplate")
			b = append(b, '{')
			b = appendStringField(b, "ReplacementTemplateData", t.ReplacementTemplateData)
			b = closeObject(b)
		}
		b = closeObject(b)
	}
	if e.ReplacementHeaders != nil {
		b = appendKey(b, "ReplacementHeaders")
		b = appendPairs(b, e.ReplacementHeaders)
	}
	if e.ReplacementTags != nil {
		b = appendKey(b, "ReplacementTags")
		b = appendPairs(b, e.ReplacementTags)
	}
	return closeObject(b)
}

// pairsSize is about what appendPairs writes of ps.
func pairsSize[T types.MessageHeader | types.MessageTag](ps []T) int {
	n := 0
	for _, p := range ps {
		h := types.MessageHeader(p)
		n += 32 + len(aws.ToString(h.Name)) + len(aws.ToString(h.Value))
	}
	return n
}

// appendSender appends the members both sends begin with.
func appendSender(b []byte, from, configSet *string, replyTo []string) []byte {
	b = appendStringField(b, "FromEmailAddress", from)
	b = appendStringField(b, "ConfigurationSetName", configSet)
	if replyTo != nil {
		b = appendKey(b, "ReplyToAddresses")
		b = appendStrings(b, replyTo)
	}
	return b
}

func appendDestination(b []byte, d *types.Destination) []byte {
	if d == nil {
		return b
	}
	b = appendKey(b, "Destination")
	b = append(b, '{')
	for _, f := range [...]struct {
		name string
		v    []string
	}{{"ToAddresses", d.ToAddresses}, {"CcAddresses", d.CcAddresses}, {"BccAddresses", d.BccAddresses}} {
		if f.v != nil {
			b = appendKey(b, f.name)
			b = appendStrings(b, f.v)
		}
	}
	return closeObject(b)
}

// sendEncodable reports whether every member of in that is set is one that
// appendSend writes: a simple message without attachments and the members
// Sender.Send sets.
func sendEncodable(in *sesv2.SendEmailInput) bool {
	if in.ConfigurationOverrides != nil || in.EndpointId != nil || in.FeedbackForwardingEmailAddress != nil ||
		in.FeedbackForwardingEmailAddressIdentityArn != nil || in.FromEmailAddressIdentityArn != nil ||
		in.ListManagementOptions != nil || in.TenantName != nil {
		return false
	}
	c := in.Content
	return c != nil && c.Raw == nil && c.Template == nil && c.Simple != nil && len(c.Simple.Attachments) == 0
}

// appendSend appends in as the JSON body of a SendEmail request, in one
// allocation of the right size: the SDK's serialiser escaped the whole
// email byte by byte into a buffer it grew as it went.
func appendSend(b []byte, in *sesv2.SendEmailInput) []byte {
	m := in.Content.Simple
	if b == nil {
		n := 1024 + contentSize(m.Subject) + pairsSize(m.Headers) + pairsSize(in.EmailTags)
		if m.Body != nil {
			n += contentSize(m.Body.Html) + contentSize(m.Body.Text)
		}
		b = make([]byte, 0, n)
	}
	b = appendSender(append(b, '{'), in.FromEmailAddress, in.ConfigurationSetName, in.ReplyToAddresses)
	b = appendDestination(b, in.Destination)
	if in.EmailTags != nil {
		b = appendKey(b, "EmailTags")
		b = appendPairs(b, in.EmailTags)
	}
	b = appendKey(b, "Content")
	b = append(b, '{')
	b = appendKey(b, "Simple")
	b = append(b, '{')
	b = appendContentField(b, "Subject", m.Subject)
	if m.Body != nil {
		b = appendKey(b, "Body")
		b = append(b, '{')
		b = appendContentField(b, "Html", m.Body.Html)
		b = appendContentField(b, "Text", m.Body.Text)
		b = closeObject(b)
	}
	if m.Headers != nil {
		b = appendKey(b, "Headers")
		b = appendPairs(b, m.Headers)
	}
	return closeObject(closeObject(closeObject(b)))
}

// contentSize is about what appendContentField writes of c.
func contentSize(c *types.Content) int {
	if c == nil {
		return 0
	}
	return 48 + len(aws.ToString(c.Charset)) + len(aws.ToString(c.Data))*9/8
}

func appendContentField(b []byte, name string, c *types.Content) []byte {
	if c == nil {
		return b
	}
	b = appendKey(b, name)
	b = append(b, '{')
	b = appendStringField(b, "Charset", c.Charset)
	b = appendStringField(b, "Data", c.Data)
	return closeObject(b)
}

// appendPairs appends headers or tags: a list of Name/Value objects.
func appendPairs[T types.MessageHeader | types.MessageTag](b []byte, ps []T) []byte {
	b = append(b, '[')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		h := types.MessageHeader(p)
		b = appendPair(b, h.Name, h.Value)
	}
	return append(b, ']')
}

func appendPair(b []byte, name, value *string) []byte {
	b = append(b, '{')
	b = appendStringField(b, "Name", name)
	b = appendStringField(b, "Value", value)
	return closeObject(b)
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, s)
	}
	return append(b, ']')
}

// appendKey appends "name": after a comma unless it opens the object.
func appendKey(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func appendStringField(b []byte, name string, v *string) []byte {
	if v == nil {
		return b
	}
	return jsonstr.Append(appendKey(b, name), *v)
}

func closeObject(b []byte) []byte { return append(b, '}') }

// sameContent reports whether a and b have the same members.
func sameContent(a, b *types.BulkEmailContent) bool {
	if (a.Template == nil) != (b.Template == nil) {
		return false
	}
	if a.Template == nil {
		return true
	}
	x, y := a.Template, b.Template
	if !sameString(x.TemplateName, y.TemplateName) || !sameString(x.TemplateArn, y.TemplateArn) ||
		!sameString(x.TemplateData, y.TemplateData) || len(x.Headers) != len(y.Headers) ||
		(x.Headers == nil) != (y.Headers == nil) || (x.TemplateContent == nil) != (y.TemplateContent == nil) {
		return false
	}
	for i := range x.Headers {
		if !sameString(x.Headers[i].Name, y.Headers[i].Name) || !sameString(x.Headers[i].Value, y.Headers[i].Value) {
			return false
		}
	}
	if x.TemplateContent == nil {
		return true
	}
	p, q := x.TemplateContent, y.TemplateContent
	return sameString(p.Subject, q.Subject) && sameString(p.Html, q.Html) && sameString(p.Text, q.Text)
}

func sameString(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// copyContent copies c deeply enough that a caller changing its input
// afterwards cannot change the cache's key.
func copyContent(c *types.BulkEmailContent) *types.BulkEmailContent {
	out := &types.BulkEmailContent{}
	if c.Template == nil {
		return out
	}
	t := *c.Template
	t.TemplateName, t.TemplateArn, t.TemplateData = copyString(t.TemplateName), copyString(t.TemplateArn), copyString(t.TemplateData)
	if t.Headers != nil {
		t.Headers = make([]types.MessageHeader, len(c.Template.Headers))
		for i, h := range c.Template.Headers {
			t.Headers[i] = types.MessageHeader{Name: copyString(h.Name), Value: copyString(h.Value)}
		}
	}
	if t.TemplateContent != nil {
		tc := *t.TemplateContent
		tc.Subject, tc.Html, tc.Text = copyString(tc.Subject), copyString(tc.Html), copyString(tc.Text)
		t.TemplateContent = &tc
	}
	out.Template = &t
	return out
}

func copyString(s *string) *string {
	if s == nil {
		return nil
	}
	v := *s
	return &v
}

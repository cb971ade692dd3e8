package ses_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"newsletter/internal/ses"
)

// captured is one request as the endpoint saw it.
type captured struct {
	method, path, contentType string
	body                      []byte
	signature                 error // checkSignature's verdict
}

// capture is an endpoint that keeps the last request and answers one
// success per entry.
func capture(t testing.TB) (*httptest.Server, func() captured) {
	var mu sync.Mutex
	var last captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = captured{r.Method, r.URL.Path, r.Header.Get("Content-Type"), b, checkSignature(r, b)}
		mu.Unlock()
		var in struct{ BulkEmailEntries []json.RawMessage }
		_ = json.Unmarshal(b, &in)
		res := make([]map[string]string, len(in.BulkEmailEntries))
		for i := range res {
			res[i] = map[string]string{"Status": "SUCCESS", "MessageId": "m"}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"BulkEmailEntryResults": res})
	}))
	t.Cleanup(srv.Close)
	return srv, func() captured {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

// bodies sends in through ses.NewClient and through a plain SDK client
// and returns what each put on the wire.
func bodies(t testing.TB, in *sesv2.SendBulkEmailInput) (ours, sdk captured) {
	t.Helper()
	return wireBodies(t, func(c *sesv2.Client) error {
		_, err := c.SendBulkEmail(context.Background(), in)
		return err
	})
}

// wireBodies makes call with ses.NewClient and with a plain SDK client and
// returns what each put on the wire; the signature of ours must cover its
// body.
func wireBodies(t testing.TB, call func(*sesv2.Client) error) (ours, sdk captured) {
	t.Helper()
	srv, last := capture(t)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
	plain := sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	for i, c := range []*sesv2.Client{ses.NewClient(cfg, srv.URL), plain} {
		if err := call(c); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if i == 0 {
			ours = last()
		} else {
			sdk = last()
		}
	}
	if ours.signature != nil {
		t.Errorf("our request: %v", ours.signature)
	}
	return ours, sdk
}

// sameRequest fails t unless ours and the SDK's are the same request.
func sameRequest(t testing.TB, ours, sdk captured) {
	t.Helper()
	if ours.method != sdk.method || ours.path != sdk.path || ours.contentType != sdk.contentType {
		t.Errorf("request %s %s (%s), the SDK's %s %s (%s)", ours.method, ours.path, ours.contentType, sdk.method, sdk.path, sdk.contentType)
	}
	if !sameJSON(t, ours.body, sdk.body) {
		t.Errorf("bodies differ:\nours %s\nSDK  %s", ours.body, sdk.body)
	}
}

func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("our body is not JSON: %v\n%s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("the SDK's body is not JSON: %v", err)
	}
	return reflect.DeepEqual(x, y)
}

func bulkInput(html, data, name string) *sesv2.SendBulkEmailInput {
	entry := func(to string) types.BulkEmailEntry {
		return types.BulkEmailEntry{Destination: &types.Destination{ToAddresses: []string{to}},
			ReplacementEmailContent: &types.ReplacementEmailContent{ReplacementTemplate: &types.ReplacementTemplate{ReplacementTemplateData: aws.String(data)}},
			ReplacementHeaders:      []types.MessageHeader{{Name: aws.String("List-Unsubscribe"), Value: aws.String("<https://example.org/u/" + name + ">")}},
			ReplacementTags:         []types.MessageTag{{Name: aws.String("edition_id"), Value: aws.String("e1")}}}
	}
	return &sesv2.SendBulkEmailInput{
		FromEmailAddress:     aws.String(name + " <a@example.org>"),
		ConfigurationSetName: aws.String("cs"),
		ReplyToAddresses:     []string{"r@example.org"},
		DefaultEmailTags:     []types.MessageTag{{Name: aws.String("kind"), Value: aws.String("newsletter")}},
		DefaultContent: &types.BulkEmailContent{Template: &types.Template{
			TemplateContent: &types.EmailTemplateContent{Subject: aws.String("Over " + name), Html: aws.String(html), Text: aws.String(html + "\n")},
			TemplateData:    aws.String("{}"),
			Headers:         []types.MessageHeader{{Name: aws.String("List-Id"), Value: aws.String("<n.example.org>")}},
		}},
		BulkEmailEntries: []types.BulkEmailEntry{entry("a@example.org"), entry("b@example.org")},
	}
}

// What the client puts on the wire for a SendBulkEmail is what the SDK's
// own serialiser writes: the same method, path, content type and JSON,
// for every member the pipeline sets and for strings that need escaping
// (quotes, backslashes, control characters, non-ASCII, invalid UTF-8).
func TestBulkBodyMatchesSDK(t *testing.T) {
	for name, in := range map[string]*sesv2.SendBulkEmailInput{
		"plain":    bulkInput("<p>Beste {{greeting_html}}</p>", `{"greeting_html":"A &amp; B"}`, "Nieuwsbrief"),
		"escapes":  bulkInput("<p class=\"x\">\\{{lb}}\t\r\n\x00\x1f\x7f</p>", `{"g":"\"quoted\" \\ back"}`, "Café \u2028 \"Zuid\""),
		"badUTF8":  bulkInput("<p>\xff\xfe half \xe2\x82</p>", `{"g":"\xc3"}`, "x\xffy"),
		"no extra": {FromEmailAddress: aws.String("a@example.org"), DefaultContent: &types.BulkEmailContent{}, BulkEmailEntries: []types.BulkEmailEntry{{Destination: &types.Destination{CcAddresses: []string{"c@example.org"}, BccAddresses: []string{}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			ours, sdk := bodies(t, in)
			sameRequest(t, ours, sdk)
		})
	}
}

// The default content is encoded once per edition and reused, but never
// for a call whose content differs, even by one byte or one header.
func TestBulkBodyCacheFollowsContent(t *testing.T) {
	srv, last := capture(t)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
	c := ses.NewClient(cfg, srv.URL)
	html := func(in *sesv2.SendBulkEmailInput) string {
		var b struct {
			DefaultContent struct {
				Template struct{ TemplateContent struct{ Html string } }
			}
		}
		_ = json.Unmarshal(last().body, &b)
		return b.DefaultContent.Template.TemplateContent.Html
	}
	editions := []string{"<p>een</p>", "<p>twee</p>", "<p>een</p>", "<p>eeN</p>", "<p>drie</p>", "<p>vier</p>", "<p>vijf</p>", "<p>een</p>"}
	for i, h := range editions {
		in := bulkInput(h, `{}`, "N")
		if _, err := c.SendBulkEmail(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		if got := html(in); got != h {
			t.Errorf("call %d sent HTML %q, want %q", i, got, h)
		}
	}
	in := bulkInput("<p>een</p>", `{}`, "N")
	in.DefaultContent.Template.Headers[0].Value = aws.String("<ander.example.org>")
	if _, err := c.SendBulkEmail(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	var b struct {
		DefaultContent struct {
			Template struct {
				Headers []struct{ Name, Value string }
			}
		}
	}
	_ = json.Unmarshal(last().body, &b)
	if h := b.DefaultContent.Template.Headers; len(h) != 1 || h[0].Value != "<ander.example.org>" {
		t.Errorf("headers sent %v, want the changed List-Id", h)
	}
}

// checkSignature recomputes r's SigV4 signature over the body the endpoint
// received, with the SDK's signer: a signature made over another hash than
// the body's is refused by SES (SignatureDoesNotMatch).
func checkSignature(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	var signed, sig string
	for _, f := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ", ") {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		}
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || sig == "" {
		return fmt.Errorf("no SigV4 signature: Authorization %q, X-Amz-Date %q", auth, r.Header.Get("X-Amz-Date"))
	}
	req, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	req.ContentLength = r.ContentLength
	for _, h := range strings.Split(signed, ";") {
		if h != "host" && h != "content-length" {
			req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, req, hex.EncodeToString(sum[:]), "ses", "eu-west-1", at)
	if err != nil {
		return err
	}
	if got := req.Header.Get("Authorization"); !strings.HasSuffix(got, "Signature="+sig) {
		return fmt.Errorf("signature %s does not cover the body received (recomputed: %s)", sig, got)
	}
	return nil
}

// The body's hash is carried on from the last call's beginning (the
// edition's content) when that is the same; every request's signature
// still covers exactly the body sent, for the same edition again, another
// one, the first again and a changed sender.
func TestBulkSignatureCoversBody(t *testing.T) {
	var mu sync.Mutex
	var failures []error
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls++
		if err := checkSignature(r, b); err != nil {
			failures = append(failures, err)
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"BulkEmailEntryResults":[{"Status":"SUCCESS","MessageId":"m"}]}`)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
	c := ses.NewClient(cfg, srv.URL)
	big := strings.Repeat("<p>Nieuws uit de regio.</p>", 400)
	for i, in := range []*sesv2.SendBulkEmailInput{
		// Three calls of one edition in a row: the second and third go
		// on from the kept state, which must stay as it was.
		bulkInput(big, `{"greeting_html":"Beste Jan,"}`, "N"),
		bulkInput(big, `{"greeting_html":"Beste Piet,"}`, "N"),
		bulkInput(big, `{"greeting_html":"Beste Els,"}`, "N"),
		bulkInput(big, `{"greeting_html":"Beste Piet,"}`, "M"),
		bulkInput(big+"!", `{}`, "N"),
		bulkInput(strings.Replace(big, "Nieuws", "Nieuwz", 1), `{}`, "N"), // as long, one byte apart
		bulkInput(big, `{}`, "N"),
		func() *sesv2.SendBulkEmailInput {
			in := bulkInput(big, `{}`, "N")
			in.FromEmailAddress = aws.String("ander@example.org")
			return in
		}(),
		bulkInput("<p>kort</p>", `{}`, "N"),
	} {
		if _, err := c.SendBulkEmail(context.Background(), in); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 9 {
		t.Fatalf("%d calls reached the endpoint, want 9", calls)
	}
	for _, err := range failures {
		t.Error(err)
	}
}

// A member the encoder does not write sends the request through the SDK's
// own serialiser, so nothing set is ever dropped.
func TestBulkBodyUnknownMemberGoesToSDK(t *testing.T) {
	in := bulkInput("<p>x</p>", `{}`, "N")
	in.TenantName = aws.String("tenant-1")
	in.FeedbackForwardingEmailAddress = aws.String("fb@example.org")
	ours, sdk := bodies(t, in)
	sameRequest(t, ours, sdk)
	var b map[string]any
	_ = json.Unmarshal(ours.body, &b)
	if b["TenantName"] != "tenant-1" {
		t.Errorf("TenantName missing from %s", ours.body)
	}
}

func FuzzBulkBody(f *testing.F) {
	f.Add("<p>{{x}}</p>", `{"x":"y"}`, "Naam")
	f.Add("\\{{lb}}\x00\"", "\xff", "\u2028\t")
	f.Fuzz(func(t *testing.T, html, data, name string) {
		ours, sdk := bodies(t, bulkInput(html, data, name))
		sameRequest(t, ours, sdk)
	})
}

// BenchmarkSendBulk50 is one SendBulkEmail of 50 entries and a 50 KB
// edition through the client, per email; the endpoint does no work.
func BenchmarkSendBulk50(b *testing.B) {
	res := make([]map[string]string, 50)
	for i := range res {
		res[i] = map[string]string{"Status": "SUCCESS", "MessageId": "m"}
	}
	answer, _ := json.Marshal(map[string]any{"BulkEmailEntryResults": res})
	in := bulkInput(benchPage(), `{"greeting_html":"Beste Partner &lt;1&gt;","greeting_text":"Beste Partner <1>","unsubscribe_html":"https://example.org/u/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","lb":"{","rb":"}","bs":"\\"}`, "N")
	for len(in.BulkEmailEntries) < 50 {
		in.BulkEmailEntries = append(in.BulkEmailEntries, in.BulkEmailEntries[0])
	}
	benchClients(b, answer, 50, func(c *sesv2.Client) error {
		_, err := c.SendBulkEmail(context.Background(), in)
		return err
	})
}

// BenchmarkSendEmail is one SendEmail of a 50 KB email through the client
// and through the SDK's own serialiser; the endpoint does no work.
func BenchmarkSendEmail(b *testing.B) {
	page := benchPage()
	in := sendInput(page, page, "N")
	benchClients(b, []byte(`{"MessageId":"m"}`), 1, func(c *sesv2.Client) error {
		_, err := c.SendEmail(context.Background(), in)
		return err
	})
}

// benchPage is 50 KB of an edition's HTML.
func benchPage() string {
	page := make([]byte, 0, 50<<10)
	for len(page) < 50<<10 {
		page = append(page, `<p style="margin:0">Een alinea met "aanhalingstekens" en een <a href="https://example.org/x?a=1&b=2">link</a>.</p>`+"\n"...)
	}
	return string(page)
}

// benchClients runs call as sub-benchmarks "pipeline" (ses.NewClient) and
// "sdk" (a plain SDK client) against an endpoint that reads the request
// and answers answer; each call sends emails emails.
func benchClients(b *testing.B, answer []byte, emails int, call func(*sesv2.Client) error) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
	for _, c := range []struct {
		name   string
		client *sesv2.Client
	}{{"pipeline", ses.NewClient(cfg, srv.URL)}, {"sdk", sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { o.BaseEndpoint = aws.String(srv.URL) })}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := call(c.client); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*emails), "µs/email")
		})
	}
}

// takeBody is a per-call option that hands the request, as built for the
// wire, to fn and then ends the call before it is sent.
func takeBody(fn func(*smithyhttp.Request)) func(*sesv2.Options) {
	return func(o *sesv2.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("takeBody", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				fn(in.Request.(*smithyhttp.Request))
				return middleware.FinalizeOutput{}, middleware.Metadata{}, errors.New("taken")
			}), middleware.After)
		})
	}
}

// readAfterClose does to a request body what net/http and the SDK do when
// an answer arrives while net/http is still sending: net/http has written
// the Content-Length, the SDK closes the body on the answer, net/http
// reads it once more to check that nothing follows. An error there makes
// net/http close the connection the answer is being read from.
func readAfterClose(t *testing.T, r *smithyhttp.Request) error {
	t.Helper()
	hr := r.Build(context.Background())
	if _, err := io.Copy(io.Discard, io.LimitReader(hr.Body, hr.ContentLength)); err != nil {
		t.Fatal(err)
	}
	_ = hr.Body.Close()
	_, err := io.Copy(io.Discard, hr.Body)
	return err
}

// The body of every call can be read to its end after the SDK closed it.
// With the SDK's own bodies it cannot (the first case shows that the test
// sees the difference): that lost the answers of about one SendBulkEmail
// in 700 on a busy machine, reported as "use of closed network
// connection" and recorded as unknown.
func TestRequestBodyReadableAfterClose(t *testing.T) {
	srv, _ := capture(t)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
	plain := sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ours := ses.NewClient(cfg, srv.URL)
	var got error
	take := takeBody(func(r *smithyhttp.Request) { got = readAfterClose(t, r) })
	single := &sesv2.SendEmailInput{FromEmailAddress: aws.String("a@example.org"), Destination: &types.Destination{ToAddresses: []string{"b@example.org"}},
		Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("t")}}}}}

	_, _ = plain.SendBulkEmail(context.Background(), bulkInput("<p>x</p>", `{}`, "N"), take)
	if !errors.Is(got, io.EOF) {
		t.Fatalf("the SDK's own body read after close: %v; the test no longer shows the failure it guards against", got)
	}
	for name, call := range map[string]func(){
		"SendBulkEmail": func() { _, _ = ours.SendBulkEmail(context.Background(), bulkInput("<p>x</p>", `{}`, "N"), take) },
		"SendBulkEmail through the SDK's serialiser": func() {
			in := bulkInput("<p>x</p>", `{}`, "N")
			in.TenantName = aws.String("t")
			_, _ = ours.SendBulkEmail(context.Background(), in, take)
		},
		"SendEmail": func() { _, _ = ours.SendEmail(context.Background(), single, take) },
	} {
		got = errors.New("the request was not taken")
		call()
		if got != nil {
			t.Errorf("%s: reading the body after the SDK closed it: %v, want its normal end", name, got)
		}
	}
}

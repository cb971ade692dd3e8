package sesfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"newsletter/internal/sesfake"
)

var fixedNow = time.Date(2025, 3, 14, 9, 30, 15, 0, time.UTC)

var messageIDRE = regexp.MustCompile(`^0102[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-000000$`)

// start runs a fake behind an httptest server and returns a real sesv2 client
// for it, with SDK retries off so every fault reaches the caller.
func start(t testing.TB, o sesfake.Options) (*sesfake.Server, *sesv2.Client, *httptest.Server) {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return fixedNow }
	}
	fake := sesfake.New(o)
	srv := httptest.NewServer(fake)
	t.Cleanup(func() {
		srv.Close()
		fake.Close()
	})
	return fake, newClient(srv), srv
}

func newClient(srv *httptest.Server) *sesv2.Client {
	return sesv2.New(sesv2.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", ""),
		HTTPClient:   srv.Client(),
		Retryer:      aws.NopRetryer{},
	})
}

func simpleInput(to ...string) *sesv2.SendEmailInput {
	return &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("Leerwerkakkoord <nieuwsbrief@example.org>"),
		Destination:      &types.Destination{ToAddresses: to},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String("Hallo")},
			Body:    &types.Body{Text: &types.Content{Data: aws.String("Hallo daar.")}},
		}},
	}
}

func TestSendSimple(t *testing.T) {
	dir := t.TempDir()
	fake, client, _ := start(t, sesfake.Options{OutboxDir: dir})

	subject := "Nieuwsbrief: samen doen én leren – “test”"
	text := "Beste Anna,\n\nDit is de nieuwsbrief van maart: samen doen én leren.\nRegel met = teken en een heel lange regel die zeker langer is dan zesenzeventig tekens zodat er soft line breaks nodig zijn.\n"
	html := "<!doctype html><html><body><h1>Nieuwsbrief – maart</h1><p style=\"color:#333\">Samen doen én leren. “Quotes” & ampersands.</p></body></html>"
	headers := []sesfake.Header{
		{Name: "List-Unsubscribe", Value: "<https://news.example.org/u/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm5hQGV4YW1wbGUubmwifQ.c2lnbmF0dXJl>, <mailto:unsubscribe@example.org?subject=unsubscribe>"},
		{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
		{Name: "List-Id", Value: "Partners Leerwerkakkoord <partners.news.example.org>"},
		{Name: "X-Edition", Value: "maart – editie 3"},
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("Leerwerkakkoord <nieuwsbrief@example.org>"),
		ReplyToAddresses: []string{"redactie@example.org"},
		Destination: &types.Destination{
			ToAddresses:  []string{"Anna de Vries <anna@example.nl>"},
			CcAddresses:  []string{"cc@example.nl"},
			BccAddresses: []string{"archief@example.org"},
		},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(subject), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String(text), Charset: aws.String("UTF-8")},
				Html: &types.Content{Data: aws.String(html), Charset: aws.String("UTF-8")},
			},
		}},
		EmailTags: []types.MessageTag{
			{Name: aws.String("edition"), Value: aws.String("2025-03")},
			{Name: aws.String("delivery_id"), Value: aws.String("d-42")},
		},
		ConfigurationSetName: aws.String("newsletter"),
	}
	for _, h := range headers {
		in.Content.Simple.Headers = append(in.Content.Simple.Headers, types.MessageHeader{Name: aws.String(h.Name), Value: aws.String(h.Value)})
	}
	out, err := client.SendEmail(context.Background(), in)
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	id := aws.ToString(out.MessageId)
	if !messageIDRE.MatchString(id) {
		t.Errorf("MessageId %q does not look like an SES id", id)
	}

	msgs := fake.Messages()
	if len(msgs) != 1 || fake.Count() != 1 {
		t.Fatalf("got %d messages, Count %d; want 1", len(msgs), fake.Count())
	}
	m := msgs[0]
	want := sesfake.Message{
		MessageID:        id,
		From:             "Leerwerkakkoord <nieuwsbrief@example.org>",
		ReplyTo:          []string{"redactie@example.org"},
		To:               []string{"Anna de Vries <anna@example.nl>"},
		Cc:               []string{"cc@example.nl"},
		Bcc:              []string{"archief@example.org"},
		Subject:          subject,
		HTML:             html,
		Text:             text,
		Headers:          headers,
		Tags:             map[string]string{"edition": "2025-03", "delivery_id": "d-42"},
		ConfigurationSet: "newsletter",
		ReceivedAt:       fixedNow,
		Raw:              m.Raw,
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("message:\n got %+v\nwant %+v", m, want)
	}

	file, err := os.ReadFile(filepath.Join(dir, id+".eml"))
	if err != nil {
		t.Fatalf("outbox file: %v", err)
	}
	if !bytes.Equal(file, m.Raw) {
		t.Error("outbox file differs from Message.Raw")
	}
	if !strings.Contains(string(m.Raw), "\r\nList-Unsubscribe: <https://news.example.org/u/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm5hQGV4YW1wbGUubmwifQ.c2lnbmF0dXJl>,\r\n <mailto:") {
		t.Error("long List-Unsubscribe header was not folded at its space")
	}
	for i, line := range strings.Split(string(m.Raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf(".eml line %d is %d characters, RFC 5322 allows 998", i+1, len(line))
		}
		for _, c := range []byte(line) {
			if c >= 0x80 || c == '\n' || c == '\r' {
				t.Fatalf(".eml line %d has a raw byte %#x (not 7-bit clean or bare newline): %q", i+1, c, line)
			}
		}
	}

	pm, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the .eml: %v\n%s", err, m.Raw)
	}
	dec := new(mime.WordDecoder)
	gotSubject, err := dec.DecodeHeader(pm.Header.Get("Subject"))
	if err != nil || gotSubject != subject {
		t.Errorf("Subject decodes to %q (%v), want %q", gotSubject, err, subject)
	}
	if pm.Header.Get("Subject") == subject {
		t.Error("non-ASCII subject was not encoded")
	}
	for _, h := range headers {
		got, err := dec.DecodeHeader(pm.Header.Get(h.Name))
		if err != nil || got != h.Value {
			t.Errorf("header %s = %q (%v), want %q", h.Name, got, err, h.Value)
		}
	}
	checkAddr := func(key, want string) {
		t.Helper()
		list, err := pm.Header.AddressList(key)
		if err != nil || len(list) != 1 || list[0].Address != want {
			t.Errorf("%s header = %v (%v), want %s", key, list, err, want)
		}
	}
	checkAddr("From", "nieuwsbrief@example.org")
	checkAddr("To", "anna@example.nl")
	checkAddr("Cc", "cc@example.nl")
	checkAddr("Reply-To", "redactie@example.org")
	if pm.Header.Get("Bcc") != "" {
		t.Error("Bcc must not appear in the message headers")
	}
	if got := pm.Header.Get("Message-Id"); got != "<"+id+"@email.amazonses.com>" {
		t.Errorf("Message-ID = %q", got)
	}
	if d, err := pm.Header.Date(); err != nil || !d.Equal(fixedNow) {
		t.Errorf("Date = %v (%v), want %v", d, err, fixedNow)
	}

	mt, params, err := mime.ParseMediaType(pm.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", pm.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(pm.Body, params["boundary"])
	parts := map[string]string{}
	var order []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		pt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if !strings.EqualFold(pp["charset"], "utf-8") {
			t.Errorf("part %s charset %q, want UTF-8", pt, pp["charset"])
		}
		b, err := io.ReadAll(p) // multipart decodes quoted-printable itself
		if err != nil {
			t.Fatalf("read part %s: %v", pt, err)
		}
		parts[pt] = strings.ReplaceAll(string(b), "\r\n", "\n")
		order = append(order, pt)
	}
	if !slices.Equal(order, []string{"text/plain", "text/html"}) {
		t.Errorf("parts %v, want text/plain then text/html", order)
	}
	if parts["text/plain"] != text {
		t.Errorf("text part:\n got %q\nwant %q", parts["text/plain"], text)
	}
	if parts["text/html"] != html {
		t.Errorf("html part:\n got %q\nwant %q", parts["text/html"], html)
	}
}

func TestSendSingleBody(t *testing.T) {
	fake, client, _ := start(t, sesfake.Options{})
	in := simpleInput("a@example.nl")
	in.Content.Simple.Body = &types.Body{Html: &types.Content{Data: aws.String("<p>Alleen HTML – één deel</p>")}}
	if _, err := client.SendEmail(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	pm, err := mail.ReadMessage(bytes.NewReader(fake.Messages()[0].Raw))
	if err != nil {
		t.Fatal(err)
	}
	if ct := pm.Header.Get("Content-Type"); ct != "text/html; charset=UTF-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cte := pm.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Errorf("Content-Transfer-Encoding = %q", cte)
	}
}

const rawMIME = "From: Redactie <redactie@example.org>\r\n" +
	"To: Piet <piet@example.nl>, jan@example.nl\r\n" +
	"Subject: =?UTF-8?q?Ruwe_nieuwsbrief_=E2=80=93_=C3=A9=C3=A9n?=\r\n" +
	"List-Id: <raw.example.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"=C3=A9=C3=A9n tekst\r\n" +
	"--b1\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+w6nDqW4gSFRNTDwv\r\ncD4=\r\n" +
	"--b1--\r\n"

func TestSendRaw(t *testing.T) {
	fake, client, _ := start(t, sesfake.Options{})
	ctx := context.Background()

	// Envelope from the request.
	out, err := client.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("bounces@example.org"),
		Destination:      &types.Destination{ToAddresses: []string{"envelope@example.nl"}},
		Content:          &types.EmailContent{Raw: &types.RawMessage{Data: []byte(rawMIME)}},
	})
	if err != nil {
		t.Fatalf("SendEmail raw: %v", err)
	}
	// Envelope from the headers.
	out2, err := client.SendEmail(ctx, &sesv2.SendEmailInput{
		Content: &types.EmailContent{Raw: &types.RawMessage{Data: []byte(rawMIME)}},
	})
	if err != nil {
		t.Fatalf("SendEmail raw without envelope: %v", err)
	}

	msgs := fake.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.MessageID != aws.ToString(out.MessageId) || msgs[1].MessageID != aws.ToString(out2.MessageId) {
		t.Error("MessageIds do not match the responses")
	}
	if string(m.Raw) != rawMIME {
		t.Error("raw message was not stored as is")
	}
	if m.Subject != "Ruwe nieuwsbrief – één" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if m.From != "bounces@example.org" || !slices.Equal(m.To, []string{"envelope@example.nl"}) {
		t.Errorf("envelope: from %q to %v", m.From, m.To)
	}
	if m.Text != "één tekst" || m.HTML != "<p>één HTML</p>" {
		t.Errorf("bodies: text %q html %q", m.Text, m.HTML)
	}
	if got := m.Header("list-id"); !slices.Equal(got, []string{"<raw.example.org>"}) {
		t.Errorf("List-Id = %v", got)
	}
	m2 := msgs[1]
	if m2.From != "Redactie <redactie@example.org>" {
		t.Errorf("From from headers = %q", m2.From)
	}
	if !slices.Equal(m2.To, []string{`"Piet" <piet@example.nl>`, "<jan@example.nl>"}) {
		t.Errorf("To from headers = %q", m2.To)
	}
}

func TestGetAccount(t *testing.T) {
	fake, client, _ := start(t, sesfake.Options{MaxSendRate: 3.5})
	ctx := context.Background()
	if _, err := client.SendEmail(ctx, simpleInput("a@example.nl", "b@example.nl")); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil {
		t.Fatalf("GetAccount: %v", err)
	}
	q := out.SendQuota
	if q == nil || q.MaxSendRate != 3.5 || q.Max24HourSend != 50000 || q.SentLast24Hours != 2 {
		t.Errorf("SendQuota = %+v, want rate 3.5, 50000/day, 2 sent", q)
	}
	if !out.SendingEnabled || !out.ProductionAccessEnabled {
		t.Errorf("SendingEnabled %v ProductionAccessEnabled %v", out.SendingEnabled, out.ProductionAccessEnabled)
	}

	fake.SetFaults(sesfake.Faults{Paused: true})
	out, err = client.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil || out.SendingEnabled {
		t.Errorf("paused: SendingEnabled %v (%v), want false", out.SendingEnabled, err)
	}
}

func TestDefaultRate(t *testing.T) {
	_, client, _ := start(t, sesfake.Options{})
	out, err := client.GetAccount(context.Background(), &sesv2.GetAccountInput{})
	if err != nil || out.SendQuota.MaxSendRate != 14 {
		t.Fatalf("default rate: %+v, %v", out, err)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults sesfake.Faults
		to     string
		check  func(t *testing.T, err error)
	}{
		{"throttle", sesfake.Faults{ThrottleRate: 1}, "a@example.nl", func(t *testing.T, err error) {
			var e *types.TooManyRequestsException
			if !errors.As(err, &e) {
				t.Errorf("got %T %v, want TooManyRequestsException", err, err)
			}
			wantStatus(t, err, 429)
		}},
		{"reject", sesfake.Faults{Reject: map[string]string{"Blocked@Example.nl": "Address blacklisted."}}, "Blok <blocked@example.nl>", func(t *testing.T, err error) {
			var e *types.MessageRejected
			if !errors.As(err, &e) || e.ErrorMessage() != "Address blacklisted." {
				t.Errorf("got %T %v, want MessageRejected with the reason", err, err)
			}
			wantStatus(t, err, 400)
		}},
		{"error rate", sesfake.Faults{ErrorRate: 1}, "a@example.nl", func(t *testing.T, err error) {
			var e smithy.APIError
			if !errors.As(err, &e) || e.ErrorCode() != "InternalFailure" {
				t.Errorf("got %T %v, want InternalFailure", err, err)
			}
			wantStatus(t, err, 500)
		}},
		{"down", sesfake.Faults{Down: true}, "a@example.nl", func(t *testing.T, err error) {
			if err == nil {
				t.Error("no error while down")
			}
			wantStatus(t, err, 503)
		}},
		{"paused", sesfake.Faults{Paused: true}, "a@example.nl", func(t *testing.T, err error) {
			var e *types.SendingPausedException
			if !errors.As(err, &e) {
				t.Errorf("got %T %v, want SendingPausedException", err, err)
			}
		}},
		{"suspended", sesfake.Faults{Suspended: true}, "a@example.nl", func(t *testing.T, err error) {
			var e *types.AccountSuspendedException
			if !errors.As(err, &e) {
				t.Errorf("got %T %v, want AccountSuspendedException", err, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, client, _ := start(t, sesfake.Options{})
			fake.SetFaults(tt.faults)
			_, err := client.SendEmail(context.Background(), simpleInput(tt.to))
			tt.check(t, err)
			if fake.Count() != 0 {
				t.Errorf("failed send was stored: Count %d", fake.Count())
			}
			fake.SetFaults(sesfake.Faults{})
			if _, err := client.SendEmail(context.Background(), simpleInput(tt.to)); err != nil {
				t.Errorf("after clearing faults: %v", err)
			}
			if fake.Count() != 1 {
				t.Errorf("Count %d after one good send", fake.Count())
			}
		})
	}
}

func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Errorf("want HTTP %d in %v", status, err)
	}
}

func TestPartialThrottle(t *testing.T) {
	fake, client, _ := start(t, sesfake.Options{})
	fake.SetFaults(sesfake.Faults{ThrottleRate: 0.5})
	throttled := 0
	for range 200 {
		_, err := client.SendEmail(context.Background(), simpleInput("a@example.nl"))
		var e *types.TooManyRequestsException
		if errors.As(err, &e) {
			throttled++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	// Binomial(200, 0.5): outside 50..150 has probability < 1e-12.
	if throttled < 50 || throttled > 150 || fake.Count() != 200-throttled {
		t.Errorf("throttled %d of 200, Count %d", throttled, fake.Count())
	}
}

func TestLatency(t *testing.T) {
	fake, client, _ := start(t, sesfake.Options{})
	const lat = 150 * time.Millisecond
	fake.SetFaults(sesfake.Faults{Latency: lat})
	for _, call := range []func() error{
		func() error {
			_, err := client.SendEmail(context.Background(), simpleInput("a@example.nl"))
			return err
		},
		func() error { _, err := client.GetAccount(context.Background(), &sesv2.GetAccountInput{}); return err },
	} {
		begin := time.Now()
		if err := call(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(begin); d < lat {
			t.Errorf("call took %v, want at least %v", d, lat)
		}
	}
	// A caller's deadline still wins over injected latency.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := client.SendEmail(ctx, simpleInput("a@example.nl")); err == nil {
		t.Error("SendEmail beat its 20ms deadline despite 150ms latency")
	}
}

func TestEnforceRate(t *testing.T) {
	fake, client, _ := start(t, sesfake.Options{MaxSendRate: 2, EnforceRate: true})
	var throttled int
	for range 5 {
		_, err := client.SendEmail(context.Background(), simpleInput("a@example.nl"))
		var e *types.TooManyRequestsException
		if errors.As(err, &e) {
			throttled++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	// A burst of 2 is allowed; the rest come faster than 2/s allows.
	if throttled < 2 || fake.Count() < 2 {
		t.Errorf("throttled %d of 5 back-to-back sends at 2/s, Count %d", throttled, fake.Count())
	}
}

func TestBadRequests(t *testing.T) {
	_, client, _ := start(t, sesfake.Options{})
	tests := []struct {
		name   string
		modify func(in *sesv2.SendEmailInput)
		msg    string
	}{
		{"no from", func(in *sesv2.SendEmailInput) { in.FromEmailAddress = nil }, "FromEmailAddress"},
		{"bad from", func(in *sesv2.SendEmailInput) { in.FromEmailAddress = aws.String("not an address") }, "FromEmailAddress"},
		{"no destination", func(in *sesv2.SendEmailInput) { in.Destination = nil }, "Destination"},
		{"bad recipient", func(in *sesv2.SendEmailInput) { in.Destination.ToAddresses = []string{"nope"} }, "nope"},
		{"too many recipients", func(in *sesv2.SendEmailInput) {
			for i := range 51 {
				in.Destination.BccAddresses = append(in.Destination.BccAddresses, fmt.Sprintf("r%d@example.nl", i))
			}
		}, "50"},
		{"empty content", func(in *sesv2.SendEmailInput) { in.Content = &types.EmailContent{} }, "Content"},
		{"no body", func(in *sesv2.SendEmailInput) { in.Content.Simple.Body = &types.Body{} }, "Body"},
		{"bad tag", func(in *sesv2.SendEmailInput) {
			in.EmailTags = []types.MessageTag{{Name: aws.String("edition id"), Value: aws.String("x")}}
		}, "EmailTag"},
		{"reserved header", func(in *sesv2.SendEmailInput) {
			in.Content.Simple.Headers = []types.MessageHeader{{Name: aws.String("Subject"), Value: aws.String("x")}}
		}, "Subject"},
		{"template", func(in *sesv2.SendEmailInput) {
			in.Content = &types.EmailContent{Template: &types.Template{TemplateName: aws.String("t")}}
		}, "Template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := simpleInput("a@example.nl")
			tt.modify(in)
			_, err := client.SendEmail(context.Background(), in)
			var e *types.BadRequestException
			if !errors.As(err, &e) {
				t.Fatalf("got %T %v, want BadRequestException", err, err)
			}
			if !strings.Contains(e.ErrorMessage(), tt.msg) {
				t.Errorf("message %q does not mention %q", e.ErrorMessage(), tt.msg)
			}
		})
	}
}

func TestUnsupportedOperation(t *testing.T) {
	_, client, srv := start(t, sesfake.Options{})
	_, err := client.GetEmailIdentity(context.Background(), &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("example.org")})
	var nf *types.NotFoundException
	if !errors.As(err, &nf) || !strings.Contains(nf.ErrorMessage(), "does not implement GET /v2/email/identities/example.org") {
		t.Errorf("got %T %v, want NotFoundException naming the operation", err, err)
	}

	// Unsigned requests fail as they would against SES.
	resp, err := http.Post(srv.URL+"/v2/email/outbound-emails", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned request: %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
}

// recorder is a Notify that keeps the events it receives.
type recorder struct {
	mu     sync.Mutex
	events []sesfake.Event
}

func (r *recorder) notify(_ context.Context, b []byte) error {
	var ev sesfake.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) forMessage(id string) []sesfake.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sesfake.Event
	for _, ev := range r.events {
		if ev.Mail.MessageID == id {
			out = append(out, ev)
		}
	}
	return out
}

// summary is "Type:recipient:detail" for each event, for compact comparison.
func summary(evs []sesfake.Event) []string {
	var out []string
	for _, ev := range evs {
		switch {
		case ev.Delivery != nil:
			out = append(out, "Delivery:"+strings.Join(ev.Delivery.Recipients, ",")+":"+ev.Delivery.SMTPResponse)
		case ev.Bounce != nil:
			var rs []string
			for _, r := range ev.Bounce.BouncedRecipients {
				rs = append(rs, r.EmailAddress+"/"+r.Action+"/"+r.Status)
			}
			out = append(out, "Bounce:"+strings.Join(rs, ",")+":"+ev.Bounce.BounceType+"/"+ev.Bounce.BounceSubType)
		case ev.Complaint != nil:
			var rs []string
			for _, r := range ev.Complaint.ComplainedRecipients {
				rs = append(rs, r.EmailAddress)
			}
			out = append(out, "Complaint:"+strings.Join(rs, ",")+":"+ev.Complaint.ComplaintFeedbackType)
		default:
			out = append(out, ev.EventType+":?")
		}
		if ev.EventType == "" {
			out[len(out)-1] += ":missing eventType"
		}
	}
	return out
}

func TestSimulator(t *testing.T) {
	const sim = "@simulator.amazonses.com"
	tests := []struct {
		to           []string
		emitDelivery bool
		want         []string
	}{
		{[]string{"success" + sim}, false, []string{"Delivery:success" + sim + ":250 2.6.0 Message received"}},
		{[]string{"Bounce+edition-3" + sim}, false, []string{"Bounce:bounce+edition-3" + sim + "/failed/5.1.1:Permanent/General"}},
		{[]string{"ooto" + sim}, false, []string{"Delivery:ooto" + sim + ":250 2.6.0 Message received"}},
		{[]string{"complaint" + sim}, false, []string{"Delivery:complaint" + sim + ":250 2.6.0 Message received", "Complaint:complaint" + sim + ":abuse"}},
		{[]string{"suppressionlist" + sim}, false, []string{"Bounce:suppressionlist" + sim + "/failed/5.1.1:Permanent/OnAccountSuppressionList"}},
		{[]string{"someone@example.nl"}, false, nil},
		{[]string{"someone@example.nl"}, true, []string{"Delivery:someone@example.nl:250 2.6.0 Message received"}},
		{[]string{"Anna <success" + sim + ">", "bounce" + sim, "x@example.nl"}, false, []string{
			"Delivery:success" + sim + ":250 2.6.0 Message received",
			"Bounce:bounce" + sim + "/failed/5.1.1:Permanent/General",
		}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/emit=%v", tt.to, tt.emitDelivery), func(t *testing.T) {
			t.Parallel()
			var rec recorder
			fake, client, _ := start(t, sesfake.Options{Notify: rec.notify, EmitDelivery: tt.emitDelivery})
			in := simpleInput(tt.to...)
			in.ConfigurationSetName = aws.String("newsletter")
			in.EmailTags = []types.MessageTag{{Name: aws.String("delivery_id"), Value: aws.String("d-7")}}
			out, err := client.SendEmail(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			fake.Wait()
			id := aws.ToString(out.MessageId)
			evs := rec.forMessage(id)
			if len(rec.events) != len(evs) {
				t.Errorf("%d events carry another messageId", len(rec.events)-len(evs))
			}
			if got := summary(evs); !slices.Equal(got, tt.want) {
				t.Fatalf("events:\n got %q\nwant %q", got, tt.want)
			}
			var wantDest []string
			for _, a := range tt.to {
				addr, _ := mail.ParseAddress(a)
				wantDest = append(wantDest, strings.ToLower(addr.Address))
			}
			for _, ev := range evs {
				if !slices.Equal(ev.Mail.Tags["delivery_id"], []string{"d-7"}) ||
					!slices.Equal(ev.Mail.Tags["ses:configuration-set"], []string{"newsletter"}) {
					t.Errorf("tags = %v", ev.Mail.Tags)
				}
				if !slices.Equal(ev.Mail.Destination, wantDest) {
					t.Errorf("mail.destination = %v, want %v", ev.Mail.Destination, wantDest)
				}
				if ev.Mail.Source != "Leerwerkakkoord <nieuwsbrief@example.org>" || ev.Mail.CommonHeaders.Subject != "Hallo" ||
					ev.Mail.Timestamp != "2025-03-14T09:30:15.000Z" || ev.Mail.HeadersTruncated {
					t.Errorf("mail = %+v", ev.Mail)
				}
				if ev.EventType == "Bounce" && ev.Bounce.BounceSubType == "General" &&
					ev.Bounce.BouncedRecipients[0].DiagnosticCode != "smtp; 550 5.1.1 user unknown" {
					t.Errorf("diagnosticCode = %q", ev.Bounce.BouncedRecipients[0].DiagnosticCode)
				}
			}
		})
	}
}

// The wire JSON uses SES's field names, which the Event struct tags could hide.
func TestEventJSONFieldNames(t *testing.T) {
	var mu sync.Mutex
	var raw [][]byte
	fake, client, _ := start(t, sesfake.Options{Notify: func(_ context.Context, b []byte) error {
		mu.Lock()
		defer mu.Unlock()
		raw = append(raw, b)
		return nil
	}})
	in := simpleInput("bounce@simulator.amazonses.com", "complaint@simulator.amazonses.com")
	in.EmailTags = []types.MessageTag{{Name: aws.String("edition"), Value: aws.String("e1")}}
	out, err := client.SendEmail(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	fake.Wait()
	if len(raw) != 3 {
		t.Fatalf("%d events, want bounce, delivery, complaint", len(raw))
	}
	var bounce, complaint map[string]any
	json.Unmarshal(raw[0], &bounce)
	json.Unmarshal(raw[2], &complaint)
	get := func(m map[string]any, path ...string) any {
		var v any = m
		for _, p := range path {
			mm, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = mm[p]
		}
		return v
	}
	checks := []struct {
		got, want any
	}{
		{get(bounce, "eventType"), "Bounce"},
		{get(bounce, "mail", "messageId"), aws.ToString(out.MessageId)},
		{get(bounce, "mail", "tags", "edition"), []any{"e1"}},
		{get(bounce, "mail", "headersTruncated"), false},
		{get(bounce, "mail", "commonHeaders", "subject"), "Hallo"},
		{get(bounce, "bounce", "bounceType"), "Permanent"},
		{get(bounce, "bounce", "bounceSubType"), "General"},
		{get(complaint, "eventType"), "Complaint"},
		{get(complaint, "complaint", "complaintFeedbackType"), "abuse"},
		{get(complaint, "complaint", "complainedRecipients"), []any{map[string]any{"emailAddress": "complaint@simulator.amazonses.com"}}},
	}
	for i, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("check %d: got %#v, want %#v", i, c.got, c.want)
		}
	}
	recips, _ := get(bounce, "bounce", "bouncedRecipients").([]any)
	if len(recips) != 1 || get(recips[0].(map[string]any), "diagnosticCode") != "smtp; 550 5.1.1 user unknown" {
		t.Errorf("bouncedRecipients = %v", recips)
	}
}

func TestNotifyRetried(t *testing.T) {
	var calls atomic.Int32
	var rec recorder
	fake, client, _ := start(t, sesfake.Options{
		NotifyBackoff: time.Millisecond,
		Notify: func(ctx context.Context, b []byte) error {
			if calls.Add(1) <= 2 {
				return errors.New("webhook down")
			}
			return rec.notify(ctx, b)
		},
	})
	if _, err := client.SendEmail(context.Background(), simpleInput("success@simulator.amazonses.com")); err != nil {
		t.Fatal(err)
	}
	fake.Wait()
	if calls.Load() != 3 || len(rec.events) != 1 {
		t.Errorf("Notify called %d times, %d events delivered; want 3 calls, 1 event", calls.Load(), len(rec.events))
	}
}

func TestNotifyGivesUp(t *testing.T) {
	var calls atomic.Int32
	fake, client, _ := start(t, sesfake.Options{
		NotifyAttempts: 3,
		NotifyBackoff:  time.Millisecond,
		Notify: func(context.Context, []byte) error {
			calls.Add(1)
			return errors.New("webhook down")
		},
	})
	if _, err := client.SendEmail(context.Background(), simpleInput("complaint@simulator.amazonses.com")); err != nil {
		t.Fatal(err)
	}
	fake.Wait()
	if got := calls.Load(); got != 6 {
		t.Errorf("Notify called %d times, want 3 attempts for each of 2 events", got)
	}
}

func TestNotifyDoesNotBlockSend(t *testing.T) {
	release := make(chan struct{})
	var done atomic.Bool
	fake, client, _ := start(t, sesfake.Options{Notify: func(context.Context, []byte) error {
		<-release
		done.Store(true)
		return nil
	}})
	sent := make(chan error, 1)
	go func() {
		_, err := client.SendEmail(context.Background(), simpleInput("success@simulator.amazonses.com"))
		sent <- err
	}()
	select {
	case err := <-sent:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SendEmail waited for Notify")
	}
	if done.Load() {
		t.Fatal("Notify finished before it was released")
	}
	close(release)
	fake.Wait()
	if !done.Load() {
		t.Error("Wait returned before Notify finished")
	}
}

func TestSuppressionList(t *testing.T) {
	var rec recorder
	fake, client, _ := start(t, sesfake.Options{Notify: rec.notify})
	ctx := context.Background()
	for _, p := range []struct {
		addr   string
		reason types.SuppressionListReason
	}{{"Gone@Example.nl", types.SuppressionListReasonBounce}, {"angry@example.nl", types.SuppressionListReasonComplaint}, {"old@example.nl", types.SuppressionListReasonBounce}} {
		if _, err := client.PutSuppressedDestination(ctx, &sesv2.PutSuppressedDestinationInput{EmailAddress: aws.String(p.addr), Reason: p.reason}); err != nil {
			t.Fatalf("put %s: %v", p.addr, err)
		}
	}

	got, err := client.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String("gone@example.nl")})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	d := got.SuppressedDestination
	if aws.ToString(d.EmailAddress) != "gone@example.nl" || d.Reason != types.SuppressionListReasonBounce || !aws.ToTime(d.LastUpdateTime).Equal(fixedNow) {
		t.Errorf("get = %+v", d)
	}

	list := func(in *sesv2.ListSuppressedDestinationsInput) ([]string, *string) {
		t.Helper()
		out, err := client.ListSuppressedDestinations(ctx, in)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		var as []string
		for _, s := range out.SuppressedDestinationSummaries {
			as = append(as, aws.ToString(s.EmailAddress)+"/"+string(s.Reason))
		}
		return as, out.NextToken
	}
	all, next := list(&sesv2.ListSuppressedDestinationsInput{})
	if !slices.Equal(all, []string{"angry@example.nl/COMPLAINT", "gone@example.nl/BOUNCE", "old@example.nl/BOUNCE"}) || next != nil {
		t.Errorf("list = %v, next %v", all, next)
	}
	complaints, _ := list(&sesv2.ListSuppressedDestinationsInput{Reasons: []types.SuppressionListReason{types.SuppressionListReasonComplaint}})
	if !slices.Equal(complaints, []string{"angry@example.nl/COMPLAINT"}) {
		t.Errorf("complaints = %v", complaints)
	}
	var paged []string
	p := sesv2.NewListSuppressedDestinationsPaginator(client, &sesv2.ListSuppressedDestinationsInput{PageSize: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range out.SuppressedDestinationSummaries {
			paged = append(paged, aws.ToString(s.EmailAddress))
		}
	}
	if pages != 2 || !slices.Equal(paged, []string{"angry@example.nl", "gone@example.nl", "old@example.nl"}) {
		t.Errorf("paginated %d pages: %v", pages, paged)
	}
	_, err = client.ListSuppressedDestinations(ctx, &sesv2.ListSuppressedDestinationsInput{NextToken: aws.String("bogus")})
	var bad *types.InvalidNextTokenException
	if !errors.As(err, &bad) {
		t.Errorf("bogus token: %T %v", err, err)
	}

	if _, err := client.DeleteSuppressedDestination(ctx, &sesv2.DeleteSuppressedDestinationInput{EmailAddress: aws.String("old@example.nl")}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	var nf *types.NotFoundException
	if _, err := client.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String("old@example.nl")}); !errors.As(err, &nf) {
		t.Errorf("get after delete: %T %v, want NotFoundException", err, err)
	}
	if _, err := client.DeleteSuppressedDestination(ctx, &sesv2.DeleteSuppressedDestinationInput{EmailAddress: aws.String("old@example.nl")}); !errors.As(err, &nf) {
		t.Errorf("second delete: %T %v, want NotFoundException", err, err)
	}
	if _, err := client.PutSuppressedDestination(ctx, &sesv2.PutSuppressedDestinationInput{EmailAddress: aws.String("x@example.nl"), Reason: "SPAM"}); err == nil {
		t.Error("put with reason SPAM accepted")
	}

	// Sending: accepted, but the suppressed recipient bounces like SES does.
	out, err := client.SendEmail(ctx, simpleInput("Gone <GONE@example.nl>", "old@example.nl"))
	if err != nil {
		t.Fatalf("send to suppressed: %v", err)
	}
	fake.Wait()
	want := []string{"Bounce:gone@example.nl/failed/5.1.1:Permanent/OnAccountSuppressionList"}
	if got := summary(rec.forMessage(aws.ToString(out.MessageId))); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if m, _ := fake.Message(aws.ToString(out.MessageId)); !slices.Equal(m.Suppressed, []string{"Gone <GONE@example.nl>"}) {
		t.Errorf("Suppressed = %v", m.Suppressed)
	}
}

func TestConcurrentSends(t *testing.T) {
	fake, client, _ := start(t, sesfake.Options{Now: time.Now})
	const n = 200
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			out, err := client.SendEmail(context.Background(), simpleInput(fmt.Sprintf("r%d@example.nl", i)))
			if err != nil {
				errs <- err
				return
			}
			ids[i] = aws.ToString(out.MessageId)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if fake.Count() != n {
		t.Fatalf("Count = %d, want %d", fake.Count(), n)
	}
	seen := map[string]bool{}
	for _, m := range fake.Messages() {
		if seen[m.MessageID] {
			t.Fatalf("duplicate MessageId %s", m.MessageID)
		}
		seen[m.MessageID] = true
	}
	for i, id := range ids {
		m, ok := fake.Message(id)
		if !ok || m.To[0] != fmt.Sprintf("r%d@example.nl", i) {
			t.Errorf("send %d: MessageId %s maps to %+v", i, id, m.To)
		}
	}
}

func TestOutboxPages(t *testing.T) {
	fake, client, srv := start(t, sesfake.Options{})
	ctx := context.Background()
	first := simpleInput("a@example.nl")
	first.Content.Simple.Subject.Data = aws.String("Eerste")
	if _, err := client.SendEmail(ctx, first); err != nil {
		t.Fatal(err)
	}
	evil := simpleInput("b@example.nl")
	evil.Content.Simple.Subject.Data = aws.String(`<script>alert("x")</script> & co`)
	evil.Content.Simple.Body = &types.Body{
		Html: &types.Content{Data: aws.String(`<p onclick="x()">Hoi</p><script>alert(1)</script>`)},
		Text: &types.Content{Data: aws.String("Tekst <b>niet vet</b>")},
	}
	out, err := client.SendEmail(ctx, evil)
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.MessageId)

	get := func(path string) (int, http.Header, string) {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}

	code, _, list := get("/outbox/")
	if code != 200 {
		t.Fatalf("list: %d", code)
	}
	if strings.Contains(list, "<script>") || !strings.Contains(list, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co") {
		t.Errorf("subject not escaped in list:\n%s", list)
	}
	if i, j := strings.Index(list, "&lt;script"), strings.Index(list, "Eerste"); i < 0 || j < 0 || i > j {
		t.Error("list is not newest first")
	}
	if !strings.Contains(list, `href="`+id+`"`) || !strings.Contains(list, `href="`+id+`.eml"`) {
		t.Error("list does not link to the message and its .eml")
	}

	code, hdr, page := get("/outbox/" + id)
	if code != 200 {
		t.Fatalf("detail: %d", code)
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "<b>") {
		t.Errorf("unescaped content in detail page:\n%s", page)
	}
	if !strings.Contains(page, `sandbox=""`) || !strings.Contains(page, `srcdoc="&lt;p onclick=&#34;x()&#34;&gt;Hoi&lt;/p&gt;`) {
		t.Errorf("HTML part not in an escaped, sandboxed srcdoc:\n%s", page)
	}
	if !strings.Contains(page, "Tekst &lt;b&gt;niet vet&lt;/b&gt;") {
		t.Error("text part missing or unescaped")
	}
	if !strings.Contains(page, "List-") && !strings.Contains(page, "MIME-Version") {
		t.Error("headers missing")
	}
	if !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Error("no CSP on detail page")
	}

	code, hdr, eml := get("/outbox/" + id + ".eml")
	m, _ := fake.Message(id)
	if code != 200 || eml != string(m.Raw) || hdr.Get("Content-Type") != "message/rfc822" {
		t.Errorf(".eml: %d %q, equal to Raw: %v", code, hdr.Get("Content-Type"), eml == string(m.Raw))
	}
	if code, _, _ := get("/outbox/nope"); code != 404 {
		t.Errorf("unknown id: %d", code)
	}
}

func BenchmarkSendEmail(b *testing.B) {
	_, client, _ := start(b, sesfake.Options{Now: time.Now})
	in := simpleInput("success@example.nl")
	in.Content.Simple.Body.Html = &types.Content{Data: aws.String(strings.Repeat("<p>Samen doen én leren.</p>\n", 200))}
	in.Content.Simple.Headers = []types.MessageHeader{{Name: aws.String("List-Unsubscribe"), Value: aws.String("<https://example.org/u/abc>")}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := client.SendEmail(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSendEmailParallel(b *testing.B) {
	_, client, _ := start(b, sesfake.Options{Now: time.Now})
	in := simpleInput("success@example.nl")
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.SendEmail(ctx, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkServeHTTPSendEmail is the fake's own cost per SendEmail, without the
// SDK and the network; compare with BenchmarkSendEmail for the client's share.
func BenchmarkServeHTTPSendEmail(b *testing.B) {
	fake := sesfake.New(sesfake.Options{})
	defer fake.Close()
	body, _ := json.Marshal(map[string]any{
		"FromEmailAddress": "Leerwerkakkoord <nieuwsbrief@example.org>",
		"Destination":      map[string]any{"ToAddresses": []string{"success@example.nl"}},
		"Content": map[string]any{"Simple": map[string]any{
			"Subject": map[string]string{"Data": "Hallo"},
			"Body": map[string]any{
				"Text": map[string]string{"Data": "Hallo daar."},
				"Html": map[string]string{"Data": strings.Repeat("<p>Samen doen én leren.</p>\n", 200)},
			},
			"Headers": []map[string]string{{"Name": "List-Unsubscribe", "Value": "<https://example.org/u/abc>"}},
		}},
	})
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/v2/email/outbound-emails", bytes.NewReader(body))
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
		w := httptest.NewRecorder()
		fake.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// bulkBody is a SendBulkEmail request shaped like the pipeline's: a few KB
// of HTML and text with variables, 50 entries with their own data, headers
// and tags.
func bulkBody(tb testing.TB) []byte {
	tb.Helper()
	para := "<p style=\"margin:0 0 16px\">Samen doen én leren: \"praktijk\" & <a href=\"https://example.org/x\">meer</a></p>\n"
	html := "<html><body>{{greeting_html}}\n" + strings.Repeat(para, 50) +
		`<a href="{{unsubscribe_html}}">Afmelden</a> <a href="{{preferences_html}}">Voorkeuren</a> {{lb}}x{{rb}}</body></html>`
	text := "{{greeting_text}}\n" + strings.Repeat("Samen doen én leren: \"praktijk\".\n", 30) + "Afmelden: {{unsubscribe_text}}\nVoorkeuren: {{preferences_text}}\n"
	entries := make([]map[string]any, 50)
	for i := range entries {
		u := fmt.Sprintf("https://bench.example.org/u/%0100d", i)
		data, _ := json.Marshal(map[string]string{
			"greeting_html": "Beste partners,Partner &lt;3&gt; &amp; &#34;zn&#34;", "greeting_text": `Beste partners,Partner <3> & "zn"`,
			"unsubscribe_html": u, "unsubscribe_text": u, "preferences_html": u + "p", "preferences_text": u + "p",
			"lb": "{", "rb": "}", "bs": `\`,
		})
		entries[i] = map[string]any{
			"Destination":             map[string]any{"ToAddresses": []string{fmt.Sprintf("bench-%07d@example.org", i)}},
			"ReplacementEmailContent": map[string]any{"ReplacementTemplate": map[string]string{"ReplacementTemplateData": string(data)}},
			"ReplacementHeaders":      []map[string]string{{"Name": "List-Unsubscribe", "Value": "<" + u + ">"}, {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"}},
			"ReplacementTags":         []map[string]string{{"Name": "kind", "Value": "newsletter"}, {"Name": "edition_id", "Value": "01m8tg9qw7ywzmacrk5160q4cr"}, {"Name": "recipient", "Value": fmt.Sprintf("%032x", i)}},
		}
	}
	body, err := json.Marshal(map[string]any{
		"FromEmailAddress": "Bench <bench@example.org>",
		"DefaultContent": map[string]any{"Template": map[string]any{
			"TemplateContent": map[string]string{"Subject": "Nieuwsbrief december: samen doen én leren", "Html": html, "Text": text},
			"TemplateData":    "{}",
			"Headers":         []map[string]string{{"Name": "List-Id", "Value": "Bench <newsletter.example.org>"}},
		}},
		"BulkEmailEntries": entries,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// BenchmarkServeHTTPSendBulkEmail is the fake's cost per email of a bulk
// call, as bench runs it (Discard, OnAccept) and as tests do (kept).
func BenchmarkServeHTTPSendBulkEmail(b *testing.B) {
	body := bulkBody(b)
	for _, discard := range []bool{true, false} {
		b.Run(fmt.Sprintf("discard=%v", discard), func(b *testing.B) {
			var accepted atomic.Int64
			fake := sesfake.New(sesfake.Options{Discard: discard, MaxSendRate: 1e9, Max24HourSend: 1e12,
				OnAccept: func(string, time.Time) { accepted.Add(1) }})
			defer fake.Close()
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/v2/email/outbound-bulk-emails", bytes.NewReader(body))
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
				w := httptest.NewRecorder()
				fake.ServeHTTP(w, r)
				if w.Code != http.StatusOK || strings.Count(w.Body.String(), `"SUCCESS"`) != 50 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(accepted.Load()), "µs/email")
		})
	}
}

// Discard keeps no email but checks and reports every entry as a kept one
// does: the same statuses and errors, the same rendering failures, the
// same events with the same subjects and tags.
func TestSendBulkDiscardChecksTheSame(t *testing.T) {
	var req map[string]any
	if err := json.Unmarshal(bulkBody(t), &req); err != nil {
		t.Fatal(err)
	}
	entries := req["BulkEmailEntries"].([]any)[:9]
	req["BulkEmailEntries"] = entries
	entry := func(i int) map[string]any { return entries[i].(map[string]any) }
	setData := func(i int, data string) {
		entry(i)["ReplacementEmailContent"] = map[string]any{"ReplacementTemplate": map[string]any{"ReplacementTemplateData": data}}
	}
	setData(1, `{"greeting_html":"x","greeting_text":"x","unsubscribe_html":"u","unsubscribe_text":"u","preferences_text":"p","lb":"{","rb":"}"}`) // no preferences_html
	entry(2)["ReplacementTags"] = []map[string]string{{"Name": "kind", "Value": "a b"}}
	entry(3)["Destination"] = map[string]any{"ToAddresses": []string{"Rejected <REJECTED@example.org>"}}
	setData(4, "not json")
	entry(5)["Destination"] = map[string]any{"ToAddresses": []string{"success@simulator.amazonses.com"}}
	setData(6, `{"greeting_html":1,"greeting_text":true,"unsubscribe_html":"u","unsubscribe_text":"u","preferences_html":"p","preferences_text":"p","lb":"{","rb":"}"}`)
	entry(7)["ReplacementHeaders"] = []map[string]string{{"Name": "Subject", "Value": "x"}}
	entry(8)["Destination"] = map[string]any{"ToAddresses": []string{"not an address"}}
	body, _ := json.Marshal(req)

	type outcome struct {
		results  []string
		failures []string
		events   []string
		count    int
	}
	run := func(discard bool) outcome {
		var rec recorder
		fake := sesfake.New(sesfake.Options{Discard: discard, Notify: rec.notify, EmitSend: true, Now: func() time.Time { return fixedNow }})
		defer fake.Close()
		fake.SetFaults(sesfake.Faults{Reject: map[string]string{"rejected@example.org": "Address blacklisted."}})
		r := httptest.NewRequest(http.MethodPost, "/v2/email/outbound-bulk-emails", bytes.NewReader(body))
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
		w := httptest.NewRecorder()
		fake.ServeHTTP(w, r)
		var out struct {
			BulkEmailEntryResults []struct{ Status, MessageId, Error string }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != http.StatusOK {
			t.Fatalf("discard=%v: %d %s", discard, w.Code, w.Body)
		}
		fake.Wait()
		var o outcome
		for _, e := range out.BulkEmailEntryResults {
			o.results = append(o.results, e.Status+" "+e.Error+" id:"+strconv.FormatBool(e.MessageId != ""))
		}
		for _, f := range fake.RenderingFailures() {
			o.failures = append(o.failures, f.To+" "+f.Error)
		}
		for _, ev := range rec.events {
			tags, _ := json.Marshal(ev.Mail.Tags)
			o.events = append(o.events, ev.EventType+" "+strings.Join(ev.Mail.Destination, ",")+" "+ev.Mail.CommonHeaders.Subject+" "+string(tags))
		}
		slices.Sort(o.events)
		o.count = fake.Count()
		return o
	}
	kept, discarded := run(false), run(true)
	if !reflect.DeepEqual(kept, discarded) {
		t.Errorf("kept:\n%+v\ndiscarded:\n%+v", kept, discarded)
	}
	want := []string{"SUCCESS  id:true", "SUCCESS  id:true", "INVALID_PARAMETER", "MESSAGE_REJECTED", "INVALID_PARAMETER", "SUCCESS  id:true", "SUCCESS  id:true", "INVALID_PARAMETER", "INVALID_PARAMETER"}
	for i, w := range want {
		if !strings.HasPrefix(kept.results[i], w) {
			t.Errorf("entry %d: %s, want %s…", i, kept.results[i], w)
		}
	}
	if len(kept.failures) != 1 || !strings.Contains(kept.failures[0], "Attribute 'preferences_html' is not present") || kept.count != 3 || len(kept.events) != 4 {
		t.Errorf("failures %q, count %d, events %q", kept.failures, kept.count, kept.events)
	}
}

// ThrottleEvery and ErrorEvery fault exactly the n-th calls, a call that
// is both is throttled, and the other calls are accepted.
func TestFaultsEveryNthCall(t *testing.T) {
	fake, client, _ := start(t, sesfake.Options{})
	fake.SetFaults(sesfake.Faults{ThrottleEvery: 3, ErrorEvery: 5})
	var got []string
	for range 15 {
		_, err := client.SendEmail(context.Background(), simpleInput("a@example.nl"))
		var te *types.TooManyRequestsException
		var re *awshttp.ResponseError
		switch {
		case err == nil:
			got = append(got, "ok")
		case errors.As(err, &te):
			got = append(got, "429")
		case errors.As(err, &re) && re.HTTPStatusCode() == http.StatusInternalServerError:
			got = append(got, "500")
		default:
			t.Fatal(err)
		}
	}
	want := "ok ok 429 ok 500 429 ok ok 429 500 ok 429 ok ok 429"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("answers\n %s\nwant\n %s", g, want)
	}
	if fake.Count() != 8 {
		t.Errorf("Count %d, want 8", fake.Count())
	}
}

package ses_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"newsletter/internal/ses"
)

// answering is an endpoint that answers every call with the body set last,
// and a client of the pipeline and a plain SDK client of it.
type answering struct {
	mu        sync.Mutex
	body      []byte
	ours, sdk *sesv2.Client
}

func newAnswering(t testing.TB) *answering {
	a := &answering{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		b := a.body
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
	a.ours = ses.NewClient(cfg, srv.URL)
	a.sdk = sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.Retryer = aws.NopRetryer{}
	})
	return a
}

// same calls SendBulkEmail and SendEmail through both clients with body as
// the answer and fails when they read it differently.
func (a *answering) same(t *testing.T, body string) {
	t.Helper()
	a.mu.Lock()
	a.body = []byte(body)
	a.mu.Unlock()
	ctx := context.Background()
	bulk := bulkInput("<p>x</p>", `{}`, "N")
	bo, berr := a.ours.SendBulkEmail(ctx, bulk)
	bs, serr := a.sdk.SendBulkEmail(ctx, bulk)
	if (berr == nil) != (serr == nil) {
		t.Fatalf("SendBulkEmail answered %q: ours err %v, the SDK's %v", body, berr, serr)
	}
	if berr == nil && !reflect.DeepEqual(bo.BulkEmailEntryResults, bs.BulkEmailEntryResults) {
		t.Fatalf("SendBulkEmail answered %q: ours %+v, the SDK's %+v", body, bo.BulkEmailEntryResults, bs.BulkEmailEntryResults)
	}
	one := sendInput("<p>x</p>", "x", "N")
	so, oerr := a.ours.SendEmail(ctx, one)
	ss, sderr := a.sdk.SendEmail(ctx, one)
	if (oerr == nil) != (sderr == nil) {
		t.Fatalf("SendEmail answered %q: ours err %v, the SDK's %v", body, oerr, sderr)
	}
	if oerr == nil && !reflect.DeepEqual(so.MessageId, ss.MessageId) {
		t.Fatalf("SendEmail answered %q: ours %v, the SDK's %v", body, aws.ToString(so.MessageId), aws.ToString(ss.MessageId))
	}
}

// The answers of SendBulkEmail and SendEmail read the same through the
// pipeline's client as through the SDK's own reader: the shapes SES sends
// (read by the client's decoder) and everything else (handed to the SDK's).
func TestOutputMatchesSDK(t *testing.T) {
	a := newAnswering(t)
	for _, body := range []string{
		`{"BulkEmailEntryResults":[{"Status":"SUCCESS","MessageId":"010201a2-675d-000000"},{"Status":"MESSAGE_REJECTED","Error":"Email address is not verified."}],"MessageId":"x"}`,
		`{"BulkEmailEntryResults":[{"Status":"SUCCESS","MessageId":"m1"},{"Status":"ACCOUNT_THROTTLED","Error":"Maximum sending rate exceeded."}]}`,
		" {\n \"BulkEmailEntryResults\" : [ { \"MessageId\" : \"m\" , \"Status\" : \"SUCCESS\" } ] }\n",
		`{"BulkEmailEntryResults":[]}`,
		`{"MessageId":"010201a23cf12918-675d17eb-82cb-4ce7-982b-827f8f27e697-000000"}`,
		`{"MessageId":"a","MessageId":"b"}`,
		`{"BulkEmailEntryResults":[{"Status":"FAILED","Error":"caf\u00e9 \"quoted\""}]}`,
		`{"BulkEmailEntryResults":[{"Status":"FAILED","Error":"café"}]}`,
		`{"BulkEmailEntryResults":[{"Status":"FAILED","Error":"caf\u00e9"}]}`,
		`{"MessageId":"a\/b\n"}`,
		`{"BulkEmailEntryResults":[{"Status":"SUCCESS","MessageId":null}]}`,
		`{"BulkEmailEntryResults":[{"Status":"SUCCESS","Extra":1}]}`,
		`{"BulkEmailEntryResults":[{"Status":"SUCCESS"}],"Other":{"a":[1,2]}}`,
		`{"BulkEmailEntryResults":[{"Status":"SUCCESS"}]`,
		`{"MessageId":"m"} trailing`,
		`{}`,
		``,
		`null`,
		`[]`,
	} {
		a.same(t, body)
	}
}

// The typical answers are read by the client's decoder, not handed on: the
// comparison above would pass if they never were.
func TestOutputDecoderReadsSESAnswers(t *testing.T) {
	bulk := `{"BulkEmailEntryResults":[{"Status":"SUCCESS","MessageId":"m1"},{"Status":"MESSAGE_REJECTED","Error":"Email address is not verified."}]}`
	res, ok := ses.DecodeBulkOutput([]byte(bulk))
	if !ok || len(res) != 2 || res[0].Status != types.BulkEmailStatusSuccess || aws.ToString(res[0].MessageId) != "m1" ||
		res[1].Status != types.BulkEmailStatusMessageRejected || aws.ToString(res[1].Error) != "Email address is not verified." || res[1].MessageId != nil {
		t.Errorf("bulk answer read as %+v, %v", res, ok)
	}
	if id, ok := ses.DecodeSendOutput([]byte(`{"MessageId":"m-1"}`)); !ok || id != "m-1" {
		t.Errorf("send answer read as %q, %v", id, ok)
	}
	if res, ok := ses.DecodeBulkOutput([]byte(`{"BulkEmailEntryResults":[{"Status":"FAILED","Error":"caf\u00e9 \"x\""}]}`)); !ok || len(res) != 1 || aws.ToString(res[0].Error) != `café "x"` {
		t.Errorf("an answer with escapes read as %+v, %v", res, ok)
	}
	for _, miss := range []string{`{"BulkEmailEntryResults":[{"Status":"A","Status":"B"}]}`, `{"BulkEmailEntryResults":[{"Status":"SUCCESS"}],"X":1}`, `{"BulkEmailEntryResults":[{"MessageId":null}]}`, `{}`} {
		if _, ok := ses.DecodeBulkOutput([]byte(miss)); ok {
			t.Errorf("%s was read by the decoder, want it handed to the SDK", miss)
		}
	}
}

func FuzzOutput(f *testing.F) {
	for _, s := range []string{
		`{"BulkEmailEntryResults":[{"Status":"SUCCESS","MessageId":"m"}]}`,
		`{"MessageId":"m"}`,
		`{"BulkEmailEntryResults":[{"Status":"X","Error":"\"e\""}]}`,
		"{ }",
	} {
		f.Add(s)
	}
	a := newAnswering(f)
	f.Fuzz(func(t *testing.T, body string) {
		a.same(t, body)
	})
}

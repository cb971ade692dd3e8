package ses_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"newsletter"
	"newsletter/internal/ses"
)

func sender(endpoint string, timeout time.Duration) *ses.Sender {
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
	return &ses.Sender{Client: ses.NewClient(cfg, endpoint), Timeout: timeout}
}

func email() *newsletter.Email {
	return &newsletter.Email{From: "a@example.org", To: "b@example.org", Subject: "s", HTML: []byte("<p>h</p>"), Text: []byte("t")}
}

// Each failure lands in the right class: retrying an email SES may have
// accepted would send it twice. The client itself never retries.
func TestClassify(t *testing.T) {
	answer := func(status int, errType, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if errType != "" {
				w.Header().Set("X-Amzn-ErrorType", errType)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	cases := []struct {
		name      string
		handler   http.HandlerFunc
		permanent bool
		unknown   bool
	}{
		{"accepted, reply garbled", answer(200, "", `{"MessageId": `), false, true},
		{"rejected", answer(400, "MessageRejected", `{"message":"Email address is not verified."}`), true, false},
		{"bad request", answer(400, "BadRequestException", `{"message":"no"}`), true, false},
		{"throttled", answer(429, "TooManyRequestsException", `{"message":"slow down"}`), false, false},
		{"internal error", answer(500, "InternalFailure", `{"message":"oops"}`), false, false},
		{"paused", answer(400, "SendingPausedException", `{"message":"paused"}`), false, false},
		{"no answer in time", func(w http.ResponseWriter, r *http.Request) { time.Sleep(2 * time.Second) }, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				c.handler(w, r)
			}))
			defer srv.Close()
			_, err := sender(srv.URL, 300*time.Millisecond).Send(context.Background(), email())
			if err == nil {
				t.Fatal("no error")
			}
			// The pipeline decides what to retry: the client asks once.
			if n := calls.Load(); n != 1 {
				t.Errorf("the endpoint was called %d times, want once", n)
			}
			if got := newsletter.IsPermanent(err); got != c.permanent {
				t.Errorf("permanent = %v, want %v (%v)", got, c.permanent, err)
			}
			if got := errors.Is(err, newsletter.ErrUnknownOutcome); got != c.unknown {
				t.Errorf("unknown outcome = %v, want %v (%v)", got, c.unknown, err)
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		_, err := sender("http://"+addr, time.Second).Send(context.Background(), email())
		if err == nil || newsletter.IsPermanent(err) || errors.Is(err, newsletter.ErrUnknownOutcome) {
			t.Errorf("refused connection: %v, want a retryable error (nothing was sent)", err)
		}
	})
	t.Run("accepted", func(t *testing.T) {
		srv := httptest.NewServer(answer(200, "", `{"MessageId":"m-1"}`))
		defer srv.Close()
		id, err := sender(srv.URL, time.Second).Send(context.Background(), email())
		if err != nil || id != "m-1" {
			t.Errorf("Send = %q, %v", id, err)
		}
	})
}

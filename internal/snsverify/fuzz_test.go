package snsverify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"newsletter"
)

// pemTransport serves one certificate for every URL, without a network.
type pemTransport struct{ pem []byte }

func (p pemTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: http.Header{},
		Body: io.NopCloser(bytes.NewReader(p.pem)), Request: r}, nil
}

func FuzzVerify(f *testing.F) {
	s, err := NewSigner("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123.pem", testNow)
	if err != nil {
		f.Fatal(err)
	}
	s.Now = func() time.Time { return testNow }
	v := &Verifier{
		TopicARNs:  []string{testTopic},
		HTTPClient: &http.Client{Transport: pemTransport{s.CertPEM()}},
		Now:        func() time.Time { return testNow },
	}
	for _, version := range []string{"1", "2"} {
		for _, typ := range []string{TypeNotification, TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation} {
			m := &Message{Type: typ, MessageId: "m-1", TopicArn: testTopic, Subject: "s", Message: "{\"eventType\":\"Bounce\"}\n",
				Timestamp: "2026-03-14T09:26:53.000Z"}
			if typ != TypeNotification {
				m.Subject, m.Token, m.SubscribeURL = "", "tok", "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok"
			}
			if err := s.Sign(m, version); err != nil {
				f.Fatal(err)
			}
			b, _ := json.Marshal(m)
			f.Add(b)
		}
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"Type":"Notification","SigningCertURL":"https://sns.eu-west-1.amazonaws.com:99999/x.pem"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := v.Verify(context.Background(), body)
		if err != nil {
			var ne *newsletter.Error
			if !errors.As(err, &ne) || ne.Code == "" || ne.Code == newsletter.EINTERNAL {
				t.Fatalf("error %T %v is not a coded *newsletter.Error", err, err)
			}
			if m != nil {
				t.Fatal("message returned with an error")
			}
			return
		}
		// Accepted: it must be what the signer could have produced.
		if m.TopicArn != testTopic || m.SigningCertURL != s.CertURL() {
			t.Fatalf("accepted foreign message %+v", m)
		}
		if _, err := stringToSign(m); err != nil {
			t.Fatalf("accepted message of unknown type: %+v", m)
		}
	})
}

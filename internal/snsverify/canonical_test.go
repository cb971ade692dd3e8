package snsverify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/snsverify"
)

// A signed notification with a Subject, its Subject folded into the
// MessageId ("id\nSubject\ntext") and dropped, gives the same canonical
// string: it must be refused, or it would pass the replay check (a new
// MessageId) with a valid signature.
func TestLineBreakInSignedFieldRefused(t *testing.T) {
	signer, err := snsverify.NewSigner(versionCertURL, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v := &snsverify.Verifier{TopicARNs: []string{versionTopic}, HTTPClient: &http.Client{Transport: pemTransport(signer.CertPEM())}}
	m, err := signer.Notification(versionTopic, "Amazon SES Email Event Notification", `{"eventType":"Bounce","mail":{"messageId":"ses-1"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if err := signer.Sign(m, "2"); err != nil {
		t.Fatal(err)
	}
	genuine, _ := json.Marshal(m)
	if _, err := v.Verify(context.Background(), genuine); err != nil {
		t.Fatalf("genuine message: %v", err)
	}
	forged := *m
	forged.MessageId = m.MessageId + "\nSubject\n" + m.Subject
	forged.Subject = ""
	b, _ := json.Marshal(&forged)
	if _, err := v.Verify(context.Background(), b); err == nil {
		t.Fatal("a MessageId holding the folded Subject verified")
	} else if newsletter.ErrorCode(err) != newsletter.EINVALID {
		t.Errorf("refused with %v, want EINVALID", err)
	}
	for _, field := range []func(*snsverify.Message){
		func(m *snsverify.Message) { m.TopicArn += "\n" },
		func(m *snsverify.Message) { m.Timestamp += "\r" },
		func(m *snsverify.Message) { m.Subject = "a\nb" },
		func(m *snsverify.Message) { m.Type += "\n" },
	} {
		f := *m
		field(&f)
		b, _ := json.Marshal(&f)
		if _, err := v.Verify(context.Background(), b); err == nil {
			t.Errorf("a line break in a signed field verified: %s", b)
		}
	}
}

// countingTransport serves the certificate for any query variant of
// versionCertURL and counts the fetches.
type countingTransport struct {
	pem pemTransport
	mu  sync.Mutex
	n   int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	u := *r.URL
	u.RawQuery = ""
	r2 := r.Clone(r.Context())
	r2.URL = &u
	return c.pem.RoundTrip(r2)
}

// "?n=1", "?n=2"... on the certificate URL, concurrently, cause one
// outbound fetch, not one per request.
func TestCertificateFetchedOnceWhateverTheQuery(t *testing.T) {
	signer, err := snsverify.NewSigner(versionCertURL, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tr := &countingTransport{pem: pemTransport(signer.CertPEM())}
	v := &snsverify.Verifier{TopicARNs: []string{versionTopic}, HTTPClient: &http.Client{Transport: tr}}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := signer.Notification(versionTopic, "", `{"eventType":"Delivery"}`)
			if err != nil {
				t.Error(err)
				return
			}
			if err := signer.Sign(m, "2"); err != nil {
				t.Error(err)
				return
			}
			// Not part of the signed string: anyone can change it.
			m.SigningCertURL = versionCertURL + "?n=" + strconv.Itoa(i)
			b, _ := json.Marshal(m)
			if _, err := v.Verify(context.Background(), b); err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if tr.n != 1 {
		t.Errorf("%d certificate fetches for 30 requests with query variants, want 1", tr.n)
	}
}

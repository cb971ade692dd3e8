package snsverify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/snsverify"
)

const (
	versionTopic   = "arn:aws:sns:eu-west-1:123456789012:ses-events"
	versionCertURL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-version.pem"
)

// pemTransport serves one certificate at versionCertURL.
type pemTransport []byte

func (p pemTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.String() != versionCertURL {
		return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(p)), Request: r}, nil
}

// The SignatureVersion decides the digest: a signature made with the
// other version's digest is refused, whichever way round.
func TestSignatureVersionMustMatchDigest(t *testing.T) {
	now := time.Now()
	signer, err := snsverify.NewSigner(versionCertURL, now)
	if err != nil {
		t.Fatal(err)
	}
	v := &snsverify.Verifier{TopicARNs: []string{versionTopic}, HTTPClient: &http.Client{Transport: pemTransport(signer.CertPEM())}}
	ctx := context.Background()
	// signedAs signs with version's digest, then labels it label.
	signedAs := func(t *testing.T, version, label string) []byte {
		t.Helper()
		m, err := signer.Notification(versionTopic, "Amazon SES Email Event Notification", `{"eventType":"Delivery","mail":{"messageId":"ses-1"}}`)
		if err != nil {
			t.Fatal(err)
		}
		if err := signer.Sign(m, version); err != nil {
			t.Fatal(err)
		}
		m.SignatureVersion = label
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tt := range []struct {
		name           string
		digest, label  string
		wantRefusedErr bool
	}{
		{"SHA1 labelled 1", "1", "1", false},
		{"SHA256 labelled 2", "2", "2", false},
		{"SHA1 labelled 2", "1", "2", true},
		{"SHA256 labelled 1", "2", "1", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := v.Verify(ctx, signedAs(t, tt.digest, tt.label))
			if !tt.wantRefusedErr {
				if err != nil {
					t.Fatalf("refused a correctly labelled message: %v", err)
				}
				if m.SignatureVersion != tt.label {
					t.Errorf("SignatureVersion %q, want %q", m.SignatureVersion, tt.label)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted a message signed with SignatureVersion %s's digest but labelled %s", tt.digest, tt.label)
			}
			if m != nil {
				t.Error("a refused message was returned")
			}
			if newsletter.ErrorCode(err) != newsletter.EUNAUTHORIZED || !strings.Contains(err.Error(), "signature does not match") {
				t.Errorf("err %v, want EUNAUTHORIZED signature mismatch", err)
			}
		})
	}
}

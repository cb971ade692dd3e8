package snsverify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"newsletter"
)

const testTopic = "arn:aws:sns:eu-west-1:123456789012:ses-events"

var testNow = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// env is a TLS server that serves the signer's certificate and counts the
// requests it gets, plus a Verifier configured to trust it.
type env struct {
	srv      *httptest.Server
	signer   *Signer
	verifier *Verifier
	hits     sync.Map // path -> *atomic.Int64
}

func (e *env) count(path string) int64 {
	v, ok := e.hits.Load(path)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{}
	ecPEM := ecdsaCertPEM(t)
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := e.hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		switch r.URL.Path {
		case "/cert.pem":
			w.Write(e.signer.CertPEM())
		case "/ecdsa.pem":
			w.Write(ecPEM)
		case "/garbage.pem":
			w.Write([]byte("-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n"))
		case "/text.pem":
			w.Write([]byte("hello"))
		case "/boom.pem":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/redirect.pem":
			http.Redirect(w, r, "/cert.pem", http.StatusFound)
		case "/confirm":
			w.Write([]byte("<ConfirmSubscriptionResponse/>"))
		case "/confirm-gone":
			http.Error(w, "token expired", http.StatusNotFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(e.srv.Close)
	s, err := NewSigner(e.srv.URL+"/cert.pem", testNow)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return testNow }
	e.signer = s
	e.verifier = &Verifier{
		TopicARNs:  []string{testTopic},
		CertHost:   regexp.MustCompile(`^127\.0\.0\.1:[0-9]+$`),
		HTTPClient: e.srv.Client(),
		Now:        func() time.Time { return testNow },
	}
	return e
}

func ecdsaCertPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "ecdsa"},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// message returns an unsigned message of the given type.
func (e *env) message(typ string) *Message {
	m := &Message{
		Type:      typ,
		MessageId: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		TopicArn:  testTopic,
		Message:   `{"eventType":"Delivery","mail":{"messageId":"0100018e-abc"}}`,
		Timestamp: testNow.Format("2006-01-02T15:04:05.000Z"),
	}
	if typ != TypeNotification {
		m.Token = "2336412f37fb687f5d51e6e2425dacbba8b1a3fe"
		m.SubscribeURL = e.srv.URL + "/confirm?Action=ConfirmSubscription&Token=2336412f37fb687f5d51e6e2425dacbba8b1a3fe"
		m.Message = "You have chosen to subscribe to the topic " + testTopic + ".\nTo confirm the subscription, visit the SubscribeURL included in this message."
	}
	return m
}

func (e *env) signed(t *testing.T, typ, version string) *Message {
	t.Helper()
	m := e.message(typ)
	if err := e.signer.Sign(m, version); err != nil {
		t.Fatal(err)
	}
	return m
}

func body(t *testing.T, m any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func code(err error) string { return newsletter.ErrorCode(err) }

// The canonical strings, written out by hand from AWS's documentation
// rather than derived from stringToSign.
func TestStringToSign(t *testing.T) {
	base := Message{
		MessageId: "id-1", TopicArn: "arn:t", Message: "line1\nline2",
		Timestamp: "2026-01-02T03:04:05.678Z", Token: "tok", SubscribeURL: "https://sns.x/confirm",
		Signature: "ignored", SignatureVersion: "2", SigningCertURL: "https://ignored.pem", UnsubscribeURL: "https://ignored",
	}
	tests := []struct {
		name    string
		typ     string
		subject string
		want    string
	}{
		{"notification without subject", TypeNotification, "",
			"Message\nline1\nline2\nMessageId\nid-1\nTimestamp\n2026-01-02T03:04:05.678Z\nTopicArn\narn:t\nType\nNotification\n"},
		{"notification with subject", TypeNotification, "Hi",
			"Message\nline1\nline2\nMessageId\nid-1\nSubject\nHi\nTimestamp\n2026-01-02T03:04:05.678Z\nTopicArn\narn:t\nType\nNotification\n"},
		{"subscription confirmation", TypeSubscriptionConfirmation, "ignored",
			"Message\nline1\nline2\nMessageId\nid-1\nSubscribeURL\nhttps://sns.x/confirm\nTimestamp\n2026-01-02T03:04:05.678Z\nToken\ntok\nTopicArn\narn:t\nType\nSubscriptionConfirmation\n"},
		{"unsubscribe confirmation", TypeUnsubscribeConfirmation, "",
			"Message\nline1\nline2\nMessageId\nid-1\nSubscribeURL\nhttps://sns.x/confirm\nTimestamp\n2026-01-02T03:04:05.678Z\nToken\ntok\nTopicArn\narn:t\nType\nUnsubscribeConfirmation\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base
			m.Type, m.Subject = tt.typ, tt.subject
			got, err := stringToSign(&m)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
	m := base
	m.Type = "Bogus"
	if _, err := stringToSign(&m); code(err) != newsletter.EINVALID {
		t.Errorf("unknown type: got %v, want EINVALID", err)
	}
}

// A message signed over a hand-built canonical string, in hand-written
// JSON with escapes, must verify: this checks Verify against the documented
// format, not against Signer.
func TestVerifyHandBuiltVector(t *testing.T) {
	e := newEnv(t)
	canonical := "Message\n{\"a\":\"é\"}\nline 2\nMessageId\nm-42\nSubject\nTest \"quoted\"\nTimestamp\n2026-03-14T09:26:53.000Z\nTopicArn\n" + testTopic + "\nType\nNotification\n"
	for _, v := range []struct {
		version string
		hash    crypto.Hash
	}{{"1", crypto.SHA1}, {"2", crypto.SHA256}} {
		t.Run("v"+v.version, func(t *testing.T) {
			var digest []byte
			if v.hash == crypto.SHA1 {
				d := sha1.Sum([]byte(canonical))
				digest = d[:]
			} else {
				d := sha256.Sum256([]byte(canonical))
				digest = d[:]
			}
			sig, err := rsa.SignPKCS1v15(rand.Reader, e.signer.key, v.hash, digest)
			if err != nil {
				t.Fatal(err)
			}
			raw := fmt.Sprintf(`{
  "Type" : "Notification",
  "MessageId" : "m-42",
  "TopicArn" : %q,
  "Subject" : "Test \"quoted\"",
  "Message" : "{\"a\":\"\u00e9\"}\nline 2",
  "Timestamp" : "2026-03-14T09:26:53.000Z",
  "SignatureVersion" : %q,
  "Signature" : %q,
  "SigningCertURL" : %q,
  "UnsubscribeURL" : "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
  "MessageAttributes" : {"x": {"Type": "String", "Value": "y"}}
}`, testTopic, v.version, base64.StdEncoding.EncodeToString(sig), e.signer.CertURL())
			m, err := e.verifier.Verify(context.Background(), []byte(raw))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if m.Message != "{\"a\":\"é\"}\nline 2" || m.Subject != `Test "quoted"` {
				t.Errorf("parsed %+v", m)
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	e := newEnv(t)
	for _, version := range []string{"1", "2"} {
		for _, typ := range []string{TypeNotification, TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation} {
			for _, subject := range []string{"", "Amazon SES Email Event Notification"} {
				t.Run(fmt.Sprintf("v%s/%s/subject=%q", version, typ, subject), func(t *testing.T) {
					m := e.message(typ)
					m.Subject = subject
					if err := e.signer.Sign(m, version); err != nil {
						t.Fatal(err)
					}
					got, err := e.verifier.Verify(context.Background(), body(t, m))
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if *got != *m {
						t.Errorf("got %+v\nwant %+v", got, m)
					}
				})
			}
		}
	}
	if n := e.count("/cert.pem"); n != 1 {
		t.Errorf("certificate fetched %d times, want 1 (cached)", n)
	}
}

func TestVerifyRefuses(t *testing.T) {
	e := newEnv(t)
	other, err := NewSigner(e.signer.CertURL(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name   string
		body   func(t *testing.T) []byte
		code   string
		msg    string
		fetchs bool // whether the certificate may be fetched
	}{
		{"altered Message", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.Message = strings.Replace(m.Message, "Delivery", "Bounce", 1)
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "SNS message signature does not match", true},
		{"altered Message v1", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "1")
			m.Message += " "
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "SNS message signature does not match", true},
		{"added Subject", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.Subject = "x"
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "signature does not match", true},
		{"altered Token", func(t *testing.T) []byte {
			m := e.signed(t, TypeSubscriptionConfirmation, "1")
			m.Token = "0" + m.Token
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "signature does not match", true},
		{"altered SubscribeURL", func(t *testing.T) []byte {
			m := e.signed(t, TypeSubscriptionConfirmation, "2")
			m.SubscribeURL += "&x=1"
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "signature does not match", true},
		{"altered Signature", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			sig, _ := base64.StdEncoding.DecodeString(m.Signature)
			sig[10] ^= 1
			m.Signature = base64.StdEncoding.EncodeToString(sig)
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "signature does not match", true},
		{"version swapped", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.SignatureVersion = "1"
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "signature does not match", true},
		{"signed by another key", func(t *testing.T) []byte {
			m := e.message(TypeNotification)
			if err := other.Sign(m, "2"); err != nil {
				t.Fatal(err)
			}
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "signature does not match", true},
		{"signature not base64", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.Signature = "%%%"
			return body(t, m)
		}, newsletter.EINVALID, "not valid base64", false},
		{"wrong cert host", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.SigningCertURL = "https://evil.com/cert.pem"
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "SigningCertURL host evil.com is not an SNS host", false},
		{"http cert URL", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.SigningCertURL = strings.Replace(m.SigningCertURL, "https://", "http://", 1)
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, `SigningCertURL must use https, not "http"`, false},
		{"cert URL not .pem", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.SigningCertURL = e.srv.URL + "/cert.pem.txt"
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "does not end in .pem", false},
		{"cert URL with user info", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.SigningCertURL = strings.Replace(m.SigningCertURL, "https://", "https://user:pw@", 1)
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "must not carry user info", false},
		{"unknown topic", func(t *testing.T) []byte {
			m := e.message(TypeNotification)
			m.TopicArn = "arn:aws:sns:eu-west-1:999999999999:other"
			if err := e.signer.Sign(m, "2"); err != nil {
				t.Fatal(err)
			}
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "SNS topic arn:aws:sns:eu-west-1:999999999999:other is not allowed", false},
		{"unknown type", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.Type = "Surprise"
			return body(t, m)
		}, newsletter.EINVALID, `unknown SNS message Type "Surprise"`, false},
		{"missing MessageId", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.MessageId = ""
			return body(t, m)
		}, newsletter.EINVALID, "has no MessageId", false},
		{"confirmation without Token", func(t *testing.T) []byte {
			m := e.signed(t, TypeSubscriptionConfirmation, "2")
			m.Token = ""
			return body(t, m)
		}, newsletter.EINVALID, "has no Token", false},
		{"SignatureVersion 3", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.SignatureVersion = "3"
			return body(t, m)
		}, newsletter.EINVALID, `unsupported SNS SignatureVersion "3"`, false},
		{"bad Timestamp", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.Timestamp = "yesterday"
			return body(t, m)
		}, newsletter.EINVALID, "not an RFC 3339 time", false},
		{"malformed JSON", func(t *testing.T) []byte { return []byte(`{"Type":"Notification",`) },
			newsletter.EINVALID, "not valid JSON", false},
		{"JSON array", func(t *testing.T) []byte { return []byte(`[1,2]`) },
			newsletter.EINVALID, "not valid JSON", false},
		{"empty body", func(t *testing.T) []byte { return nil },
			newsletter.EINVALID, "not valid JSON", false},
		{"ECDSA certificate", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.SigningCertURL = e.srv.URL + "/ecdsa.pem"
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "ECDSA key, not RSA", true},
		{"garbage certificate", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.SigningCertURL = e.srv.URL + "/garbage.pem"
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "does not parse", true},
		{"not PEM", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.SigningCertURL = e.srv.URL + "/text.pem"
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "not a PEM certificate", true},
		{"certificate not found", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.SigningCertURL = e.srv.URL + "/missing.pem"
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "404", true},
		{"certificate redirect not followed", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.SigningCertURL = e.srv.URL + "/redirect.pem"
			return body(t, m)
		}, newsletter.EUNAUTHORIZED, "302", true},
		{"certificate server error", func(t *testing.T) []byte {
			m := e.signed(t, TypeNotification, "2")
			m.SigningCertURL = e.srv.URL + "/boom.pem"
			return body(t, m)
		}, newsletter.EUNAVAILABLE, "500", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.count("/cert.pem") + e.count("/ecdsa.pem") + e.count("/garbage.pem") +
				e.count("/missing.pem") + e.count("/redirect.pem") + e.count("/boom.pem") + e.count("/text.pem")
			m, err := e.verifier.Verify(ctx, tt.body(t))
			if err == nil {
				t.Fatalf("accepted %+v", m)
			}
			if m != nil {
				t.Errorf("returned a message with error %v", err)
			}
			var ne *newsletter.Error
			if !errors.As(err, &ne) {
				t.Fatalf("error %T %v is not a *newsletter.Error", err, err)
			}
			if ne.Code != tt.code || !strings.Contains(ne.Message, tt.msg) {
				t.Errorf("got %s %q, want %s containing %q", ne.Code, ne.Message, tt.code, tt.msg)
			}
			after := e.count("/cert.pem") + e.count("/ecdsa.pem") + e.count("/garbage.pem") +
				e.count("/missing.pem") + e.count("/redirect.pem") + e.count("/boom.pem") + e.count("/text.pem")
			if !tt.fetchs && after != before {
				t.Errorf("fetched a certificate for a message refused before fetching")
			}
			if n := e.count("/cert.pem"); n > 1 {
				t.Errorf("/cert.pem fetched %d times, want at most 1", n)
			}
		})
	}
}

func TestVerifyEmptyAllowList(t *testing.T) {
	e := newEnv(t)
	e.verifier.TopicARNs = nil
	_, err := e.verifier.Verify(context.Background(), body(t, e.signed(t, TypeNotification, "2")))
	if code(err) != newsletter.EUNAUTHORIZED || !strings.Contains(err.Error(), "no topic is allowed") {
		t.Errorf("got %v, want EUNAUTHORIZED naming the empty allow-list", err)
	}
}

func TestVerifyDefaultCertHost(t *testing.T) {
	v := &Verifier{TopicARNs: []string{testTopic}, HTTPClient: &http.Client{Transport: failTransport{}}}
	tests := []struct {
		url string
		ok  bool // passes the URL checks (and then fails on the fetch)
	}{
		{"https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", true},
		{"https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-abc.pem", true},
		{"https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem", true},
		{"https://sns.eu-west-1.amazonaws.com:443/x.pem", true},
		{"https://sns.eu-west-1.amazonaws.com:8443/x.pem", false},
		{"https://sns.eu-west-1.amazonaws.com.evil.com/x.pem", false},
		{"https://evilsns.eu-west-1.amazonaws.com/x.pem", false},
		{"https://sns.eu-west-1.amazonaws.com@evil.com/x.pem", false},
		{"https://s3.amazonaws.com/x.pem", false},
		{"https://SNS.EU-WEST-1.AMAZONAWS.COM/x.pem", false},
		{"https:sns.eu-west-1.amazonaws.com/x.pem", false},
		{"https://127.0.0.1/x.pem", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			m := &Message{Type: TypeNotification, MessageId: "1", TopicArn: testTopic, Message: "x",
				Timestamp: "2026-03-14T09:26:53.000Z", SignatureVersion: "2", Signature: "AAAA", SigningCertURL: tt.url}
			_, err := v.Verify(context.Background(), body(t, m))
			got := code(err) == newsletter.EUNAVAILABLE // reached the fetch
			if got != tt.ok {
				t.Errorf("reached fetch = %v, want %v (err %v)", got, tt.ok, err)
			}
		})
	}
}

type failTransport struct{}

func (failTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in this test")
}

func TestVerifyCertUnreachable(t *testing.T) {
	e := newEnv(t)
	b := body(t, e.signed(t, TypeNotification, "2"))
	e.srv.Close()
	_, err := e.verifier.Verify(context.Background(), b)
	if code(err) != newsletter.EUNAVAILABLE {
		t.Errorf("got %v, want EUNAVAILABLE", err)
	}
}

func TestVerifyCertValidity(t *testing.T) {
	e := newEnv(t)
	b := body(t, e.signed(t, TypeNotification, "2"))
	if _, err := e.verifier.Verify(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	// Cached, but checked again on every use.
	for _, at := range []time.Time{testNow.AddDate(1, 0, 1), testNow.Add(-2 * time.Hour)} {
		e.verifier.Now = func() time.Time { return at }
		_, err := e.verifier.Verify(context.Background(), b)
		if code(err) != newsletter.EUNAUTHORIZED || !strings.Contains(err.Error(), "is not valid at") {
			t.Errorf("at %s: got %v, want certificate validity error", at, err)
		}
	}
}

func TestVerifyMaxAge(t *testing.T) {
	e := newEnv(t)
	e.verifier.MaxAge = time.Hour
	b := body(t, e.signed(t, TypeNotification, "2"))
	for _, tt := range []struct {
		now time.Time
		ok  bool
	}{
		{testNow, true},
		{testNow.Add(59 * time.Minute), true},
		{testNow.Add(61 * time.Minute), false},
		{testNow.Add(-61 * time.Minute), false},
	} {
		e.verifier.Now = func() time.Time { return tt.now }
		_, err := e.verifier.Verify(context.Background(), b)
		if (err == nil) != tt.ok {
			t.Errorf("now %s: err %v, want ok=%v", tt.now, err, tt.ok)
		}
		if err != nil && code(err) != newsletter.EUNAUTHORIZED {
			t.Errorf("now %s: code %s, want EUNAUTHORIZED", tt.now, code(err))
		}
	}
}

func TestCertCacheBounded(t *testing.T) {
	e := newEnv(t)
	c, err := parseCert(e.signer.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 * maxCachedCerts {
		e.verifier.remember(fmt.Sprintf("https://sns.x/%d.pem", i), c)
	}
	if n := len(e.verifier.certs); n != maxCachedCerts || len(e.verifier.order) != maxCachedCerts {
		t.Errorf("cache holds %d (%d in order), want %d", n, len(e.verifier.order), maxCachedCerts)
	}
	if _, ok := e.verifier.certs[fmt.Sprintf("https://sns.x/%d.pem", 3*maxCachedCerts-1)]; !ok {
		t.Error("newest entry evicted")
	}
}

func TestVerifyConcurrent(t *testing.T) {
	e := newEnv(t)
	var bodies [][]byte
	for _, v := range []string{"1", "2"} {
		for _, typ := range []string{TypeNotification, TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation} {
			bodies = append(bodies, body(t, e.signed(t, typ, v)))
		}
	}
	var wg sync.WaitGroup
	for i := range 48 {
		wg.Go(func() {
			if _, err := e.verifier.Verify(context.Background(), bodies[i%len(bodies)]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestConfirmSubscription(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.signed(t, TypeSubscriptionConfirmation, "2")
	if err := e.verifier.ConfirmSubscription(ctx, m); err != nil {
		t.Fatal(err)
	}
	if n := e.count("/confirm"); n != 1 {
		t.Fatalf("SubscribeURL visited %d times, want 1", n)
	}

	tests := []struct {
		name   string
		modify func(m *Message)
		code   string
		msg    string
	}{
		{"notification", func(m *Message) { m.Type = TypeNotification }, newsletter.EINVALID, "not an SNS SubscriptionConfirmation"},
		{"unsubscribe", func(m *Message) { m.Type = TypeUnsubscribeConfirmation }, newsletter.EINVALID, "not an SNS SubscriptionConfirmation"},
		{"unknown topic", func(m *Message) { m.TopicArn = "arn:aws:sns:eu-west-1:1:other" }, newsletter.EUNAUTHORIZED, "is not allowed"},
		{"foreign host", func(m *Message) { m.SubscribeURL = "https://evil.com/confirm" }, newsletter.EUNAUTHORIZED, "SubscribeURL host evil.com is not an SNS host"},
		{"http", func(m *Message) { m.SubscribeURL = strings.Replace(m.SubscribeURL, "https", "http", 1) }, newsletter.EUNAUTHORIZED, "must use https"},
		{"user info", func(m *Message) { m.SubscribeURL = strings.Replace(m.SubscribeURL, "https://", "https://a@", 1) }, newsletter.EUNAUTHORIZED, "user info"},
		{"refused by SNS", func(m *Message) { m.SubscribeURL = e.srv.URL + "/confirm-gone" }, newsletter.EINVALID, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *m
			tt.modify(&c)
			err := e.verifier.ConfirmSubscription(ctx, &c)
			if code(err) != tt.code || err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %s %v, want %s containing %q", code(err), err, tt.code, tt.msg)
			}
		})
	}
	if n := e.count("/confirm"); n != 1 {
		t.Errorf("SubscribeURL visited %d times after refusals, want still 1", n)
	}
	if err := e.verifier.ConfirmSubscription(ctx, nil); code(err) != newsletter.EINVALID {
		t.Errorf("nil message: %v", err)
	}
	e.srv.Close()
	if err := e.verifier.ConfirmSubscription(ctx, m); code(err) != newsletter.EUNAVAILABLE {
		t.Errorf("unreachable SNS: got %v, want EUNAVAILABLE", err)
	}
}

func TestSignerNotification(t *testing.T) {
	e := newEnv(t)
	a, err := e.signer.Notification(testTopic, "", `{"x":1}`)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.signer.Notification(testTopic, "subj", `{"x":1}`)
	if err != nil {
		t.Fatal(err)
	}
	if a.MessageId == b.MessageId || !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a.MessageId) {
		t.Errorf("MessageIds %q %q: want distinct v4 UUIDs", a.MessageId, b.MessageId)
	}
	if a.SignatureVersion != "2" || a.Timestamp != "2026-03-14T09:26:53.000Z" || a.SigningCertURL != e.signer.CertURL() {
		t.Errorf("notification %+v", a)
	}
	for _, m := range []*Message{a, b} {
		if _, err := e.verifier.Verify(context.Background(), body(t, m)); err != nil {
			t.Errorf("Verify(%+v): %v", m, err)
		}
	}
	if err := e.signer.Sign(e.message(TypeNotification), "3"); err == nil {
		t.Error("Sign accepted SignatureVersion 3")
	}
}

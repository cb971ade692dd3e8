package snsverify

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"newsletter"
)

// DefaultCertHost matches the hosts SNS serves signing certificates and
// subscription URLs from, in the commercial and China partitions.
var DefaultCertHost = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

const (
	defaultFetchTimeout = 10 * time.Second
	maxCertBytes        = 64 << 10
	maxCachedCerts      = 32
)

// Verifier checks SNS messages. The zero value refuses everything (no topic
// is allowed); set TopicARNs. A Verifier is safe for concurrent use once
// configured.
type Verifier struct {
	// TopicARNs lists the topics whose messages are accepted.
	TopicARNs []string
	// CertHost must match the host of SigningCertURL and SubscribeURL.
	// Nil means DefaultCertHost. It is matched against the bare host name
	// when the URL has no port or port 443, and against "host:port"
	// otherwise, so the default refuses any other port while a test
	// pattern can allow one. Override only for tests and the embedded
	// dev endpoint.
	CertHost *regexp.Regexp
	// HTTPClient fetches certificates and confirms subscriptions. Nil
	// means a client with a 10 s timeout. Redirects are never followed.
	HTTPClient *http.Client
	// MaxAge, when positive, refuses messages whose Timestamp is further
	// than MaxAge from Now (replay window).
	MaxAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu        sync.Mutex
	certs     map[string]*x509.Certificate // by SigningCertURL without query
	fetches   singleflight.Group
	slotsOnce sync.Once
	slots     chan struct{}
	order     []string // insertion order, for eviction
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) certHost() *regexp.Regexp {
	if v.CertHost != nil {
		return v.CertHost
	}
	return DefaultCertHost
}

// client returns a copy of the configured client that refuses redirects,
// so a redirect cannot lead a fetch off the checked host.
func (v *Verifier) client() *http.Client {
	var c http.Client
	if v.HTTPClient != nil {
		c = *v.HTTPClient
	} else {
		c.Timeout = defaultFetchTimeout
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func unauthorized(format string, args ...any) error {
	return newsletter.Errorf(newsletter.EUNAUTHORIZED, format, args...)
}

func invalid(format string, args ...any) error {
	return newsletter.Errorf(newsletter.EINVALID, format, args...)
}

// Verify parses body as an SNS message and checks its type, topic,
// certificate URL, certificate, age and signature. Errors are
// *newsletter.Error: EINVALID for malformed input, EUNAUTHORIZED for a
// refused topic, certificate or signature, EUNAVAILABLE when the
// certificate could not be fetched (SNS should retry).
func (v *Verifier) Verify(ctx context.Context, body []byte) (*Message, error) {
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, invalid("SNS message is not valid JSON: %v", err)
	}
	if _, err := stringToSign(&m); err != nil {
		return nil, err
	}
	if err := m.checkFields(); err != nil {
		return nil, err
	}
	if err := v.checkTopic(m.TopicArn); err != nil {
		return nil, err
	}
	var hash crypto.Hash
	switch m.SignatureVersion {
	case "1":
		hash = crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return nil, invalid("unsupported SNS SignatureVersion %q (want 1 or 2)", clip(m.SignatureVersion))
	}
	certURL, err := v.checkURL("SigningCertURL", m.SigningCertURL)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(certURL.Path, ".pem") {
		return nil, unauthorized("SigningCertURL path %q does not end in .pem", clip(certURL.Path))
	}
	ts, err := time.Parse(time.RFC3339Nano, m.Timestamp)
	if err != nil {
		return nil, invalid("SNS message Timestamp %q is not an RFC 3339 time", clip(m.Timestamp))
	}
	now := v.now()
	if v.MaxAge > 0 {
		if age := now.Sub(ts); age > v.MaxAge {
			return nil, unauthorized("SNS message Timestamp %s is older than the %s replay window", m.Timestamp, v.MaxAge)
		} else if -age > v.MaxAge {
			return nil, unauthorized("SNS message Timestamp %s is more than %s in the future", m.Timestamp, v.MaxAge)
		}
	}
	// Strict: an altered padding bit must not decode to the same bytes.
	sig, err := base64.StdEncoding.Strict().DecodeString(m.Signature)
	if err != nil {
		return nil, invalid("SNS message Signature is not valid base64")
	}
	cert, err := v.cert(ctx, m.SigningCertURL, now)
	if err != nil {
		return nil, err
	}
	canonical, _ := stringToSign(&m) // type checked above
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), hash, digest(hash, canonical), sig); err != nil {
		return nil, unauthorized("SNS message signature does not match")
	}
	return &m, nil
}

func (m *Message) checkFields() error {
	required := []struct{ name, value string }{
		{"MessageId", m.MessageId},
		{"TopicArn", m.TopicArn},
		{"Message", m.Message},
		{"Timestamp", m.Timestamp},
		{"SignatureVersion", m.SignatureVersion},
		{"Signature", m.Signature},
		{"SigningCertURL", m.SigningCertURL},
	}
	if m.Type != TypeNotification {
		required = append(required,
			struct{ name, value string }{"Token", m.Token},
			struct{ name, value string }{"SubscribeURL", m.SubscribeURL})
	}
	for _, f := range required {
		if f.value == "" {
			return invalid("SNS %s message has no %s", m.Type, f.name)
		}
	}
	return nil
}

func (v *Verifier) checkTopic(arn string) error {
	if len(v.TopicARNs) == 0 {
		return unauthorized("SNS topic %s refused: no topic is allowed (configure the SES notification topic ARN)", clip(arn))
	}
	if !slices.Contains(v.TopicARNs, arn) {
		return unauthorized("SNS topic %s is not allowed", clip(arn))
	}
	return nil
}

// checkURL accepts only https URLs on a host matching CertHost, without
// user info and, unless CertHost allows "host:port", without a port other
// than 443.
func (v *Verifier) checkURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalid("%s is not a URL", field)
	}
	if u.Scheme != "https" {
		return nil, unauthorized("%s must use https, not %q", field, clip(u.Scheme))
	}
	if u.User != nil {
		return nil, unauthorized("%s must not carry user info", field)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, unauthorized("%s has no host", field)
	}
	host := u.Hostname()
	if p := u.Port(); p != "" && p != "443" {
		host = u.Host
	}
	if !v.certHost().MatchString(host) {
		return nil, unauthorized("%s host %s is not an SNS host", field, clip(host))
	}
	return u, nil
}

// cert returns the certificate at certURL, from the cache or fetched, and
// checks it is an RSA certificate valid at now.
// cert returns the certificate at certURL, fetched once. The cache key and
// the fetched URL leave out query and fragment, so "?n=1", "?n=2"... cannot
// force one outbound fetch per request; concurrent requests for one URL
// share a fetch, and at most maxConcurrentFetches run at a time.
func (v *Verifier) cert(ctx context.Context, certURL string, now time.Time) (*x509.Certificate, error) {
	if u, err := url.Parse(certURL); err == nil {
		u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
		certURL = u.String()
	}
	v.mu.Lock()
	c := v.certs[certURL]
	v.mu.Unlock()
	if c == nil {
		got, err, _ := v.fetches.Do(certURL, func() (any, error) {
			v.slotsOnce.Do(func() { v.slots = make(chan struct{}, maxConcurrentFetches) })
			select {
			case v.slots <- struct{}{}:
				defer func() { <-v.slots }()
			case <-ctx.Done():
				return nil, newsletter.Errorf(newsletter.EUNAVAILABLE, "fetch SNS signing certificate: %v", ctx.Err())
			}
			c, err := v.fetchCert(ctx, certURL)
			if err == nil {
				v.remember(certURL, c)
			}
			return c, err
		})
		if err != nil {
			return nil, err
		}
		c = got.(*x509.Certificate)
	}
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return nil, unauthorized("SNS signing certificate %s is not valid at %s (valid %s to %s)",
			clip(certURL), now.UTC().Format(time.RFC3339), c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	}
	return c, nil
}

// maxConcurrentFetches bounds a verifier's certificate fetches: each
// request that needs one holds an outbound connection.
const maxConcurrentFetches = 4

func (v *Verifier) remember(certURL string, c *x509.Certificate) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.certs == nil {
		v.certs = make(map[string]*x509.Certificate)
	}
	if _, ok := v.certs[certURL]; ok {
		return
	}
	for len(v.order) >= maxCachedCerts {
		delete(v.certs, v.order[0])
		v.order = v.order[1:]
	}
	v.certs[certURL] = c
	v.order = append(v.order, certURL)
}

func (v *Verifier) fetchCert(ctx context.Context, certURL string) (*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, defaultFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, certURL, nil)
	if err != nil {
		return nil, invalid("SigningCertURL is not a URL")
	}
	resp, err := v.client().Do(req)
	if err != nil {
		return nil, newsletter.Errorf(newsletter.EUNAVAILABLE, "fetch SNS signing certificate: %v", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		return nil, newsletter.Errorf(newsletter.EUNAVAILABLE, "fetch SNS signing certificate: %s", resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, unauthorized("fetch SNS signing certificate %s: %s", clip(certURL), resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxCertBytes+1))
	if err != nil {
		return nil, newsletter.Errorf(newsletter.EUNAVAILABLE, "read SNS signing certificate: %v", err)
	}
	if len(data) > maxCertBytes {
		return nil, unauthorized("SNS signing certificate at %s is larger than %d bytes", clip(certURL), maxCertBytes)
	}
	return parseCert(data)
}

func parseCert(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, unauthorized("SNS signing certificate is not a PEM certificate")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, unauthorized("SNS signing certificate does not parse: %v", err)
	}
	if _, ok := c.PublicKey.(*rsa.PublicKey); !ok {
		return nil, unauthorized("SNS signing certificate has a %s key, not RSA", c.PublicKeyAlgorithm)
	}
	return c, nil
}

// ConfirmSubscription visits m's SubscribeURL, which confirms the
// subscription with SNS. Only SubscriptionConfirmation messages for an
// allowed topic with an https SubscribeURL on a CertHost host are
// confirmed. Call it only with a message Verify accepted.
func (v *Verifier) ConfirmSubscription(ctx context.Context, m *Message) error {
	if m == nil || m.Type != TypeSubscriptionConfirmation {
		return invalid("not an SNS SubscriptionConfirmation message")
	}
	if err := v.checkTopic(m.TopicArn); err != nil {
		return err
	}
	if _, err := v.checkURL("SubscribeURL", m.SubscribeURL); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, defaultFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.SubscribeURL, nil)
	if err != nil {
		return invalid("SubscribeURL is not a URL")
	}
	resp, err := v.client().Do(req)
	if err != nil {
		return newsletter.Errorf(newsletter.EUNAVAILABLE, "confirm SNS subscription to %s: %v", m.TopicArn, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 500:
		return newsletter.Errorf(newsletter.EUNAVAILABLE, "confirm SNS subscription to %s: %s", m.TopicArn, resp.Status)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return invalid("confirm SNS subscription to %s: %s", m.TopicArn, resp.Status)
	}
	return nil
}

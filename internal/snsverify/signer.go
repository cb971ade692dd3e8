package snsverify

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// Signer signs SNS messages the way SNS does, with its own self-signed
// certificate. Tests and the embedded dev SES endpoint use it; serve
// CertPEM at the certificate URL and point a Verifier's CertHost at it.
type Signer struct {
	// Now stamps Notification messages; nil means time.Now.
	Now func() time.Time

	key     *rsa.PrivateKey
	certPEM []byte
	certURL string
}

// NewSigner generates an RSA-2048 key and a self-signed certificate valid
// from an hour before now until a year after it. certURL is where the
// certificate will be served; it goes into SigningCertURL.
func NewSigner(certURL string, now time.Time) (*Signer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate SNS signing key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("generate certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "sns.dev.newsletter.invalid"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create SNS signing certificate: %w", err)
	}
	return &Signer{
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		certURL: certURL,
	}, nil
}

// CertPEM returns the signing certificate, PEM encoded.
func (s *Signer) CertPEM() []byte { return append([]byte(nil), s.certPEM...) }

// CertURL returns the URL put into SigningCertURL.
func (s *Signer) CertURL() string { return s.certURL }

// Sign sets m's SignatureVersion ("1" for SHA1withRSA, "2" for
// SHA256withRSA), SigningCertURL and Signature.
func (s *Signer) Sign(m *Message, version string) error {
	var hash crypto.Hash
	switch version {
	case "1":
		hash = crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return fmt.Errorf("sign SNS message: unsupported SignatureVersion %q", version)
	}
	canonical, err := stringToSign(m)
	if err != nil {
		return fmt.Errorf("sign SNS message: %w", err)
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, hash, digest(hash, canonical))
	if err != nil {
		return fmt.Errorf("sign SNS message: %w", err)
	}
	m.SignatureVersion = version
	m.SigningCertURL = s.certURL
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	return nil
}

// Notification returns a Notification for topicARN with a fresh MessageId
// and Timestamp, signed with SignatureVersion 2. An empty subject is left
// out, as SNS does.
func (s *Signer) Notification(topicARN, subject, message string) (*Message, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	id, err := newUUID()
	if err != nil {
		return nil, err
	}
	m := &Message{
		Type:      TypeNotification,
		MessageId: id,
		TopicArn:  topicARN,
		Subject:   subject,
		Message:   message,
		Timestamp: now().UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	if err := s.Sign(m, "2"); err != nil {
		return nil, err
	}
	return m, nil
}

// newUUID returns a random (version 4) UUID, the form SNS MessageIds take.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate SNS MessageId: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

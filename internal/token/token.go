package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"
	"time"

	"newsletter"
)

// Purpose says what a token may be used for. Each purpose signs with its own
// derived key, so a token is only ever valid for the purpose it was made for.
type Purpose string

const (
	Unsubscribe Purpose = "unsubscribe"
	Preferences Purpose = "preferences"
	Confirm     Purpose = "confirm"
	WebVersion  Purpose = "web" // the "view in your browser" link
)

// Claims is what a token vouches for.
type Claims struct {
	Purpose Purpose
	Email   string    // normalised address
	List    string    // optional list slug
	Edition string    // optional edition id
	Expires time.Time // zero: never; kept to the second
}

// MinSecretLen is the shortest accepted secret, in bytes.
const MinSecretLen = 32

// MaxLen is the longest token Verify accepts, in characters. Real claims
// (an address, a slug, an id) make tokens of about 100; Verify refuses
// longer input before decoding it.
const MaxLen = 2048

const (
	// version is the first byte of the claims' layout, and of a signed
	// (readable) token made before tokens were sealed; such tokens, in
	// emails already delivered, keep verifying.
	version = 1
	// sealed is the first byte of a sealed token: AES-256-GCM under a
	// per-purpose key, so the address is not readable in the link.
	sealed   = 2
	tagLen   = 16 // HMAC-SHA256 truncated to 128 bits (RFC 2104 §5: at least half the output)
	nonceLen = 12
)

var (
	enc = base64.RawURLEncoding.Strict()

	errInvalid = newsletter.Errorf(newsletter.EUNAUTHORIZED, "link is invalid or was changed")
	// ErrExpired is Verify's error for an authentic token past its expiry.
	ErrExpired = newsletter.Errorf(newsletter.EUNAUTHORIZED, "link has expired: request a new one")
)

// Signer signs with its current secret and verifies with the current and
// any previous secrets, so a secret can be rotated without breaking links in
// emails already sent. It is safe for concurrent use.
type Signer struct {
	keys []*keySet // keys[0] signs; all verify
}

// keySet holds the per-purpose keys derived from one secret. The map is
// filled in NewSigner and only read afterwards, so Sign takes no lock.
type keySet struct {
	secret []byte
	macs   map[Purpose]*sync.Pool  // pools of HMAC states, one per known purpose
	aeads  map[Purpose]cipher.AEAD // sealing keys, one per known purpose
}

func newKeySet(secret []byte) *keySet {
	k := &keySet{secret: append([]byte(nil), secret...), macs: make(map[Purpose]*sync.Pool), aeads: make(map[Purpose]cipher.AEAD)}
	for _, p := range []Purpose{Unsubscribe, Preferences, Confirm, WebVersion} {
		key := k.derive(p)
		k.macs[p] = &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
		k.aeads[p] = k.newAEAD(p)
	}
	return k
}

// derive returns the key for purpose p: HKDF-SHA256 (RFC 5869) of the
// secret with the purpose in info, so purposes never share a key.
func (k *keySet) derive(p Purpose) []byte { return k.deriveFor("newsletter/token/v1/", p) }

func (k *keySet) deriveFor(info string, p Purpose) []byte {
	key, err := hkdf.Key(sha256.New, k.secret, nil, info+string(p), sha256.Size)
	if err != nil {
		panic("token: hkdf: " + err.Error()) // only for impossible lengths
	}
	return key
}

func (k *keySet) newAEAD(p Purpose) cipher.AEAD {
	b, err := aes.NewCipher(k.deriveFor("newsletter/token/sealed/", p))
	if err != nil {
		panic("token: aes: " + err.Error()) // 32-byte keys only
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic("token: gcm: " + err.Error())
	}
	return g
}

func (k *keySet) aead(p Purpose) cipher.AEAD {
	if a, ok := k.aeads[p]; ok {
		return a
	}
	return k.newAEAD(p)
}

// NewSigner returns a Signer that signs with secret and also accepts tokens
// signed with any of the previous secrets (for rotation). Every secret must
// be at least MinSecretLen bytes.
func NewSigner(secret []byte, previous ...[]byte) (*Signer, error) {
	s := &Signer{}
	for i, sec := range append([][]byte{secret}, previous...) {
		if len(sec) < MinSecretLen {
			which := "NEWSLETTER_SECRET"
			if i > 0 {
				which = fmt.Sprintf("previous secret #%d", i)
			}
			return nil, newsletter.Errorf(newsletter.EINVALID,
				"%s is %d bytes long, it must be at least %d: set NEWSLETTER_SECRET to a random value, e.g. from `openssl rand -base64 48`",
				which, len(sec), MinSecretLen)
		}
		s.keys = append(s.keys, newKeySet(sec))
	}
	return s, nil
}

// tag appends the truncated HMAC of msg under purpose p to dst. Purposes
// outside the known set get a fresh state each time (rare, and it keeps
// arbitrary purposes from growing the map).
func (k *keySet) tag(dst []byte, p Purpose, msg []byte) []byte {
	n := len(dst)
	pl, ok := k.macs[p]
	if !ok {
		m := hmac.New(sha256.New, k.derive(p))
		m.Write(msg)
		return m.Sum(dst)[:n+tagLen]
	}
	m := pl.Get().(hash.Hash)
	m.Reset()
	m.Write(msg)
	dst = m.Sum(dst)[:n+tagLen]
	pl.Put(m)
	return dst
}

// scratch holds the buffers of one Sign or Verify, pooled because Sign runs
// once per email and the slices escape through the hash.Hash interface.
type scratch struct{ a, b []byte }

var scratchPool = sync.Pool{New: func() any {
	return &scratch{a: make([]byte, 0, 256), b: make([]byte, 0, 512)}
}}

func putScratch(sc *scratch, a, b []byte) {
	if cap(a) > 4096 || cap(b) > 4096 {
		return // do not keep a huge buffer around for one odd token
	}
	sc.a, sc.b = a[:0], b[:0]
	scratchPool.Put(sc)
}

// Sign returns the token for c: base64url (no padding) of the byte
// "sealed", a nonce, and the claims' compact encoding sealed with
// AES-256-GCM under the purpose's key (the purpose is the additional data).
// Nothing of the claims, the address least of all, is readable in it.
// Claims whose token would exceed MaxLen characters seal fine but never
// verify.
func (s *Signer) Sign(c Claims) string {
	sc := scratchPool.Get().(*scratch)
	plain := encode(sc.a[:0], c)
	// The nonce is a MAC of the claims (a synthetic IV): it never repeats
	// for different claims, and equal claims give the equal token, so each
	// token has exactly one spelling and Sign stays deterministic.
	out := append(sc.b[:0], sealed)
	out = s.keys[0].tag(out, c.Purpose, plain)[:1+nonceLen]
	out = s.keys[0].aead(c.Purpose).Seal(out, out[1:1+nonceLen], plain, additionalData(c.Purpose))
	txt := enc.AppendEncode(plain[:0], out) // the claims are sealed: reuse their buffer
	tok := string(txt)
	putScratch(sc, txt, out)
	return tok
}

// knownAD holds the purposes' names as bytes, so that sealing and opening
// a token of a known purpose allocate nothing for the additional data.
var knownAD = map[Purpose][]byte{Unsubscribe: []byte(Unsubscribe), Preferences: []byte(Preferences),
	Confirm: []byte(Confirm), WebVersion: []byte(WebVersion)}

// additionalData is what a sealed token is bound to besides its key: its
// purpose.
func additionalData(p Purpose) []byte {
	if ad, ok := knownAD[p]; ok {
		return ad
	}
	return []byte(p)
}

// Verify checks tok for purpose want at time now and returns its claims.
// It fails with EUNAUTHORIZED "link is invalid or was changed" for anything
// not made by Sign with one of the signer's secrets for this purpose, and
// "link has expired: request a new one" for an authentic token past its
// expiry; in that case the claims are returned too, so a caller can offer
// to send a fresh link to the right address. Signed tokens of the earlier
// readable layout still verify.
func (s *Signer) Verify(tok string, want Purpose, now time.Time) (Claims, error) {
	// Strict decoding still skips CR and LF; refuse anything outside the
	// alphabet so that exactly one string maps to each token.
	if len(tok) < 2 || len(tok) > MaxLen || !isBase64URL(tok) {
		return Claims{}, errInvalid
	}
	sc := scratchPool.Get().(*scratch)
	raw, err := enc.AppendDecode(sc.a[:0], []byte(tok))
	if err != nil || len(raw) < 1+tagLen {
		putScratch(sc, raw, sc.b)
		return Claims{}, errInvalid
	}
	var c Claims
	var ok bool
	if raw[0] == sealed {
		c, ok = s.open(sc, raw, want)
	} else {
		c, ok = s.checkSigned(sc, raw, want)
	}
	if !ok {
		return Claims{}, errInvalid
	}
	c.Purpose = want
	if !c.Expires.IsZero() && !now.Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

// open authenticates and decrypts a sealed token with each secret in turn.
func (s *Signer) open(sc *scratch, raw []byte, want Purpose) (Claims, bool) {
	if len(raw) < 1+nonceLen+tagLen {
		putScratch(sc, raw, sc.b)
		return Claims{}, false
	}
	nonce, box := raw[1:1+nonceLen], raw[1+nonceLen:]
	plain := sc.b[:0]
	for _, k := range s.keys {
		p, err := k.aead(want).Open(plain[:0], nonce, box, additionalData(want))
		if err == nil {
			c, ok := decode(p) // copies the strings out of the scratch buffer
			putScratch(sc, raw, p)
			return c, ok
		}
	}
	putScratch(sc, raw, plain)
	return Claims{}, false
}

// checkSigned verifies a token of the earlier signed, readable layout.
func (s *Signer) checkSigned(sc *scratch, raw []byte, want Purpose) (Claims, bool) {
	msg, got := raw[:len(raw)-tagLen], raw[len(raw)-tagLen:]
	sum := sc.b[:0]
	ok := false
	for _, k := range s.keys {
		sum = k.tag(sum[:0], want, msg)
		if hmac.Equal(sum, got) {
			ok = true
			break
		}
	}
	c, okDecode := decode(msg) // copies the strings out of the scratch buffer
	putScratch(sc, raw, sum)
	// !okDecode with a good tag: a layout this code does not know.
	return c, ok && okDecode
}

// encode lays out: version byte, uvarint expiry (Unix seconds, 0 = never),
// then email, list and edition, each as a uvarint length and the bytes.
// Every field is length-delimited, so distinct claims never share an encoding.
func encode(dst []byte, c Claims) []byte {
	dst = append(dst, version)
	var exp uint64
	if !c.Expires.IsZero() {
		exp = 1 // anything at or before the epoch is simply already expired
		if u := c.Expires.Unix(); u > 1 {
			exp = uint64(u)
		}
	}
	dst = binary.AppendUvarint(dst, exp)
	for _, f := range [...]string{c.Email, c.List, c.Edition} {
		dst = binary.AppendUvarint(dst, uint64(len(f)))
		dst = append(dst, f...)
	}
	return dst
}

func decode(msg []byte) (Claims, bool) {
	if len(msg) == 0 || msg[0] != version {
		return Claims{}, false
	}
	msg = msg[1:]
	exp, n := binary.Uvarint(msg)
	if n <= 0 || exp > 1<<62 {
		return Claims{}, false
	}
	msg = msg[n:]
	var c Claims
	if exp != 0 {
		c.Expires = time.Unix(int64(exp), 0).UTC()
	}
	var fields [3]string
	for i := range fields {
		l, n := binary.Uvarint(msg)
		if n <= 0 || l > uint64(len(msg)-n) {
			return Claims{}, false
		}
		fields[i] = string(msg[n : n+int(l)])
		msg = msg[n+int(l):]
	}
	if len(msg) != 0 {
		return Claims{}, false
	}
	c.Email, c.List, c.Edition = fields[0], fields[1], fields[2]
	return c, true
}

func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

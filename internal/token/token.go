package token

import (
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
	version = 1  // first byte of every token; bump when the layout changes
	tagLen  = 16 // HMAC-SHA256 truncated to 128 bits (RFC 2104 §5: at least half the output)
)

var (
	enc = base64.RawURLEncoding.Strict()

	errInvalid = newsletter.Errorf(newsletter.EUNAUTHORIZED, "link is invalid or was changed")
	errExpired = newsletter.Errorf(newsletter.EUNAUTHORIZED, "link has expired: request a new one")
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
	macs   map[Purpose]*sync.Pool // pools of HMAC states, one per known purpose
}

func newKeySet(secret []byte) *keySet {
	k := &keySet{secret: append([]byte(nil), secret...), macs: make(map[Purpose]*sync.Pool)}
	for _, p := range []Purpose{Unsubscribe, Preferences, Confirm, WebVersion} {
		key := k.derive(p)
		k.macs[p] = &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
	}
	return k
}

// derive returns the key for purpose p: HKDF-SHA256 (RFC 5869) of the
// secret with the purpose in info, so purposes never share a key.
func (k *keySet) derive(p Purpose) []byte {
	key, err := hkdf.Key(sha256.New, k.secret, nil, "newsletter/token/v1/"+string(p), sha256.Size)
	if err != nil {
		panic("token: hkdf: " + err.Error()) // only for impossible lengths
	}
	return key
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

// Sign returns the token for c: base64url (no padding) of a compact,
// length-prefixed encoding of the claims followed by a 16-byte tag.
// The purpose is not in the token: it selects the key. Claims whose token
// would exceed MaxLen characters sign fine but never verify.
func (s *Signer) Sign(c Claims) string {
	sc := scratchPool.Get().(*scratch)
	msg := encode(sc.a[:0], c)
	msg = s.keys[0].tag(msg, c.Purpose, msg)
	txt := enc.AppendEncode(sc.b[:0], msg)
	tok := string(txt)
	putScratch(sc, msg, txt)
	return tok
}

// Verify checks tok for purpose want at time now and returns its claims.
// It fails with EUNAUTHORIZED "link is invalid or was changed" for anything
// not made by Sign with one of the signer's secrets for this purpose, and
// "link has expired: request a new one" for an authentic token past its
// expiry; in that case the claims are returned too, so a caller can offer
// to send a fresh link to the right address.
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
	if !ok || !okDecode {
		// !okDecode with a good tag: a layout this code does not know.
		return Claims{}, errInvalid
	}
	c.Purpose = want
	if !c.Expires.IsZero() && !now.Before(c.Expires) {
		return c, errExpired
	}
	return c, nil
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

package address

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"newsletter"
)

// Limits from RFC 5321 §4.5.3.1 (local part) and RFC 3696 errata / RFC 5321
// path length (a whole address fits in 254 octets).
const (
	maxLocal   = 64
	maxAddress = 254
)

// profile is a lookup-style IDNA2008/UTS #46 profile (non-transitional, so
// "ß" stays itself and becomes punycode) that also checks DNS label lengths.
var profile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.VerifyDNSLength(true),
	idna.Transitional(false),
)

// Normalize returns the canonical form of one email address: trimmed, the
// domain lower-cased and converted to ASCII (punycode), and the local part
// lower-cased too.
//
// Lower-casing the local part is a deliberate departure from RFC 5321 §2.4,
// which lets a mail host treat "Jan" and "jan" as different mailboxes.
// Practically no host does, while partners type their own address in any
// case ("Jan.Jansen@Gemeente.nl" in one list, "jan.jansen@gemeente.nl" in
// another); without folding, one person would be two subscribers and get
// every edition twice, and an unsubscribe or a bounce would miss the twin.
//
// Only plain dot-atom addresses are accepted: no display name, no quoted
// local part, no comments, no IP literal, no non-ASCII local part (Amazon
// SES cannot deliver to one). Errors are *newsletter.Error with code
// EINVALID and a message that names the problem and the fix.
func Normalize(s string) (string, error) {
	s = strings.TrimFunc(s, isTrimmable)
	if s == "" {
		return "", invalid("the address is empty: write an address, e.g. jan@example.nl")
	}
	if !utf8.ValidString(s) {
		return "", invalid("%s is not valid UTF-8 text: save the file as UTF-8", quote(s))
	}
	if i := strings.IndexByte(s, '<'); i >= 0 || strings.IndexByte(s, '>') >= 0 {
		if i >= 0 {
			inner := s[i+1:]
			if j := strings.IndexByte(inner, '>'); j >= 0 {
				inner = inner[:j]
			}
			if inner = strings.TrimSpace(inner); strings.Count(inner, "@") == 1 && !strings.ContainsAny(inner, "<>,; \t") {
				return "", invalid("%s has a name or brackets around the address: write only the address, e.g. %s", quote(s), inner)
			}
		}
		return "", invalid("%s contains < or >: write only the address, e.g. jan@example.nl", quote(s))
	}
	ats := strings.Count(s, "@")
	if strings.ContainsAny(s, ",;") {
		if ats > 1 {
			return "", invalid("%s holds more than one address: one address per row", quote(s))
		}
		return "", invalid("%s contains a comma or semicolon: remove it, an address looks like jan@example.nl", quote(s))
	}
	if ats > 1 {
		if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
			return "", invalid("%s holds more than one address: one address per row", quote(s))
		}
		return "", invalid("%s has more than one @: an address has exactly one, e.g. jan@example.nl", quote(s))
	}
	if strings.IndexByte(s, '"') >= 0 {
		return "", invalid("%s has quotes: quoted addresses are not accepted, write a plain address, e.g. jan@example.nl", quote(s))
	}
	if strings.ContainsAny(s, "()") {
		return "", invalid("%s has parentheses: comments are not accepted, write only the address", quote(s))
	}
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return "", invalid("%s contains a space: remove it", quote(s))
	}
	if strings.IndexFunc(s, isInvisible) >= 0 {
		return "", invalid("%s contains an invisible or control character: retype the address", quote(s))
	}
	if ats == 0 {
		return "", invalid("%s has no @: an address looks like jan@example.nl", quote(s))
	}
	at := strings.IndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if local == "" {
		return "", invalid("%s has nothing before the @: an address looks like jan@example.nl", quote(s))
	}
	if domain == "" {
		return "", invalid("%s has no domain after the @: an address looks like jan@example.nl", quote(s))
	}
	if err := checkLocal(s, local); err != nil {
		return "", err
	}
	if domain[0] == '[' || domain[len(domain)-1] == ']' {
		return "", invalid("%s has an IP address as its domain: use the address with a domain name, e.g. jan@example.nl", quote(s))
	}
	if strings.HasSuffix(domain, ".") || strings.HasSuffix(domain, "\u3002") {
		return "", invalid("%s ends with a dot: remove it", quote(s))
	}
	ascii, ok := asciiDomain(domain)
	if !ok {
		var err error
		if ascii, err = profile.ToASCII(domain); err != nil {
			ascii = ""
		}
	}
	if ascii == "" {
		return "", invalid("%s has an invalid domain: check it for typos (letters, digits, hyphens and dots only, no dot or hyphen at the start or end of a part)", quote(s))
	}
	ascii = strings.ToLower(ascii) // the profile maps to lower case already; this is belt and braces
	dot := strings.LastIndexByte(ascii, '.')
	if dot < 0 {
		return "", invalid("%s has no top-level domain: an address looks like jan@example.nl", quote(s))
	}
	if !isTLD(ascii[dot+1:]) {
		return "", invalid("%s does not end in a top-level domain such as .nl or .com: check the part after the last dot", quote(s))
	}
	out := strings.ToLower(local) + "@" + ascii
	if len(out) > maxAddress {
		return "", invalid("%s is longer than %d characters: no mail server accepts it", quote(s), maxAddress)
	}
	return out, nil
}

// Hash returns the hex SHA-256 of a normalised address. It lets the system
// remember erased addresses without keeping them. It is one-way but not
// secret: anyone holding a candidate address can compute the same hash,
// which is the point (the erasure list must survive a change of secret).
func Hash(normalised string) string {
	sum := sha256.Sum256([]byte(normalised))
	return hex.EncodeToString(sum[:])
}

// checkLocal accepts an RFC 5322 dot-atom of ASCII atext.
func checkLocal(s, local string) error {
	if len(local) > maxLocal {
		return invalid("the part before the @ in %s is longer than %d characters: check the address", quote(s), maxLocal)
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c >= utf8.RuneSelf {
			return invalid("%s has letters outside ASCII before the @ (such as é or ü): our mail service cannot deliver to it, ask for another address", quote(s))
		}
		if c != '.' && !isAtext(c) {
			return invalid("%s contains %q before the @, which an address cannot hold: retype the address", quote(s), string(c))
		}
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return invalid("%s has a dot at the start or end of the part before the @, or two dots in a row: remove the extra dot", quote(s))
	}
	return nil
}

// asciiDomain is the fast path for the common case, a plain ASCII domain:
// it returns the lower-cased domain and true if d is letters, digits,
// hyphens and dots in labels of 1 to 63 characters that neither start nor
// end with a hyphen nor have hyphens in positions 3 and 4 (the rules the
// IDNA lookup profile applies to such a name). Anything else, including
// punycode, goes through the full profile.
func asciiDomain(d string) (string, bool) {
	if len(d) > 253 {
		return "", false
	}
	label := 0 // length of the current label
	for i := 0; i <= len(d); i++ {
		if i == len(d) || d[i] == '.' {
			if label == 0 || label > 63 || d[i-1] == '-' {
				return "", false
			}
			start := i - label
			if d[start] == '-' || (label >= 4 && d[start+2] == '-' && d[start+3] == '-') {
				return "", false
			}
			label = 0
			continue
		}
		c := d[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return "", false
		}
		label++
	}
	return strings.ToLower(d), true
}

// isAtext reports whether c is RFC 5322 atext (ASCII only).
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// isTLD accepts an ASCII top-level label: letters only, or an IDN A-label.
func isTLD(t string) bool {
	if strings.HasPrefix(t, "xn--") {
		return len(t) > 4
	}
	if len(t) < 2 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 'a' || t[i] > 'z' {
			return false
		}
	}
	return true
}

// isTrimmable covers what spreadsheets and copy-paste leave around an
// address: spaces (including no-break space), a byte-order mark, zero-width
// spaces.
func isTrimmable(r rune) bool {
	return unicode.IsSpace(r) || r == '\uFEFF' || r == '\u200B' || r == '\u200C' || r == '\u200D' || r == '\u2060'
}

func isInvisible(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// quote shows the input in a message, cut short if it is long.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}

func invalid(format string, args ...any) error {
	return newsletter.Errorf(newsletter.EINVALID, format, args...)
}

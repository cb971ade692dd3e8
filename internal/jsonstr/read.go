package jsonstr

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Reader reads JSON in place, for decoders that know the exact shape they
// expect and hand anything else to encoding/json (or the AWS SDK): it gives
// up (OK false) on invalid UTF-8, control characters, any syntax error and
// whatever its caller does not know (null, numbers, unknown or repeated
// names). Strings without escapes are substrings of the input.
type Reader struct {
	s  string
	i  int
	ok bool
}

// NewReader reads s, if it is valid UTF-8 without control characters.
func NewReader(s string) *Reader {
	return &Reader{s: s, ok: utf8.ValidString(s) && !HasControl(s)}
}

// OK reports whether everything read so far was as expected.
func (r *Reader) OK() bool { return r.ok }

// Fail marks the input as not of the expected shape; it returns false.
func (r *Reader) Fail() bool { r.ok = false; return false }

// Next skips white space and reports whether c is next, consuming it.
func (r *Reader) Next(c byte) bool {
	r.i = SkipSpace(r.s, r.i)
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

// Str reads a string.
func (r *Reader) Str() string {
	if !r.ok {
		return ""
	}
	v, i, ok := Unquote(r.s, SkipSpace(r.s, r.i))
	if !ok {
		r.Fail()
		return ""
	}
	r.i = i
	return v
}

// Object calls field for every name of an object, which reads the value
// and returns the name's index among those it knows (below 64), or -1 for
// a name it does not know. An unknown name, or one seen twice (encoding/json
// merges repeated objects), is a failure.
func (r *Reader) Object(field func(name string) (index int)) {
	if !r.ok || !r.Next('{') {
		r.Fail()
		return
	}
	if r.Next('}') {
		return
	}
	var seen uint64
	for r.ok {
		name := r.Str()
		if !r.ok || !r.Next(':') {
			r.Fail()
			return
		}
		n := field(name)
		if n < 0 || seen&(1<<n) != 0 {
			r.Fail()
			return
		}
		seen |= 1 << n
		if r.Next('}') {
			return
		}
		if !r.Next(',') {
			r.Fail()
			return
		}
	}
}

// Array calls elem for every element of an array; elem reads it.
func (r *Reader) Array(elem func()) {
	if !r.ok || !r.Next('[') {
		r.Fail()
		return
	}
	if r.Next(']') {
		return
	}
	for r.ok {
		elem()
		if r.Next(']') {
			return
		}
		if !r.Next(',') {
			r.Fail()
			return
		}
	}
}

// End reports whether all of the input was read as expected.
func (r *Reader) End() bool {
	r.i = SkipSpace(r.s, r.i)
	return r.ok && r.i == len(r.s)
}

// SkipSpace returns the index of the first byte at or after i in s that
// is not JSON white space.
func SkipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// Unquote reads the JSON string starting at s[i] and returns it
// unquoted and the offset after it; ok is false if there is no valid
// string there. s is valid UTF-8 without control characters (HasControl).
func Unquote(s string, i int) (_ string, next int, ok bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	i++
	// The end: the first quote after an even run of backslashes.
	end := i
	for {
		q := strings.IndexByte(s[end:], '"')
		if q < 0 {
			return "", len(s), false
		}
		end += q
		n := 0
		for end-1-n >= i && s[end-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			break
		}
		end++
	}
	raw := s[i:end]
	bs := strings.IndexByte(raw, '\\')
	if bs < 0 {
		return raw, end + 1, true
	}
	var b strings.Builder
	b.Grow(len(raw)) // escapes only get shorter
	for bs >= 0 {
		b.WriteString(raw[:bs])
		n, ok := unescapeOne(&b, raw[bs:])
		if !ok {
			return "", i, false
		}
		raw = raw[bs+n:]
		bs = strings.IndexByte(raw, '\\')
	}
	b.WriteString(raw)
	return b.String(), end + 1, true
}

// unescapeOne appends what the escape esc starts with stands for to b, as
// encoding/json does (a \u escape of half a surrogate pair without its
// other half is U+FFFD), and returns its length; ok is false for an
// escape JSON does not have.
func unescapeOne(b *strings.Builder, esc string) (n int, ok bool) {
	if len(esc) < 2 {
		return 0, false
	}
	switch esc[1] {
	case '"', '\\', '/':
		b.WriteByte(esc[1])
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		r := hex4(esc[2:])
		if r < 0 {
			return 0, false
		}
		if utf16.IsSurrogate(r) {
			r2 := rune(-1)
			if strings.HasPrefix(esc[6:], `\u`) {
				r2 = hex4(esc[8:])
			}
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				b.WriteRune(d)
				return 12, true
			}
			r = utf8.RuneError
		}
		b.WriteRune(r)
		return 6, true
	default:
		return 0, false
	}
	return 2, true
}

// hex4 is the rune of the 4 hex digits s starts with, or -1.
func hex4(s string) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// HasControl reports whether s has a byte below 0x20 (which a JSON string
// cannot hold), eight bytes at a time.
func HasControl(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if (x-0x2020202020202020)&^x&0x8080808080808080 != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if s[i] < 0x20 {
			return true
		}
	}
	return false
}

// Package jsonstr appends strings as JSON string literals, without the
// reflection and allocations of encoding/json: the SES template data of
// every recipient and the SendBulkEmail bodies are written with it.
package jsonstr

import "unicode/utf8"

// Append appends s to dst as a JSON string: quotes, backslashes and
// control characters escaped, each byte of invalid UTF-8 as U+FFFD (as
// encoding/json does), everything else copied as it is, in runs.
func Append[T string | []byte](dst []byte, s T) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight plain bytes at a time (printable ASCII but '"' and '\\'):
		// most of an email's HTML is runs of them.
		for i+8 <= len(s) && plain8(uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune([]byte(s[i:min(i+utf8.UTFMax, len(s))]))
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c >= utf8.RuneSelf {
				dst = append(dst, "\ufffd"...)
			} else {
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			}
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plain8 reports whether none of the eight bytes of x needs a look: no
// control character (< 0x20), '"', '\\' or byte of a multi-byte
// character (>= 0x80). hasZero(v) is non-zero when a byte of v is zero
// (exact once the high bits are ruled out); a byte below 0x20 borrows
// from its high bit when 0x20 is taken from it.
func plain8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) uint64 { return (v - ones) &^ v & highs }
	below20 := (x - 0x20*ones) &^ x & highs
	return (x&highs)|below20|hasZero(x^('"'*ones))|hasZero(x^('\\'*ones)) == 0
}

package token

// SignReadable makes a token of the earlier signed, readable layout, as
// emails delivered before tokens were sealed carry.
func (s *Signer) SignReadable(c Claims) string {
	msg := encode(nil, c)
	msg = s.keys[0].tag(msg, c.Purpose, msg)
	return enc.EncodeToString(msg)
}

package token

// SignReadable makes a token of the earlier readable layout, as emails
// delivered before tokens were sealed carry.
func (s *Signer) SignReadable(c Claims) string { return s.signReadable(c) }

package token_test

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"

	"newsletter/internal/token"
)

// A link must not show whom it is for: nothing of the claims is readable
// in the token.
func TestTokenHidesTheAddress(t *testing.T) {
	t.Parallel()
	s := signer(t, secret)
	c := token.Claims{Purpose: token.Preferences, Email: "marieke.de.vries@gemeente.nl", List: "onderwijs", Edition: "01HQZX3Y8K2M4N6P8R0T2V4W6Y"}
	tok := s.Sign(c)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{c.Email, "marieke", "gemeente", c.List, c.Edition} {
		if bytes.Contains(raw, []byte(part)) {
			t.Errorf("the token shows %q", part)
		}
	}
	got, err := s.Verify(tok, token.Preferences, time.Now())
	if err != nil || got.Email != c.Email || got.List != c.List || got.Edition != c.Edition {
		t.Fatalf("round trip: %+v %v", got, err)
	}
}

// Links in emails delivered before tokens were sealed keep working; a
// tampered one of them does not.
func TestReadableTokensStillVerify(t *testing.T) {
	t.Parallel()
	s := signer(t, secret)
	c := token.Claims{Purpose: token.Unsubscribe, Email: "jan@example.nl", Edition: "ed1"}
	old := s.SignReadable(c)
	got, err := s.Verify(old, token.Unsubscribe, time.Now())
	if err != nil || got.Email != c.Email || got.Edition != c.Edition {
		t.Fatalf("an old one-click link: %+v %v", got, err)
	}
	if _, err := s.Verify(old, token.Preferences, time.Now()); err == nil {
		t.Error("an old unsubscribe token verified as a preferences token")
	}
	b := []byte(old)
	b[5] ^= 1
	if _, err := s.Verify(string(b), token.Unsubscribe, time.Now()); err == nil {
		t.Error("a tampered old token verified")
	}
}

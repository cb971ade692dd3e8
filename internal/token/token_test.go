package token_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/token"
)

var (
	secret  = bytes.Repeat([]byte("k"), 32)
	secret2 = bytes.Repeat([]byte("n"), 48)
	now     = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

func signer(t testing.TB, sec []byte, prev ...[]byte) *token.Signer {
	t.Helper()
	s, err := token.NewSigner(sec, prev...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	if newsletter.ErrorCode(err) != code {
		t.Fatalf("error %v: want code %q", err, code)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %q: want it to mention %q", err, msg)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s := signer(t, secret)
	tests := []token.Claims{
		{Purpose: token.Unsubscribe, Email: "jan@example.nl", List: "algemeen", Edition: "01HQZX3Y8K2M4N6P8R0T2V4W6Y"},
		{Purpose: token.Preferences, Email: "jan@example.nl"},
		{Purpose: token.Confirm, Email: "info@xn--bcher-kva.de", List: "zorg", Expires: now.Add(48 * time.Hour)},
		{Purpose: token.WebVersion, Email: "a@b.nl", Edition: "e1"},
		{Purpose: "custom", Email: strings.Repeat("x", 300) + "@example.nl"}, // beyond the stack buffer
		{Purpose: token.Unsubscribe, Email: "", List: "", Edition: ""},
	}
	for _, c := range tests {
		tok := s.Sign(c)
		got, err := s.Verify(tok, c.Purpose, now)
		if err != nil {
			t.Fatalf("Verify(Sign(%+v)): %v", c, err)
		}
		if got != c && !(got.Expires.Equal(c.Expires) && got.Email == c.Email && got.List == c.List && got.Edition == c.Edition && got.Purpose == c.Purpose) {
			t.Fatalf("Verify(Sign(%+v)) = %+v", c, got)
		}
		if s.Sign(c) != tok {
			t.Fatalf("Sign is not deterministic for %+v", c)
		}
		if strings.ContainsAny(tok, "+/=%.") {
			t.Fatalf("token %q is not URL-safe", tok)
		}
	}
}

func TestTokenIsShort(t *testing.T) {
	t.Parallel()
	tok := signer(t, secret).Sign(token.Claims{Purpose: token.Unsubscribe, Email: "jan.jansen@gemeente-amsterdam.nl", List: "algemeen", Edition: "01HQZX3Y8K2M4N6P8R0T2V4W6Y"})
	// 1 sealed + 12 nonce + (1 version + 1 expiry + 33 email + 9 list + 27 edition) + 16 tag = 100 bytes = 134 characters.
	if len(tok) > 134 {
		t.Fatalf("token is %d characters: %s", len(tok), tok)
	}
}

func TestTamperEveryPosition(t *testing.T) {
	t.Parallel()
	s := signer(t, secret)
	tok := s.Sign(token.Claims{Purpose: token.Unsubscribe, Email: "jan@example.nl", List: "algemeen", Expires: now.Add(time.Hour)})
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(tok) {
		for _, r := range alphabet + "=+/. \n\r" {
			if byte(r) == tok[i] {
				continue
			}
			bad := tok[:i] + string(r) + tok[i+1:]
			if _, err := s.Verify(bad, token.Unsubscribe, now); err == nil {
				t.Fatalf("changed position %d to %q: accepted", i, r)
			}
		}
		// Dropped and inserted characters too.
		if _, err := s.Verify(tok[:i]+tok[i+1:], token.Unsubscribe, now); err == nil {
			t.Fatalf("dropped position %d: accepted", i)
		}
		if _, err := s.Verify(tok[:i]+"\n"+tok[i:], token.Unsubscribe, now); err == nil {
			t.Fatalf("newline inserted at %d: accepted", i)
		}
	}
	if _, err := s.Verify(tok+"A", token.Unsubscribe, now); err == nil {
		t.Fatal("appended character: accepted")
	}
	if _, err := s.Verify(tok+"=", token.Unsubscribe, now); err == nil {
		t.Fatal("padding appended: accepted")
	}
	if _, err := s.Verify(tok, token.Unsubscribe, now); err != nil {
		t.Fatalf("original refused: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	s := signer(t, secret)
	c := token.Claims{Purpose: token.Unsubscribe, Email: "jan@example.nl", Expires: now.Add(time.Hour)}
	tok := s.Sign(c)

	t.Run("wrong purpose", func(t *testing.T) {
		for _, p := range []token.Purpose{token.Preferences, token.Confirm, token.WebVersion, "", "Unsubscribe"} {
			_, err := s.Verify(tok, p, now)
			wantCode(t, err, newsletter.EUNAUTHORIZED, "link is invalid or was changed")
		}
	})
	t.Run("expired", func(t *testing.T) {
		got, err := s.Verify(tok, token.Unsubscribe, now.Add(time.Hour))
		wantCode(t, err, newsletter.EUNAUTHORIZED, "link has expired: request a new one")
		if got.Email != c.Email {
			t.Fatalf("expired token: claims %+v, want the email back", got)
		}
		if _, err := s.Verify(tok, token.Unsubscribe, now.Add(time.Hour-time.Second)); err != nil {
			t.Fatalf("one second before expiry: %v", err)
		}
	})
	t.Run("expired before the epoch", func(t *testing.T) {
		old := s.Sign(token.Claims{Purpose: token.Confirm, Email: "a@b.nl", Expires: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)})
		_, err := s.Verify(old, token.Confirm, now)
		wantCode(t, err, newsletter.EUNAUTHORIZED, "expired")
	})
	t.Run("never expires", func(t *testing.T) {
		forever := s.Sign(token.Claims{Purpose: token.Unsubscribe, Email: "a@b.nl"})
		if _, err := s.Verify(forever, token.Unsubscribe, now.AddDate(100, 0, 0)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("other secret", func(t *testing.T) {
		_, err := signer(t, secret2).Verify(tok, token.Unsubscribe, now)
		wantCode(t, err, newsletter.EUNAUTHORIZED, "link is invalid or was changed")
	})
	t.Run("garbage", func(t *testing.T) {
		for _, g := range []string{"", "A", "AA", "!!!!", strings.Repeat("A", 5000), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			_, err := s.Verify(g, token.Unsubscribe, now)
			wantCode(t, err, newsletter.EUNAUTHORIZED, "link is invalid or was changed")
		}
	})
}

func TestRotation(t *testing.T) {
	t.Parallel()
	old := signer(t, secret)
	c := token.Claims{Purpose: token.Preferences, Email: "jan@example.nl", List: "algemeen"}
	tok := old.Sign(c)

	rotated := signer(t, secret2, secret)
	if got, err := rotated.Verify(tok, token.Preferences, now); err != nil || got.Email != c.Email {
		t.Fatalf("rotated signer refused an old token: %+v, %v", got, err)
	}
	fresh := rotated.Sign(c)
	if fresh == tok {
		t.Fatal("rotated signer still signs with the old secret")
	}
	if _, err := old.Verify(fresh, token.Preferences, now); err == nil {
		t.Fatal("old signer accepted a token signed with the new secret")
	}
	if _, err := signer(t, secret2).Verify(tok, token.Preferences, now); err == nil {
		t.Fatal("signer without the previous secret accepted an old token")
	}
}

func TestShortSecret(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		sec  []byte
		prev [][]byte
		want string
	}{
		{nil, nil, "NEWSLETTER_SECRET is 0 bytes"},
		{bytes.Repeat([]byte("k"), 31), nil, "NEWSLETTER_SECRET is 31 bytes"},
		{secret, [][]byte{[]byte("short")}, "previous secret #1 is 5 bytes"},
	} {
		_, err := token.NewSigner(tt.sec, tt.prev...)
		wantCode(t, err, newsletter.EINVALID, tt.want)
		wantCode(t, err, newsletter.EINVALID, "at least 32")
	}
}

func TestSecretIsCopied(t *testing.T) {
	t.Parallel()
	sec := bytes.Clone(secret)
	s := signer(t, sec)
	tok := s.Sign(token.Claims{Purpose: token.Unsubscribe, Email: "a@b.nl"})
	sec[0] ^= 1
	if _, err := s.Verify(tok, token.Unsubscribe, now); err != nil {
		t.Fatalf("changing the caller's slice changed the signer: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	s := signer(f, secret, secret2)
	for _, c := range []token.Claims{
		{Purpose: token.Unsubscribe, Email: "jan@example.nl", List: "algemeen"},
		{Purpose: token.Unsubscribe, Email: "a@b.nl", Expires: now.Add(time.Hour)},
		{Purpose: token.Unsubscribe, Email: "a@b.nl", Edition: "e1", Expires: now.Add(-time.Hour)},
	} {
		f.Add(s.Sign(c))
	}
	f.Add("")
	f.Add("AQAOamFuQGV4YW1wbGUubmwAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok, token.Unsubscribe, now)
		if err != nil && newsletter.ErrorCode(err) != newsletter.EUNAUTHORIZED {
			t.Fatalf("Verify(%q): error %v has code %q", tok, err, newsletter.ErrorCode(err))
		}
		if err != nil && !strings.Contains(err.Error(), "expired") {
			return
		}
		// Accepted (or authentic but expired): it must be exactly what Sign makes.
		if again := s.Sign(c); again != tok {
			t.Fatalf("Verify accepted %q, but Sign(%+v) = %q", tok, c, again)
		}
	})
}

func BenchmarkSign(b *testing.B) {
	s := signer(b, secret)
	c := token.Claims{Purpose: token.Unsubscribe, Email: "jan.jansen@gemeente-amsterdam.nl", List: "algemeen", Edition: "01HQZX3Y8K2M4N6P8R0T2V4W6Y"}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Sign(c)
	}
}

func BenchmarkSignParallel(b *testing.B) {
	s := signer(b, secret)
	c := token.Claims{Purpose: token.Unsubscribe, Email: "jan.jansen@gemeente-amsterdam.nl", List: "algemeen", Edition: "01HQZX3Y8K2M4N6P8R0T2V4W6Y"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = s.Sign(c)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	s := signer(b, secret)
	tok := s.Sign(token.Claims{Purpose: token.Unsubscribe, Email: "jan.jansen@gemeente-amsterdam.nl", List: "algemeen", Edition: "01HQZX3Y8K2M4N6P8R0T2V4W6Y"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok, token.Unsubscribe, now); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	s := signer(f, secret)
	f.Add("jan@example.nl", "algemeen", "e1", int64(0))
	f.Add("", "", "", now.Unix()+1)
	f.Fuzz(func(t *testing.T, email, list, edition string, exp int64) {
		c := token.Claims{Purpose: token.Confirm, Email: email, List: list, Edition: edition}
		if exp != 0 {
			c.Expires = time.Unix(exp, 0).UTC()
		}
		tok := s.Sign(c)
		got, err := s.Verify(tok, token.Confirm, now)
		if len(tok) > token.MaxLen {
			if err == nil {
				t.Fatalf("Verify accepted a %d-character token", len(tok))
			}
			return
		}
		if exp > now.Unix() && err != nil {
			t.Fatalf("Verify(Sign(%+v)): %v", c, err)
		}
		if got.Email != email || got.List != list || got.Edition != edition {
			t.Fatalf("Verify(Sign(%+v)) = %+v, %v", c, got, err)
		}
		if _, err := s.Verify(tok, token.Unsubscribe, now); err == nil {
			t.Fatal("a confirm token verified as an unsubscribe token")
		}
	})
}

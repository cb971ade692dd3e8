package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"

	"newsletter"
	"newsletter/internal/password"
	"newsletter/internal/ratelimit"
	"newsletter/internal/redisstore"
)

// Session is a signed-in session. ID is the cookie's value: only its
// hash is stored. CSRF is the session's form token.
type Session struct {
	ID, CSRF          string
	Account           newsletter.Account
	Created, LastSeen time.Time
}

// The sign-in answers. They never tell whether an account exists: a
// wrong password and an unknown address get the same error, and the
// quotas count attempts for addresses with no account too.
var (
	ErrLoginFailed   = newsletter.Errorf(newsletter.EUNAUTHORIZED, "wrong email address or password: check both and try again")
	ErrTooManyLogins = newsletter.Errorf(newsletter.ECONFLICT, "too many sign-in attempts: wait a few minutes and try again")
	ErrNoSession     = newsletter.Errorf(newsletter.EUNAUTHORIZED, "you are not signed in, or your session has ended: sign in again")
)

// dummyHash is checked against when the account does not exist, so that
// an unknown address takes as long to refuse as a wrong password. Its
// password is random and was thrown away.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$F6wwyU+lngUse6Z1lPX7TA$r8LrdT4UCcxrcQ3MCYXoy7b4n5kCoKmDUEt4IaCCnpk"

// touchEvery is how stale a session's last-seen time may get before a
// request writes it again: not every request needs a write.
const touchEvery = time.Minute

func (a *App) sessionIdle() time.Duration {
	if a.Cfg.SessionIdle > 0 {
		return a.Cfg.SessionIdle
	}
	return 2 * time.Hour
}

func (a *App) sessionMax() time.Duration {
	if a.Cfg.SessionMax > 0 {
		return a.Cfg.SessionMax
	}
	return 12 * time.Hour
}

// Login checks an account's password and starts a new session with a new
// random id: an id the client had before is never reused, so nobody can
// plant one (session fixation). client is the requester's address, for
// the per-client quota.
func (a *App) Login(ctx context.Context, rawEmail, pw, client string) (*Session, error) {
	email, err := normalizeAccountEmail(rawEmail)
	if err != nil {
		email = strings.ToLower(strings.TrimSpace(rawEmail))
	}
	if err := a.allowLogin(ctx, email, client); err != nil {
		return nil, err
	}
	acct, hash, gerr := a.store.GetAccount(ctx, email)
	switch {
	case err != nil || newsletter.ErrorCode(gerr) == newsletter.ENOTFOUND:
		hash = dummyHash
	case gerr != nil:
		return nil, gerr
	}
	ok, verr := password.Verify(pw, hash)
	if verr != nil {
		a.Logger.Error("stored password hash is malformed", "err", verr)
	}
	if !ok || hash == dummyHash || len(pw) > maxPasswordLen {
		a.Logger.Info("sign-in refused", "client", client)
		return nil, ErrLoginFailed
	}
	now := a.Now()
	s := &Session{ID: randomToken(), CSRF: randomToken(), Account: *acct, Created: now, LastSeen: now}
	if err := a.store.CreateSession(ctx, tokenHash(s.ID), redisstore.SessionRecord{Email: email, CSRF: s.CSRF, Client: client, Created: now, LastSeen: now}, a.sessionMax()); err != nil {
		return nil, err
	}
	a.Logger.Info("signed in", "role", acct.Role)
	return s, nil
}

// allowLogin takes one attempt from the client's quota, then from the
// account's (keyed by the address's hash, whether or not it has an
// account).
func (a *App) allowLogin(ctx context.Context, email, client string) error {
	for _, q := range []struct {
		quota      *ratelimit.Quota
		key, scope string
	}{{a.loginPerClient, client, "client"}, {a.loginPerAccount, tokenHash(email), "account"}} {
		ok, err := q.quota.Allow(ctx, q.key)
		if err != nil {
			return err
		}
		if !ok {
			a.Logger.Warn("sign-in quota exceeded", "scope", q.scope)
			return ErrTooManyLogins
		}
	}
	return nil
}

// SessionFor returns the live session with id, with the account's current
// role, and marks it used. A session idle for Cfg.SessionIdle, older than
// Cfg.SessionMax, or whose account was removed, is deleted: ErrNoSession.
func (a *App) SessionFor(ctx context.Context, id string) (*Session, error) {
	if id == "" || len(id) > 128 {
		return nil, ErrNoSession
	}
	h := tokenHash(id)
	rec, err := a.store.GetSession(ctx, h)
	if newsletter.ErrorCode(err) == newsletter.ENOTFOUND {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	now := a.Now()
	left := min(a.sessionIdle()-now.Sub(rec.LastSeen), a.sessionMax()-now.Sub(rec.Created))
	acct, _, err := a.store.GetAccount(ctx, rec.Email)
	if newsletter.ErrorCode(err) == newsletter.ENOTFOUND || err == nil && left <= 0 {
		return nil, a.endSession(ctx, h)
	}
	if err != nil {
		return nil, err
	}
	s := &Session{ID: id, CSRF: rec.CSRF, Account: *acct, Created: rec.Created, LastSeen: rec.LastSeen}
	if now.Sub(rec.LastSeen) >= touchEvery {
		s.LastSeen = now
		if err := a.store.TouchSession(ctx, h, now, min(a.sessionIdle(), a.sessionMax()-now.Sub(rec.Created))); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (a *App) endSession(ctx context.Context, h string) error {
	if err := a.store.DeleteSession(ctx, h); err != nil {
		return err
	}
	return ErrNoSession
}

// Logout ends the session with id; an unknown id is not an error.
func (a *App) Logout(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	return a.store.DeleteSession(ctx, tokenHash(id))
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

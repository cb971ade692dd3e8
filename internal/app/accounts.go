package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"newsletter"
	"newsletter/internal/address"
	"newsletter/internal/password"
)

// The use cases of accounts: who may sign in to the admin side and the
// API, with which role.

// MinPasswordLen is the shortest password an account may have (NIST SP
// 800-63B asks at least 8; a passphrase of 12 is easy to type and hard to
// guess).
const MinPasswordLen = 12

// maxPasswordLen bounds the work one sign-in attempt can cause.
const maxPasswordLen = 1024

// tokenPrefix starts every per-account API token, so a leaked one is
// recognisable (secret scanners) and never mistaken for the admin token.
const tokenPrefix = "nlt_"

// Langs are the languages of the admin pages.
var Langs = []string{"nl", "en"}

func normalizeAccountEmail(raw string) (string, error) {
	email, err := address.Normalize(raw)
	if err != nil {
		return "", newsletter.Errorf(newsletter.EINVALID, "account email: %v", err)
	}
	return email, nil
}

func checkRole(role newsletter.Role) error {
	if !role.Valid() {
		return newsletter.Errorf(newsletter.EINVALID, "role %q is unknown: use admin, editor or viewer", role)
	}
	return nil
}

func checkPassword(pw string) error {
	switch n := utf8.RuneCountInString(pw); {
	case n < MinPasswordLen:
		return newsletter.Errorf(newsletter.EINVALID, "the password is too short (%d characters): use at least %d, e.g. a few unrelated words", n, MinPasswordLen)
	case len(pw) > maxPasswordLen:
		return newsletter.Errorf(newsletter.EINVALID, "the password is too long: use at most %d bytes", maxPasswordLen)
	case strings.TrimSpace(pw) != pw:
		return newsletter.Errorf(newsletter.EINVALID, "the password starts or ends with a space or a line break: remove it (with --password-stdin, `printf %%s` writes no newline)")
	}
	return nil
}

// AddAccount creates an account with role and password (Lang "nl"; the
// account changes it with SetLang).
func (a *App) AddAccount(ctx context.Context, rawEmail string, role newsletter.Role, pw string) (*newsletter.Account, error) {
	email, err := normalizeAccountEmail(rawEmail)
	if err != nil {
		return nil, err
	}
	if err := checkRole(role); err != nil {
		return nil, err
	}
	if err := checkPassword(pw); err != nil {
		return nil, err
	}
	acct := newsletter.Account{Email: email, Role: role, Lang: "nl", CreatedAt: a.Now().UTC()}
	if err := a.store.CreateAccount(ctx, acct, password.Hash(pw, a.passwordParams())); err != nil {
		return nil, err
	}
	a.audit(ctx, "account.add", email, nil, acct)
	return &acct, nil
}

func (a *App) passwordParams() password.Params {
	if a.PasswordParams != nil {
		return *a.PasswordParams
	}
	return password.Default
}

// Accounts lists every account, oldest first.
func (a *App) Accounts(ctx context.Context) ([]newsletter.Account, error) {
	return a.store.Accounts(ctx)
}

// GetAccount returns one account.
func (a *App) GetAccount(ctx context.Context, rawEmail string) (*newsletter.Account, error) {
	email, err := normalizeAccountEmail(rawEmail)
	if err != nil {
		return nil, err
	}
	acct, _, err := a.store.GetAccount(ctx, email)
	return acct, err
}

// SetRole changes an account's role. The last admin cannot be demoted.
func (a *App) SetRole(ctx context.Context, rawEmail string, role newsletter.Role) (*newsletter.Account, error) {
	email, err := normalizeAccountEmail(rawEmail)
	if err != nil {
		return nil, err
	}
	if err := checkRole(role); err != nil {
		return nil, err
	}
	old, err := a.store.SetAccountRole(ctx, email, role)
	if err != nil {
		return nil, err
	}
	a.audit(ctx, "account.set_role", email, map[string]newsletter.Role{"role": old}, map[string]newsletter.Role{"role": role})
	acct, _, err := a.store.GetAccount(ctx, email)
	return acct, err
}

// SetLang sets the language of an account's pages ("nl" or "en").
func (a *App) SetLang(ctx context.Context, rawEmail, lang string) error {
	email, err := normalizeAccountEmail(rawEmail)
	if err != nil {
		return err
	}
	if lang != "nl" && lang != "en" {
		return newsletter.Errorf(newsletter.EINVALID, "language %q is not offered: use nl or en", lang)
	}
	if err := a.store.SetAccountLang(ctx, email, lang); err != nil {
		return err
	}
	a.audit(ctx, "account.set_lang", email, nil, map[string]string{"lang": lang})
	return nil
}

// RemoveAccount deletes an account and its API tokens; its sessions end
// at their next request. The last admin cannot be removed.
func (a *App) RemoveAccount(ctx context.Context, rawEmail string) error {
	email, err := normalizeAccountEmail(rawEmail)
	if err != nil {
		return err
	}
	old, err := a.store.DeleteAccount(ctx, email)
	if err != nil {
		return err
	}
	a.audit(ctx, "account.remove", email, map[string]newsletter.Role{"role": old}, nil)
	return nil
}

// NewAPIToken creates an API token for an account and returns it: the
// only time it is shown, since only its hash is stored. name tells the
// account's tokens apart (and revokes one).
func (a *App) NewAPIToken(ctx context.Context, rawEmail, name string) (string, error) {
	email, err := normalizeAccountEmail(rawEmail)
	if err != nil {
		return "", err
	}
	if name == "" {
		name = "token-" + a.Now().UTC().Format("20060102-150405")
	}
	if len(name) > 64 || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", newsletter.Errorf(newsletter.EINVALID, "token name %q is not valid: use up to 64 printable characters, e.g. --name backup-script", name)
	}
	tok := tokenPrefix + randomToken()
	if err := a.store.AddToken(ctx, email, name, tokenHash(tok), a.Now()); err != nil {
		return "", err
	}
	a.audit(ctx, "account.token_add", email, nil, map[string]string{"name": name})
	return tok, nil
}

// APITokens lists an account's tokens by name.
func (a *App) APITokens(ctx context.Context, rawEmail string) ([]newsletter.APIToken, error) {
	email, err := normalizeAccountEmail(rawEmail)
	if err != nil {
		return nil, err
	}
	if _, _, err := a.store.GetAccount(ctx, email); err != nil {
		return nil, err
	}
	return a.store.Tokens(ctx, email)
}

// RevokeAPIToken deletes an account's token by name.
func (a *App) RevokeAPIToken(ctx context.Context, rawEmail, name string) error {
	email, err := normalizeAccountEmail(rawEmail)
	if err != nil {
		return err
	}
	if err := a.store.RevokeToken(ctx, email, name); err != nil {
		return err
	}
	a.audit(ctx, "account.token_revoke", email, map[string]string{"name": name}, nil)
	return nil
}

// ErrBadToken: the API token is not (or no longer) one of an account's.
var ErrBadToken = newsletter.Errorf(newsletter.EUNAUTHORIZED,
	"the API token is unknown or revoked: create one with `newsletter users token EMAIL`")

// AuthenticateToken returns the account a per-account API token belongs
// to, with its current role.
func (a *App) AuthenticateToken(ctx context.Context, tok string) (*newsletter.Account, error) {
	if !strings.HasPrefix(tok, tokenPrefix) || len(tok) > 128 {
		return nil, ErrBadToken
	}
	email, err := a.store.TokenAccount(ctx, tokenHash(tok))
	if newsletter.ErrorCode(err) == newsletter.ENOTFOUND {
		return nil, ErrBadToken
	}
	if err != nil {
		return nil, err
	}
	acct, _, err := a.store.GetAccount(ctx, email)
	if newsletter.ErrorCode(err) == newsletter.ENOTFOUND {
		return nil, ErrBadToken
	}
	return acct, err
}

// tokenHash is what is stored of a token or session id: SHA-256 is enough
// for 256 random bits (no dictionary to try), and fast on every request.
func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

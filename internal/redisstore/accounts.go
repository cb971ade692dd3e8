package redisstore

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
)

// Accounts, their API tokens and the admins set share the hash tag
// {acct}: the scripts that keep "at least one admin" true touch them
// together, also on Redis Cluster. There are tens of accounts, not
// thousands, so one slot holds them well.

func (s *Store) acctKey(email string) string    { return s.prefix + "{acct}:a:" + email }
func (s *Store) acctTokens(email string) string { return s.prefix + "{acct}:toks:" + email }
func (s *Store) acctIndex() string              { return s.prefix + "{acct}:all" }
func (s *Store) acctAdmins() string             { return s.prefix + "{acct}:admins" }
func (s *Store) tokKey(hash string) string      { return s.prefix + "{acct}:tok:" + hash }

// ErrLastAdmin refuses to remove or demote the only admin: nobody could
// manage accounts afterwards.
var ErrLastAdmin = newsletter.Errorf(newsletter.ECONFLICT,
	"this is the last admin account: add another admin first (`newsletter users add EMAIL --role admin --password-stdin`), then change or remove this one")

func accountNotFound(email string) error {
	return newsletter.Errorf(newsletter.ENOTFOUND, "account %s does not exist: see `newsletter users ls`", email)
}

// KEYS: account, index, admins. ARGV: email, role, lang, password hash,
// created_at, created ms.
var createAccountScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'email', ARGV[1], 'role', ARGV[2], 'lang', ARGV[3], 'pw', ARGV[4], 'created_at', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
if ARGV[2] == 'admin' then redis.call('SADD', KEYS[3], ARGV[1]) end
return 1`)

// CreateAccount stores a new account with its password hash; an existing
// email is a conflict.
func (s *Store) CreateAccount(ctx context.Context, a newsletter.Account, pwHash string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := createAccountScript.Run(ctx, s.rdb, []string{s.acctKey(a.Email), s.acctIndex(), s.acctAdmins()},
		a.Email, string(a.Role), a.Lang, pwHash, ms(a.CreatedAt), a.CreatedAt.UnixMilli()).Int()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return newsletter.Errorf(newsletter.ECONFLICT, "account %s already exists: change its role with `newsletter users set-role %s ROLE`", a.Email, a.Email)
	}
	return nil
}

// GetAccount returns an account and its password hash.
func (s *Store) GetAccount(ctx context.Context, email string) (*newsletter.Account, string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	h, err := s.rdb.HGetAll(ctx, s.acctKey(email)).Result()
	if err != nil {
		return nil, "", unavailable(err)
	}
	if len(h) == 0 {
		return nil, "", accountNotFound(email)
	}
	return accountFrom(h), h["pw"], nil
}

func accountFrom(h map[string]string) *newsletter.Account {
	return &newsletter.Account{Email: h["email"], Role: newsletter.Role(h["role"]), Lang: h["lang"], CreatedAt: parseTime(h["created_at"])}
}

// Accounts returns every account, oldest first.
func (s *Store) Accounts(ctx context.Context) ([]newsletter.Account, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	emails, err := s.rdb.ZRange(ctx, s.acctIndex(), 0, -1).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	pipe := s.rdb.Pipeline()
	hs := make([]*redis.MapStringStringCmd, len(emails))
	for i, e := range emails {
		hs[i] = pipe.HGetAll(ctx, s.acctKey(e))
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, err
	}
	out := make([]newsletter.Account, 0, len(emails))
	for _, h := range hs {
		if len(h.Val()) > 0 {
			out = append(out, *accountFrom(h.Val()))
		}
	}
	return out, nil
}

// KEYS: account, admins. ARGV: email, new role. Returns the old role,
// or -1 (no such account) or -2 (last admin).
var setRoleScript = redis.NewScript(`
local old = redis.call('HGET', KEYS[1], 'role')
if not old then return -1 end
if old == 'admin' and ARGV[2] ~= 'admin' and redis.call('SCARD', KEYS[2]) <= 1 then return -2 end
redis.call('HSET', KEYS[1], 'role', ARGV[2])
if ARGV[2] == 'admin' then redis.call('SADD', KEYS[2], ARGV[1]) else redis.call('SREM', KEYS[2], ARGV[1]) end
return old`)

// SetAccountRole changes an account's role and returns the old one. The
// last admin cannot be demoted (ErrLastAdmin).
func (s *Store) SetAccountRole(ctx context.Context, email string, role newsletter.Role) (newsletter.Role, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	v, err := setRoleScript.Run(ctx, s.rdb, []string{s.acctKey(email), s.acctAdmins()}, email, string(role)).Result()
	if err != nil {
		return "", unavailable(err)
	}
	return roleResult(email, v)
}

func roleResult(email string, v any) (newsletter.Role, error) {
	switch v := v.(type) {
	case string:
		return newsletter.Role(v), nil
	case int64:
		if v == -2 {
			return "", ErrLastAdmin
		}
	}
	return "", accountNotFound(email)
}

// KEYS: a hash. ARGV: field, value. Sets the field only on an existing
// hash; returns whether it existed.
var setIfExistsScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`)

// SetAccountLang sets the language of an account's pages.
func (s *Store) SetAccountLang(ctx context.Context, email, lang string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := setIfExistsScript.Run(ctx, s.rdb, []string{s.acctKey(email)}, "lang", lang).Int()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return accountNotFound(email)
	}
	return nil
}

// KEYS: account, index, admins, the account's tokens. ARGV: email, token
// key prefix. Returns the old role, -1 or -2 as setRoleScript.
var deleteAccountScript = redis.NewScript(`
local old = redis.call('HGET', KEYS[1], 'role')
if not old then return -1 end
if old == 'admin' and redis.call('SCARD', KEYS[3]) <= 1 then return -2 end
for _, h in ipairs(redis.call('HVALS', KEYS[4])) do redis.call('DEL', ARGV[2] .. h) end
redis.call('DEL', KEYS[1], KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return old`)

// DeleteAccount removes an account and its API tokens and returns its
// old role. The last admin cannot be removed (ErrLastAdmin).
func (s *Store) DeleteAccount(ctx context.Context, email string) (newsletter.Role, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	v, err := deleteAccountScript.Run(ctx, s.rdb, []string{s.acctKey(email), s.acctIndex(), s.acctAdmins(), s.acctTokens(email)},
		email, s.tokKey("")).Result()
	if err != nil {
		return "", unavailable(err)
	}
	return roleResult(email, v)
}

// KEYS: account, the account's tokens, the token. ARGV: email, name,
// token hash, created_at. Returns 1, 0 (name taken) or -1 (no account).
var addTokenScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 0 then return 0 end
redis.call('HSET', KEYS[3], 'email', ARGV[1], 'name', ARGV[2], 'created_at', ARGV[4])
return 1`)

// AddToken stores an API token's hash for an account under a name unique
// to the account.
func (s *Store) AddToken(ctx context.Context, email, name, hash string, at time.Time) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := addTokenScript.Run(ctx, s.rdb, []string{s.acctKey(email), s.acctTokens(email), s.tokKey(hash)},
		email, name, hash, ms(at)).Int()
	switch {
	case err != nil:
		return unavailable(err)
	case n == -1:
		return accountNotFound(email)
	case n == 0:
		return newsletter.Errorf(newsletter.ECONFLICT, "account %s already has a token named %q: pick another --name, or revoke it first with `newsletter users token %s --revoke %s`", email, name, email, name)
	}
	return nil
}

// TokenAccount returns the email of the account whose token has hash.
func (s *Store) TokenAccount(ctx context.Context, hash string) (string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	email, err := s.rdb.HGet(ctx, s.tokKey(hash), "email").Result()
	if errors.Is(err, redis.Nil) {
		return "", newsletter.Errorf(newsletter.ENOTFOUND, "unknown API token")
	}
	return email, unavailable(err)
}

// Tokens lists an account's API tokens by name.
func (s *Store) Tokens(ctx context.Context, email string) ([]newsletter.APIToken, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	byName, err := s.rdb.HGetAll(ctx, s.acctTokens(email)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	pipe := s.rdb.Pipeline()
	names := make([]string, 0, len(byName))
	ats := map[string]*redis.StringCmd{}
	for name, h := range byName {
		names = append(names, name)
		ats[name] = pipe.HGet(ctx, s.tokKey(h), "created_at")
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]newsletter.APIToken, 0, len(names))
	for _, n := range names {
		out = append(out, newsletter.APIToken{Name: n, CreatedAt: parseTime(ats[n].Val())})
	}
	return out, nil
}

// KEYS: the account's tokens. ARGV: name, token key prefix.
var revokeTokenScript = redis.NewScript(`
local h = redis.call('HGET', KEYS[1], ARGV[1])
if not h then return 0 end
redis.call('DEL', ARGV[2] .. h)
redis.call('HDEL', KEYS[1], ARGV[1])
return 1`)

// RevokeToken deletes an account's token by name.
func (s *Store) RevokeToken(ctx context.Context, email, name string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := revokeTokenScript.Run(ctx, s.rdb, []string{s.acctTokens(email)}, name, s.tokKey("")).Int()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return newsletter.Errorf(newsletter.ENOTFOUND, "account %s has no token named %q: see `newsletter users tokens %s`", email, name, email)
	}
	return nil
}

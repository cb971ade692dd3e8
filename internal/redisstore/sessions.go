package redisstore

import (
	"context"
	"time"

	"newsletter"
)

// A session is kept under the hash of its id (the cookie's value), so a
// copy of the database does not hold live session ids.
func (s *Store) sessKey(idHash string) string { return s.prefix + "{sess:" + idHash + "}" }

// SessionRecord is a signed-in session as stored.
type SessionRecord struct {
	Email, CSRF, Client string
	Created, LastSeen   time.Time
}

// CreateSession stores a session; ttl bounds how long Redis keeps it (the
// application checks the expiry itself, on its own clock).
func (s *Store) CreateSession(ctx context.Context, idHash string, r SessionRecord, ttl time.Duration) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.TxPipeline()
	pipe.HSet(ctx, s.sessKey(idHash), "email", r.Email, "csrf", r.CSRF, "client", r.Client,
		"created", ms(r.Created), "last_seen", ms(r.LastSeen))
	pipe.PExpire(ctx, s.sessKey(idHash), ttl)
	return execPipe(ctx, pipe)
}

// GetSession returns a stored session.
func (s *Store) GetSession(ctx context.Context, idHash string) (*SessionRecord, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	h, err := s.rdb.HGetAll(ctx, s.sessKey(idHash)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	if len(h) == 0 || h["email"] == "" {
		return nil, newsletter.Errorf(newsletter.ENOTFOUND, "no such session")
	}
	return &SessionRecord{Email: h["email"], CSRF: h["csrf"], Client: h["client"],
		Created: parseTime(h["created"]), LastSeen: parseTime(h["last_seen"])}, nil
}

// TouchSession records that a session was used at t and keeps it ttl
// longer. A session deleted meanwhile stays deleted.
func (s *Store) TouchSession(ctx context.Context, idHash string, t time.Time, ttl time.Duration) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := setIfExistsScript.Run(ctx, s.rdb, []string{s.sessKey(idHash)}, "last_seen", ms(t)).Int()
	if err != nil || n == 0 {
		return unavailable(err)
	}
	return unavailable(s.rdb.PExpire(ctx, s.sessKey(idHash), ttl).Err())
}

// DeleteSession removes a session (logout, expiry).
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return unavailable(s.rdb.Del(ctx, s.sessKey(idHash)).Err())
}

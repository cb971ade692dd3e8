package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
)

// Store is the Redis-backed store. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	// Now is the clock; tests replace it.
	Now func() time.Time
	// OpTimeout bounds every single Redis operation.
	OpTimeout time.Duration
}

// New returns a Store using rdb with every key under prefix.
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix, Now: time.Now, OpTimeout: 5 * time.Second}
}

// Client returns the underlying Redis client.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Prefix returns the key prefix.
func (s *Store) Prefix() string { return s.prefix }

// Key returns prefix+parts joined by ":".
func (s *Store) key(parts ...string) string { return s.prefix + strings.Join(parts, ":") }

func (s *Store) subKey(email string) string   { return s.prefix + "{s:" + email + "}:sub" }
func (s *Store) subLists(email string) string { return s.prefix + "{s:" + email + "}:lists" }
func (s *Store) members(slug string) string   { return s.prefix + "{l:" + slug + "}:members" }
func (s *Store) ed(id, part string) string    { return s.prefix + "{e:" + id + "}:" + part }

func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.OpTimeout)
}

// CheckPolicy refuses a Redis that may evict keys: evicting a subscriber or a
// delivery state silently would lose or duplicate email.
func (s *Store) CheckPolicy(ctx context.Context) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return unavailable(err)
	}
	res, err := s.rdb.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		// Managed Redis may forbid CONFIG; INFO still tells.
		info, ierr := s.rdb.Info(ctx, "memory").Result()
		if ierr != nil {
			return fmt.Errorf("read maxmemory-policy: %w", err)
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "maxmemory_policy:"); ok {
				res = map[string]string{"maxmemory-policy": v}
			}
		}
	}
	if p := res["maxmemory-policy"]; p != "" && p != "noeviction" {
		return newsletter.Errorf(newsletter.EINVALID,
			"Redis maxmemory-policy is %q, which can silently drop subscribers and delivery state: set maxmemory-policy noeviction (CONFIG SET maxmemory-policy noeviction, and in redis.conf)", p)
	}
	return nil
}

func unavailable(err error) error {
	if err == nil {
		return nil
	}
	var e *newsletter.Error
	if errors.As(err, &e) {
		return err
	}
	return &newsletter.Error{Code: newsletter.EUNAVAILABLE,
		Message: "Redis is not reachable (" + err.Error() + "): start it or fix NEWSLETTER_REDIS_URL"}
}

func ms(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

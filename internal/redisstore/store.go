package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
	// UnconfirmedTTL is how long a subscription request from the public
	// form waits for its confirmation (0: for ever).
	UnconfirmedTTL time.Duration

	searchReady atomic.Bool // the search index exists (see search.go)
}

// New returns a Store using rdb with every key under prefix.
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix, Now: time.Now, OpTimeout: 5 * time.Second}
}

// tx returns a MULTI/EXEC pipeline on a single Redis. On a Redis Cluster
// the keys of these writes live in different slots (a subscriber's {s:}
// keys, a list's {l:} sets, the global indexes such as subs, supp and
// status:*), which no transaction can span: there the commands are
// pipelined in order, each atomic on its own, and a crash between them can
// leave an index behind its record (the scripts that must be atomic, such
// as the delivery transitions, keep their keys in one slot and stay atomic).
func (s *Store) tx() redis.Pipeliner {
	if _, ok := s.rdb.(*redis.ClusterClient); ok {
		return s.rdb.Pipeline()
	}
	return s.rdb.TxPipeline()
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
// On a Redis Cluster every master is asked.
func (s *Store) CheckPolicy(ctx context.Context) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		if err := cc.Ping(ctx).Err(); err != nil {
			return unavailable(err)
		}
	}
	return s.forEachMaster(ctx, func(ctx context.Context, node redis.Cmdable) error {
		return checkPolicy(ctx, node)
	})
}

// forEachMaster calls fn with the one server, or with every master of a
// cluster (at once).
func (s *Store) forEachMaster(ctx context.Context, fn func(context.Context, redis.Cmdable) error) error {
	cc, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		return fn(ctx, s.rdb)
	}
	return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return fn(ctx, node) })
}

// Info is INFO section from the one server, or from every master of a
// cluster (one text per master), for figures that must add up over all of
// them (commands, CPU).
func (s *Store) Info(ctx context.Context, section string) ([]string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var mu sync.Mutex
	var out []string
	err := s.forEachMaster(ctx, func(ctx context.Context, node redis.Cmdable) error {
		info, err := node.Info(ctx, section).Result()
		if err != nil {
			return unavailable(err)
		}
		mu.Lock()
		defer mu.Unlock()
		out = append(out, info)
		return nil
	})
	return out, err
}

func checkPolicy(ctx context.Context, rdb redis.Cmdable) error {
	if err := rdb.Ping(ctx).Err(); err != nil {
		return unavailable(err)
	}
	res, err := rdb.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		// Managed Redis may forbid CONFIG; INFO still tells.
		info, ierr := rdb.Info(ctx, "memory").Result()
		if ierr != nil {
			return unavailable(fmt.Errorf("read maxmemory-policy: CONFIG GET: %w; INFO memory: %w", err, ierr))
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

// unavailable turns an error from a Redis call into the store's error. Only
// failures to reach Redis or to have it serve requests at all (including a
// full Redis refusing writes) become EUNAVAILABLE (what an operator fixes by
// starting Redis, fixing NEWSLETTER_REDIS_URL or giving it memory, and what
// a caller may retry); everything else (a
// command Redis refused, such as WRONGTYPE or a failing script, or a
// cancelled or expired context) keeps its own meaning. Either way the cause
// stays in the chain, for errors.Is and errors.As. An *newsletter.Error
// passes through unchanged.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	var e *newsletter.Error
	if errors.As(err, &e) {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		// The caller gave up, whatever it interrupted (even a dial).
		return fmt.Errorf("redis: %w", err)
	case isDialError(err):
		// Checked before DeadlineExceeded: a dial that does not finish in
		// time (the dialer's own timeout is a deadline too) is a server
		// that cannot be reached.
		return notReachable(err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("redis: %w", err)
	case redis.IsLoadingError(err):
		return newsletter.Errorf(newsletter.EUNAVAILABLE, "Redis is still loading its data set (%w): try again in a moment", err)
	case redis.IsAuthError(err):
		return newsletter.Errorf(newsletter.EUNAVAILABLE, "Redis refused the credentials (%w): fix the user or password in NEWSLETTER_REDIS_URL", err)
	case redis.IsReadOnlyError(err):
		return newsletter.Errorf(newsletter.EUNAVAILABLE, "Redis is a read-only replica (%w): point NEWSLETTER_REDIS_URL at the primary", err)
	case redis.IsOOMError(err):
		// With maxmemory-policy noeviction (which CheckPolicy demands) a
		// full Redis refuses writes instead of dropping data.
		return newsletter.Errorf(newsletter.EUNAVAILABLE, "Redis is out of memory and refuses writes (%w): raise maxmemory or free memory", err)
	case redis.IsMasterDownError(err), redis.IsClusterDownError(err), redis.IsTryAgainError(err),
		redis.IsMaxClientsError(err):
		return newsletter.Errorf(newsletter.EUNAVAILABLE, "Redis cannot serve requests now (%w): try again later", err)
	case isConnError(err):
		return notReachable(err)
	}
	return fmt.Errorf("redis: %w", err)
}

// execPipe runs pipe (a pipeline or a MULTI/EXEC transaction) and returns,
// through unavailable, the first error of its commands other than
// redis.Nil (a missing key or field, which the command's Val reports as
// zero). Exec alone returns the first failed command's error, so a missing
// field early in the pipeline would hide a real failure after it; and for a
// transaction Redis refused to queue a command of (e.g. OOM), Exec returns
// only EXECABORT, while the refused command holds the reason.
func execPipe(ctx context.Context, pipe redis.Pipeliner) error {
	cmds, err := pipe.Exec(ctx)
	if err == nil {
		return nil
	}
	for _, c := range cmds {
		if cerr := c.Err(); cerr != nil && !errors.Is(cerr, redis.Nil) {
			return unavailable(cerr)
		}
	}
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return unavailable(err)
}

func notReachable(err error) error {
	return newsletter.Errorf(newsletter.EUNAVAILABLE, "Redis is not reachable (%w): start it or fix NEWSLETTER_REDIS_URL", err)
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// isConnError reports failures of the connection itself, as opposed to an
// answer from Redis.
func isConnError(err error) bool {
	var (
		netErr  net.Error
		recErr  tls.RecordHeaderError
		certErr *tls.CertificateVerificationError
		alert   tls.AlertError
	)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &netErr), errors.As(err, &recErr), errors.As(err, &certErr), errors.As(err, &alert):
		return true
	}
	return false
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

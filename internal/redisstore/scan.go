package redisstore

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// scanKeys calls fn with every key of type typ ("" for any) under the
// prefix whose name (after the prefix) matches pattern. On a Redis Cluster
// it scans every master, one after the other from fn's point of view: fn is
// never called concurrently.
func (s *Store) scanKeys(ctx context.Context, pattern, typ string, fn func([]string) error) error {
	return s.scanMasters(ctx, globEscape(s.prefix)+pattern, typ, fn)
}

// DeletePrefixed removes every key whose name starts with prefix (any
// prefix, not only this store's: the rate limiter's keys have their own),
// one batch of a scan at a time. The keys of a batch are deleted one
// command each, in one pipeline: on a cluster they live in different slots.
func (s *Store) DeletePrefixed(ctx context.Context, prefix string) error {
	return s.scanMasters(ctx, globEscape(prefix)+"*", "", func(keys []string) error {
		c, cancel := s.ctx(ctx)
		defer cancel()
		pipe := s.rdb.Pipeline()
		for _, k := range keys {
			pipe.Unlink(c, k)
		}
		return execPipe(c, pipe)
	})
}

// scanMasters calls fn with batches of the keys matching the glob match,
// on every master of a cluster (one call at a time).
func (s *Store) scanMasters(ctx context.Context, match, typ string, fn func([]string) error) error {
	var mu sync.Mutex
	return s.forEachMaster(ctx, func(ctx context.Context, node redis.Cmdable) error {
		return s.scanNode(ctx, node, match, typ, func(keys []string) error {
			mu.Lock()
			defer mu.Unlock()
			return fn(keys)
		})
	})
}

func (s *Store) scanNode(ctx context.Context, c redis.Cmdable, match, typ string, fn func([]string) error) error {
	var cursor uint64
	for {
		sc, cancel := s.ctx(ctx)
		var keys []string
		var next uint64
		var err error
		if typ == "" {
			keys, next, err = c.Scan(sc, cursor, match, 1000).Result()
		} else {
			keys, next, err = c.ScanType(sc, cursor, match, 1000, typ).Result()
		}
		cancel()
		if err != nil {
			return unavailable(err)
		}
		if len(keys) > 0 {
			if err := fn(keys); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Limiter hands out send permits at Rate per second across processes.
//
// It is GCRA (go-redis/redis_rate) with a burst of BurstShare of the rate
// (at least one permit): in any one-second window, however many processes
// share the key, at most rate + burst permits are granted. A Wait takes
// its n permits all at once or not at all, so that a call's recipients are
// never paid for bit by bit and then sent together above the rate; n must
// therefore be at most Burst (larger asks are paid in Burst-sized parts).
type Limiter struct {
	rl    *redis_rate.Limiter
	key   string
	limit redis_rate.Limit
	burst int
}

// BurstShare is the part of the rate that may leave at once: the most the
// limiter grants above the rate in any one-second window. It is half of
// the 5 % the SES endpoint may see above the rate, so that the jitter
// between a grant and the call reaching SES has room too.
const BurstShare = 0.025

// New returns a limiter for rate emails per second (rate <= 0: unlimited,
// for benchmarks and the dev sink).
func New(rdb redis.UniversalClient, key string, rate float64) *Limiter {
	if rate <= 0 {
		return &Limiter{}
	}
	// Express fractional rates over a longer period (0.5/s = 1 per 2 s).
	period := time.Second
	r := rate
	for r < 1 || r != math.Trunc(r) && period < time.Minute {
		r *= 2
		period *= 2
	}
	n := int(math.Round(r))
	burst := max(1, int(rate*BurstShare))
	return &Limiter{rl: redis_rate.NewLimiter(rdb), key: key, burst: burst,
		limit: redis_rate.Limit{Rate: n, Burst: burst, Period: period}}
}

// Burst is the most permits one Wait gets at once (0: unlimited). Callers
// size their SES calls to it.
func (l *Limiter) Burst() int { return l.burst }

// Wait blocks until n permits are granted or ctx ends.
func (l *Limiter) Wait(ctx context.Context, n int) error {
	if l.rl == nil {
		return nil
	}
	for n > 0 {
		part := min(n, l.burst)
		res, err := l.rl.AllowN(ctx, l.key, l.limit, part)
		if err != nil {
			return fmt.Errorf("rate limiter: %w", err)
		}
		n -= res.Allowed
		if n == 0 {
			return nil
		}
		wait := res.RetryAfter
		if wait <= 0 {
			wait = time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Quota allows at most N events per Per for each key (GCRA in Redis, so it
// holds across processes), without waiting: for refusing abuse, not pacing.
type Quota struct {
	rl     *redis_rate.Limiter
	prefix string
	limit  redis_rate.Limit
}

// NewQuota returns a quota of n events per period under the key prefix;
// n <= 0 allows everything.
func NewQuota(rdb redis.UniversalClient, prefix string, n int, per time.Duration) *Quota {
	if n <= 0 || per <= 0 {
		return &Quota{}
	}
	return &Quota{rl: redis_rate.NewLimiter(rdb), prefix: prefix, limit: redis_rate.Limit{Rate: n, Burst: n, Period: per}}
}

// Allow takes one event for key and reports whether it was within quota.
func (q *Quota) Allow(ctx context.Context, key string) (bool, error) {
	if q.rl == nil {
		return true, nil
	}
	res, err := q.rl.Allow(ctx, q.prefix+key, q.limit)
	if err != nil {
		return false, fmt.Errorf("rate limiter: %w", err)
	}
	return res.Allowed > 0, nil
}

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
type Limiter struct {
	rl    *redis_rate.Limiter
	key   string
	limit redis_rate.Limit
}

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
	return &Limiter{rl: redis_rate.NewLimiter(rdb), key: key,
		limit: redis_rate.Limit{Rate: n, Burst: max(1, n/10), Period: period}}
}

// Wait blocks until n permits are granted or ctx ends.
func (l *Limiter) Wait(ctx context.Context, n int) error {
	if l.rl == nil {
		return nil
	}
	for n > 0 {
		res, err := l.rl.AllowAtMost(ctx, l.key, l.limit, n)
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

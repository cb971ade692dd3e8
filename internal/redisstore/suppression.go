package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
)

// Suppress adds email to the suppression list (idempotent: the first reason
// is kept). Suppressed addresses are skipped by fan-out and by the send step.
func (s *Store) Suppress(ctx context.Context, email, reason, detail string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	b, _ := json.Marshal(newsletter.Suppression{Email: email, Reason: reason, Detail: detail, CreatedAt: s.Now().UTC()})
	pipe := s.tx()
	pipe.HSetNX(ctx, s.key("supp"), email, string(b)) // an existing suppression keeps its first reason
	s.logSuppression(ctx, pipe, email, "suppress", reason+": "+detail)
	if err := execPipe(ctx, pipe); err != nil {
		return err
	}
	return nil
}

// Unsuppress removes email from the suppression list; the reason (which the
// application requires) is kept in the audit log.
func (s *Store) Unsuppress(ctx context.Context, email, reason string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := s.rdb.HDel(ctx, s.key("supp"), email).Result()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return newsletter.Errorf(newsletter.ENOTFOUND, "%s is not suppressed: see `newsletter suppressions ls`", email)
	}
	pipe := s.rdb.Pipeline()
	s.logSuppression(ctx, pipe, email, "unsuppress", reason)
	return execPipe(ctx, pipe)
}

func (s *Store) logSuppression(ctx context.Context, pipe redis.Pipeliner, email, action, reason string) {
	b, _ := json.Marshal(map[string]string{"email": email, "action": action, "reason": reason, "at": ms(s.Now())})
	pipe.RPush(ctx, s.key("supp", "log"), string(b))
}

// Suppression returns one suppression or ErrNotFound.
func (s *Store) Suppression(ctx context.Context, email string) (*newsletter.Suppression, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	v, err := s.rdb.HGet(ctx, s.key("supp"), email).Result()
	if errors.Is(err, redis.Nil) {
		return nil, newsletter.ErrNotFound
	}
	if err != nil {
		return nil, unavailable(err)
	}
	var sp newsletter.Suppression
	if err := json.Unmarshal([]byte(v), &sp); err != nil {
		return nil, err
	}
	return &sp, nil
}

// Suppressions lists every suppressed address, oldest first.
func (s *Store) Suppressions(ctx context.Context) ([]newsletter.Suppression, error) {
	var out []newsletter.Suppression
	err := s.scanHash(ctx, s.key("supp"), 500, func(kv []string) error {
		for i := 1; i < len(kv); i += 2 {
			var sp newsletter.Suppression
			if json.Unmarshal([]byte(kv[i]), &sp) == nil {
				out = append(out, sp)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// NoteTransientBounce records a soft bounce and returns how many happened
// within window (including this one).
func (s *Store) NoteTransientBounce(ctx context.Context, email, bounceID string, window time.Duration) (int64, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	now := s.Now()
	k := s.key("bounces", email)
	pipe := s.tx()
	// One member per bounce: the same bounce applied twice (SNS delivers
	// at least once) is counted once.
	pipe.ZAddNX(ctx, k, redis.Z{Score: float64(now.UnixMilli()), Member: bounceID})
	pipe.ZRemRangeByScore(ctx, k, "-inf", "("+itoa(now.Add(-window).UnixMilli()))
	n := pipe.ZCard(ctx, k)
	pipe.Expire(ctx, k, window)
	if err := execPipe(ctx, pipe); err != nil {
		return 0, err
	}
	return n.Val(), nil
}

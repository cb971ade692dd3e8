package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
)

// Schedule records that edition id is to be published to lists at t.
func (s *Store) Schedule(ctx context.Context, id string, lists []string, at time.Time) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.tx()
	pipe.HSet(ctx, s.key("sched", "lists"), id, strings.Join(lists, ","))
	pipe.HSet(ctx, s.key("sched", "at"), id, at.UnixMilli())
	pipe.ZAdd(ctx, s.key("sched"), redis.Z{Score: float64(at.UnixMilli()), Member: id})
	return execPipe(ctx, pipe)
}

// Unschedule removes a schedule; it reports whether there was one.
func (s *Store) Unschedule(ctx context.Context, id string) (bool, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.tx()
	n := pipe.ZRem(ctx, s.key("sched"), id)
	pipe.HDel(ctx, s.key("sched", "lists"), id)
	pipe.HDel(ctx, s.key("sched", "at"), id)
	if err := execPipe(ctx, pipe); err != nil {
		return false, err
	}
	return n.Val() > 0, nil
}

// claimDue leases due schedules: each is pushed lease into the future so
// only one worker holds it; the holder publishes and then Unschedules. A
// holder that dies lets the lease expire and another worker fires it
// again, which is safe because publishing is idempotent.
var claimDue = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 10)
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
end
return due
`)

// DueSchedule is a schedule a worker now holds.
type DueSchedule struct {
	EditionID string
	Lists     []string
	At        time.Time
}

// ClaimDue returns schedules due at now, leased to the caller for lease.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration) ([]DueSchedule, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	ids, err := claimDue.Run(ctx, s.rdb, []string{s.key("sched")}, now.UnixMilli(), now.Add(lease).UnixMilli()).StringSlice()
	if err != nil {
		return nil, unavailable(err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	lists := make([]*redis.StringCmd, len(ids))
	ats := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		lists[i] = pipe.HGet(ctx, s.key("sched", "lists"), id)
		ats[i] = pipe.HGet(ctx, s.key("sched", "at"), id)
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, err
	}
	out := make([]DueSchedule, 0, len(ids))
	for i, id := range ids {
		var at int64
		if v := ats[i].Val(); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, newsletter.Errorf(newsletter.EINTERNAL, "schedule of edition %s: time %q is not a number (%w)", id, v, err)
			}
			at = n
		}
		out = append(out, DueSchedule{EditionID: id, Lists: strings.Split(lists[i].Val(), ","), At: time.UnixMilli(at)})
	}
	return out, nil
}

// ScheduledLists returns the lists edition id is scheduled to (nil when
// it is not scheduled).
func (s *Store) ScheduledLists(ctx context.Context, id string) ([]string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	v, err := s.rdb.HGet(ctx, s.key("sched", "lists"), id).Result()
	if errors.Is(err, redis.Nil) || v == "" {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return strings.Split(v, ","), nil
}

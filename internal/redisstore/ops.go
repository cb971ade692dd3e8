package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/metrics"
)

// opsEditions is how many of the newest editions a scrape looks at.
const opsEditions = 200

// OpsSnapshot reads the figures a metrics scrape shows: each topic's
// stream length and its groups' pending and lag, the dead-letter stream's
// length, and the recent editions by state with the per-state counts of
// those being sent.
func (s *Store) OpsSnapshot(ctx context.Context, topics []string, deadLetters string) (*metrics.Snapshot, error) {
	out := &metrics.Snapshot{Editions: map[string]int{}, Sending: map[string]map[string]int64{}}
	for _, t := range topics {
		st, err := s.streamStat(ctx, t)
		if err != nil {
			return nil, err
		}
		out.Streams = append(out.Streams, st)
		if t == deadLetters {
			out.DeadLetters = st.Length
		}
	}
	eds, err := s.Editions(ctx, opsEditions)
	if err != nil {
		return nil, err
	}
	for _, e := range eds {
		state := e.State
		if e.State == newsletter.EditionSending || e.State == newsletter.EditionPublished {
			n, err := s.Counts(ctx, e.ID)
			if err != nil {
				return nil, err
			}
			// As `editions status` says: sent once no delivery waits.
			if e.State == newsletter.EditionSending && n["queued"]+n["sending"] == 0 {
				state = newsletter.EditionSent
			} else {
				out.Sending[e.ID] = n
			}
		}
		out.Editions[string(state)]++
	}
	return out, nil
}

func (s *Store) streamStat(ctx context.Context, topic string) (metrics.StreamStat, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	st := metrics.StreamStat{Topic: topic}
	key := s.Stream(topic)
	n, err := s.rdb.XLen(ctx, key).Result()
	if err != nil {
		return st, unavailable(err)
	}
	st.Length = n
	if n == 0 {
		if ex, err := s.rdb.Exists(ctx, key).Result(); err != nil || ex == 0 {
			return st, unavailable(err)
		}
	}
	groups, err := s.rdb.XInfoGroups(ctx, key).Result()
	if err != nil && !redis.HasErrorPrefix(err, "no such key") {
		return st, unavailable(err)
	}
	for _, g := range groups {
		st.Groups = append(st.Groups, metrics.GroupStat{Group: g.Name, Pending: g.Pending, Lag: g.Lag})
	}
	return st, nil
}

package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
)

// Stream returns the Redis key of a topic.
func (s *Store) Stream(topic string) string { return s.prefix + topic }

// Append adds msgs to topic in one pipelined round trip, in the format
// Watermill's redisstream subscriber reads. Streams are never capped here:
// trimming is Trim's job, which never drops unacknowledged entries.
func (s *Store) Append(ctx context.Context, topic string, msgs ...*message.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var m redisstream.DefaultMarshallerUnmarshaller
	pipe := s.rdb.Pipeline()
	for _, msg := range msgs {
		values, err := m.Marshal(topic, msg)
		if err != nil {
			return fmt.Errorf("marshal message %s: %w", msg.UUID, err)
		}
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: s.Stream(topic), Values: values})
	}
	return execPipe(ctx, pipe)
}

// Trim removes stream entries that every consumer group has read and
// acknowledged. It never drops an entry still pending or not yet delivered
// to some group. It returns how many entries it removed.
func (s *Store) Trim(ctx context.Context, topic string) (int64, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	key := s.Stream(topic)
	groups, err := s.rdb.XInfoGroups(ctx, key).Result()
	if err != nil {
		if redis.HasErrorPrefix(err, "no such key") { // no stream yet
			return 0, nil
		}
		return 0, unavailable(err)
	}
	if len(groups) == 0 {
		return 0, nil // nobody has read it: keep everything
	}
	minID := ""
	for _, g := range groups {
		cand := g.LastDeliveredID
		if g.Pending > 0 {
			p, err := s.rdb.XPending(ctx, key, g.Name).Result()
			if err != nil {
				return 0, unavailable(err)
			}
			cand = p.Lower
		} else {
			// Everything up to LastDeliveredID is acked; keep the last one
			// itself is unnecessary, so trim strictly after it.
			cand = nextID(cand)
		}
		if minID == "" || lessID(cand, minID) {
			minID = cand
		}
	}
	n, err := s.rdb.XTrimMinID(ctx, key, minID).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, unavailable(err)
	}
	return n, nil
}

func splitID(id string) (ms, seq uint64) {
	a, b, _ := strings.Cut(id, "-")
	fmt.Sscan(a, &ms)
	fmt.Sscan(b, &seq)
	return
}

func lessID(a, b string) bool {
	am, as := splitID(a)
	bm, bs := splitID(b)
	return am < bm || (am == bm && as < bs)
}

func nextID(id string) string {
	m, sq := splitID(id)
	return fmt.Sprintf("%d-%d", m, sq+1)
}

// Backlog is how many entries of topic the consumer group has not yet
// acknowledged: not yet read (its lag) plus read and in progress.
func (s *Store) Backlog(ctx context.Context, topic, group string) (int64, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	groups, err := s.rdb.XInfoGroups(c, s.Stream(topic)).Result()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return 0, nil
		}
		return 0, unavailable(err)
	}
	for _, g := range groups {
		if g.Name == group {
			return max(g.Lag, 0) + g.Pending, nil
		}
	}
	n, err := s.rdb.XLen(c, s.Stream(topic)).Result()
	return n, unavailable(err)
}

package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
	"github.com/vmihailenco/msgpack"

	"newsletter"
)

// Delayed messages (a handler's retry after a passing failure) wait in a
// sorted set per stream, scored by when they are due; MoveDue puts them
// back on their stream. They never hold a consumer while they wait.

// The key hashes to the stream's own slot (the stream key has no braces),
// so the mover's script runs on Redis Cluster too.
func (s *Store) delayed(stream string) string { return s.prefix + "delayed:{" + stream + "}" }

// Later schedules msg to be appended to stream (a full stream key, as the
// router knows it) at at.
func (s *Store) Later(ctx context.Context, stream string, msg *message.Message, at time.Time) error {
	var m redisstream.DefaultMarshallerUnmarshaller
	values, err := m.Marshal(stream, msg)
	if err != nil {
		return fmt.Errorf("marshal message %s: %w", msg.UUID, err)
	}
	flat := make([]string, 0, 2*len(values))
	for k, v := range values {
		switch v := v.(type) {
		case []byte:
			flat = append(flat, k, string(v))
		case string:
			flat = append(flat, k, v)
		default:
			flat = append(flat, k, fmt.Sprint(v))
		}
	}
	// msgpack, not JSON: the metadata is binary (msgpack itself), and
	// JSON strings would not carry it intact. Lua reads it with cmsgpack.
	b, err := msgpack.Marshal(flat)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return unavailable(s.rdb.ZAdd(ctx, s.delayed(stream), redis.Z{Score: float64(at.UnixMilli()), Member: string(b)}).Err())
}

// moveDueScript appends the due members of KEYS[1] to stream KEYS[2] and
// removes them, atomically: several workers may run it at once, and each
// message goes back exactly once.
var moveDueScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do
  local ok, fields = pcall(cmsgpack.unpack, m)
  if ok and type(fields) == 'table' and #fields >= 2 then
    redis.call('XADD', KEYS[2], '*', unpack(fields))
  end
  redis.call('ZREM', KEYS[1], m)
end
return #due
`)

// MoveDue puts delayed messages of stream that are due back on it and
// returns how many.
func (s *Store) MoveDue(ctx context.Context, stream string) (int, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := moveDueScript.Run(ctx, s.rdb, []string{s.delayed(stream), stream}, s.Now().UnixMilli(), 500).Int()
	return n, unavailable(err)
}

// DeadLetter is one entry of the dead-letter stream: a message a handler
// gave up on (a permanent failure, the retry budget spent, or a stream
// entry that is not a message at all).
type DeadLetter struct {
	ID         string            `json:"id"` // the dead-letter stream entry id
	UUID       string            `json:"uuid"`
	Stream     string            `json:"stream"` // where it came from
	Handler    string            `json:"handler"`
	Reason     string            `json:"reason"`
	At         time.Time         `json:"at"`
	Malformed  bool              `json:"malformed"`
	Payload    string            `json:"payload"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	values     map[string]any
	deadStream string
}

// Metadata keys the dead-letter stream adds (Watermill's PoisonQueue) and
// the router's own.
const (
	poisonReason   = "reason_poisoned"
	poisonTopic    = "topic_poisoned"
	poisonHandler  = "handler_poisoned"
	poisonSub      = "subscriber_poisoned"
	retryAttempt   = "retry_attempt"
	malformedEntry = "malformed"
)

func (s *Store) deadLetter(dead string, x redis.XMessage) DeadLetter {
	d := DeadLetter{ID: x.ID, values: x.Values, deadStream: dead}
	if ms, err := strconv.ParseInt(strings.SplitN(x.ID, "-", 2)[0], 10, 64); err == nil {
		d.At = time.UnixMilli(ms).UTC()
	}
	var u redisstream.DefaultMarshallerUnmarshaller
	msg, err := u.Unmarshal(x.Values)
	if err != nil { // not even a message: show what is there
		d.Malformed, d.Reason, d.Payload = true, "not a Watermill message: "+err.Error(), fmt.Sprint(x.Values)
		return d
	}
	d.UUID, d.Payload = msg.UUID, string(msg.Payload)
	d.Stream, d.Handler, d.Reason = msg.Metadata.Get(poisonTopic), msg.Metadata.Get(poisonHandler), msg.Metadata.Get(poisonReason)
	d.Malformed = msg.Metadata.Get(malformedEntry) != ""
	d.Metadata = map[string]string(msg.Metadata)
	return d
}

// DeadLetters returns up to limit dead letters of stream dead, newest
// first, older than before ("" = from the newest).
func (s *Store) DeadLetters(ctx context.Context, dead, before string, limit int) ([]DeadLetter, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	end := "+"
	if before != "" {
		end = "(" + before
	}
	xs, err := s.rdb.XRevRangeN(ctx, dead, end, "-", int64(limit)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable(err)
	}
	out := make([]DeadLetter, len(xs))
	for i, x := range xs {
		out[i] = s.deadLetter(dead, x)
	}
	return out, nil
}

// GetDeadLetter returns one dead letter by its entry id.
func (s *Store) GetDeadLetter(ctx context.Context, dead, id string) (*DeadLetter, error) {
	if !validEntryID(id) {
		return nil, newsletter.Errorf(newsletter.EINVALID, "%q is not a dead-letter id: ids look like 1733100000000-0 (see `newsletter deadletters ls`)", id)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	xs, err := s.rdb.XRange(ctx, dead, id, id).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable(err)
	}
	if len(xs) == 0 {
		return nil, newsletter.Errorf(newsletter.ENOTFOUND, "no dead letter %s: see `newsletter deadletters ls` (a replayed one is gone from the list)", id)
	}
	d := s.deadLetter(dead, xs[0])
	return &d, nil
}

func validEntryID(id string) bool {
	a, b, ok := strings.Cut(id, "-")
	if !ok {
		return false
	}
	_, err1 := strconv.ParseUint(a, 10, 64)
	_, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil
}

// ReplayDeadLetter puts dead letter d back on the stream it came from, with
// a fresh retry budget, then removes it from the dead-letter stream (two
// steps, as the streams may live on different cluster nodes: a crash in
// between leaves it listed, and replaying it again is harmless, since a
// recipient already sent is not sent again). streamOK says which streams
// a replay may go to.
func (s *Store) ReplayDeadLetter(ctx context.Context, d *DeadLetter, streamOK func(string) bool) error {
	if d.Malformed {
		return newsletter.Errorf(newsletter.ECONFLICT, "dead letter %s is not a valid message (%s): replaying it would fail the same way; fix what wrote it, then remove it", d.ID, d.Reason)
	}
	if !streamOK(d.Stream) {
		return newsletter.Errorf(newsletter.ECONFLICT, "dead letter %s came from %q, which no handler reads: it cannot be replayed", d.ID, d.Stream)
	}
	msg := message.NewMessage(d.UUID, []byte(d.Payload))
	for k, v := range d.Metadata {
		switch k {
		case poisonReason, poisonTopic, poisonHandler, poisonSub, retryAttempt:
		default:
			msg.Metadata.Set(k, v)
		}
	}
	msg.Metadata.Set("replayed_from", d.ID)
	var m redisstream.DefaultMarshallerUnmarshaller
	values, err := m.Marshal(d.Stream, msg)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: d.Stream, Values: values}).Err(); err != nil {
		return unavailable(err)
	}
	return unavailable(s.rdb.XDel(ctx, d.deadStream, d.ID).Err())
}

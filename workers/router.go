package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/redis/go-redis/v9"

	"newsletter"
)

// RouterConfig wires the handlers to Redis streams.
type RouterConfig struct {
	// NewClient returns a fresh Redis client. Each subscriber and publisher
	// gets its own, because redisstream's Close closes the client it was
	// given.
	NewClient func() redis.UniversalClient
	// Stream maps a topic to its prefixed stream key.
	Stream func(topic string) string
	// Consumer is a stable name for this process (e.g. host name plus an
	// instance number), so a restarted process is recognisable in XINFO.
	Consumer string
	// SendSubscribers is how many delivery jobs this process works on at
	// once (each job is a chunk of recipients sent concurrently).
	SendSubscribers int
	// MaxIdle is how long a job may stay unacknowledged before another
	// consumer claims it (a crashed worker's jobs come back after this).
	MaxIdle time.Duration
	// HandlerTimeout bounds one handler call.
	HandlerTimeout time.Duration
	// Delayer holds a message that failed for a passing reason until its
	// retry is due, off the stream, so that waiting blocks no consumer.
	Delayer Delayer
	// MaxRetries is how often a message is retried after a passing failure
	// before it goes to the dead-letter stream (default 8).
	MaxRetries int
	// CloseTimeout bounds how long stopping waits for handlers in flight.
	CloseTimeout time.Duration
	Logger       *slog.Logger
}

// Delayer appends msg to stream (a full stream key) once at has come.
type Delayer interface {
	Later(ctx context.Context, stream string, msg *message.Message, at time.Time) error
}

// NewRouter builds the Watermill router with the three handlers. Any of the
// handlers may be nil (e.g. a process that only tracks).
func NewRouter(cfg RouterConfig, fan *FanOut, send *Send, track *Track) (*message.Router, error) {
	if cfg.SendSubscribers <= 0 {
		cfg.SendSubscribers = 4
	}
	if cfg.MaxIdle <= 0 {
		cfg.MaxIdle = 2 * time.Minute
	}
	if cfg.HandlerTimeout <= 0 {
		cfg.HandlerTimeout = time.Minute
	}
	if cfg.HandlerTimeout >= cfg.MaxIdle {
		return nil, fmt.Errorf("handler timeout %s must be shorter than the claim idle time %s, or a slow job would be sent twice", cfg.HandlerTimeout, cfg.MaxIdle)
	}
	logger := watermill.NewSlogLoggerWithLevelMapping(cfg.Logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 8
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = 30 * time.Second
	}
	if cfg.Delayer == nil {
		return nil, errors.New("router: no Delayer for retries")
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, logger)
	if err != nil {
		return nil, err
	}
	poisonPub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: cfg.NewClient()}, logger)
	if err != nil {
		return nil, err
	}
	// Permanent failures go to the dead-letter stream at once; passing ones
	// are retried later (retryLater) and become permanent when the budget
	// is spent. Only a failure to schedule the retry (Redis gone) is
	// nacked, and redelivered in-process once Redis answers.
	poison, err := middleware.PoisonQueueWithFilter(poisonPub, cfg.Stream(TopicPoison), newsletter.IsPermanent)
	if err != nil {
		return nil, err
	}
	// Order matters: Timeout outside PoisonQueue, or a message that times
	// out loops forever; Recoverer innermost, so a panic is a failure
	// like any other.
	router.AddMiddleware(
		logOutcome(cfg.Logger),
		middleware.Timeout(cfg.HandlerTimeout),
		poison,
		retryLater(cfg.Delayer, cfg.MaxRetries, time.Now),
		middleware.Recoverer,
	)
	sub := func(group string, i int) (message.Subscriber, error) {
		return redisstream.NewSubscriber(redisstream.SubscriberConfig{
			Client:        cfg.NewClient(),
			Unmarshaller:  guardedUnmarshaller{},
			ConsumerGroup: group,
			Consumer:      cfg.consumerName(group, i),
			OldestId:      "0",
			// Nack re-sends in-process; keep it slow so one bad message
			// cannot spin.
			NackResendSleep: 2 * time.Second,
			BlockTime:       500 * time.Millisecond,
			// Frequent enough that handed-back jobs move on within
			// seconds; each tick is one XPENDING.
			ClaimInterval:          min(cfg.MaxIdle/4, 2*time.Second),
			MaxIdleTime:            cfg.MaxIdle,
			CheckConsumersInterval: time.Minute,
			ConsumerTimeout:        10 * time.Minute,
		}, logger)
	}
	add := func(name, group, topic string, i int, h message.NoPublishHandlerFunc, mw ...message.HandlerMiddleware) error {
		s, err := sub(group, i)
		if err != nil {
			return err
		}
		router.AddConsumerHandler(name, cfg.Stream(topic), s, h).AddMiddleware(mw...)
		return nil
	}
	if fan != nil {
		if err := add(HandlerFanOut, HandlerFanOut, TopicEditionsPublished, 0, fan.Handle); err != nil {
			return nil, err
		}
	}
	if send != nil {
		for i := range cfg.SendSubscribers {
			if err := add(fmt.Sprintf("%s-%d", HandlerSend, i), HandlerSend, TopicDeliveries, i, send.Handle, holdUntilDue(cfg.Delayer, time.Now)); err != nil {
				return nil, err
			}
		}
	}
	if track != nil {
		if err := add(HandlerTrack, HandlerTrack, TopicSESEvents, 0, track.Handle); err != nil {
			return nil, err
		}
	}
	return router, nil
}

// guardedUnmarshaller never fails: an entry without Watermill's fields
// would otherwise kill the subscription. It becomes a message whose payload
// does not decode, which the handler rejects as permanent and PoisonQueue
// keeps for inspection.
type guardedUnmarshaller struct {
	redisstream.DefaultMarshallerUnmarshaller
}

func (g guardedUnmarshaller) Unmarshal(values map[string]any) (*message.Message, error) {
	msg, err := g.DefaultMarshallerUnmarshaller.Unmarshal(values)
	if err == nil && msg != nil {
		return msg, nil
	}
	raw := fmt.Sprintf("%v", values)
	m := message.NewMessage(watermill.NewULID(), []byte("malformed stream entry: "+raw))
	m.Metadata.Set("malformed", fmt.Sprint(err))
	return m, nil
}

func logOutcome(l *slog.Logger) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			start := time.Now()
			out, err := h(msg)
			if err != nil {
				l.Error("handler failed", "handler", message.HandlerNameFromCtx(msg.Context()),
					"message_uuid", msg.UUID, "duration", time.Since(start), "err", err)
			} else {
				l.Debug("handled", "handler", message.HandlerNameFromCtx(msg.Context()),
					"message_uuid", msg.UUID, "duration", time.Since(start))
			}
			return out, err
		}
	}
}

// RetryAttemptKey is the metadata key counting a message's retries.
const RetryAttemptKey = "retry_attempt"

// retryLater turns a passing failure into a later retry: the message goes
// to d, due after an exponential backoff with jitter, and this copy is
// acknowledged, so the consumer is free for other messages at once. After
// budget retries the failure becomes permanent (the dead-letter stream).
func retryLater(d Delayer, budget int, now func() time.Time) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err == nil || newsletter.IsPermanent(err) {
				return out, err
			}
			n, _ := strconv.Atoi(msg.Metadata.Get(RetryAttemptKey))
			if n >= budget {
				return nil, newsletter.Permanent(fmt.Errorf("gave up after %d retries: %w", n, err))
			}
			again := msg.Copy()
			again.Metadata.Set(RetryAttemptKey, strconv.Itoa(n+1))
			ctx, cancel := context.WithTimeout(context.WithoutCancel(msg.Context()), 5*time.Second)
			defer cancel()
			if derr := d.Later(ctx, message.SubscribeTopicFromCtx(msg.Context()), again, now().Add(retryBackoff(n))); derr != nil {
				return nil, errors.Join(err, derr) // nacked: redelivered in-process
			}
			return out, nil
		}
	}
}

// retryBackoff is the wait before retry n+1: 1 s doubling, at most 5
// minutes, plus up to half again of jitter.
func retryBackoff(n int) time.Duration {
	d := min(time.Second<<min(n, 9), 5*time.Minute)
	return d + time.Duration(rand.Int64N(int64(d/2)+1))
}

// consumerName is the name subscriber i of group uses in this process.
func (cfg RouterConfig) consumerName(group string, i int) string {
	return fmt.Sprintf("%s-%s-%d", cfg.Consumer, group, i)
}

// handbackScript marks every entry pending for consumer ARGV[2] of group
// ARGV[1] on stream KEYS[1] idle for ARGV[3] ms (XCLAIM to itself with
// IDLE): the claim loop of any live consumer takes it on its next tick,
// in stream order, instead of after the claim idle time. Nothing is
// copied or deleted, so an entry is never doubled.
var handbackScript = redis.NewScript(`
local n, start = 0, '-'
while true do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], start, '+', 500, ARGV[2])
  if #p == 0 then break end
  for _, e in ipairs(p) do
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, e[1], 'IDLE', ARGV[3], 'JUSTID')
    n = n + 1
    start = '(' .. e[1]
  end
end
return n
`)

// HandBack makes the entries pending for this process's consumers
// claimable at once: at start (a process restarting under its stable name
// takes back what its previous run held, in its first claim pass) and
// after the router stopped (jobs read ahead but not started go to the
// other workers within a claim interval, not after the claim idle time).
// Handlers must not be running: an entry in progress would be run twice.
func HandBack(ctx context.Context, cfg RouterConfig) (int, error) {
	rdb := cfg.NewClient()
	defer rdb.Close()
	if cfg.SendSubscribers <= 0 {
		cfg.SendSubscribers = 4
	}
	if cfg.MaxIdle <= 0 {
		cfg.MaxIdle = 2 * time.Minute
	}
	type sub struct {
		topic, group string
		n            int
	}
	total := 0
	for _, s := range []sub{{TopicEditionsPublished, HandlerFanOut, 1}, {TopicDeliveries, HandlerSend, cfg.SendSubscribers}, {TopicSESEvents, HandlerTrack, 1}} {
		for i := range s.n {
			n, err := handbackScript.Run(ctx, rdb, []string{cfg.Stream(s.topic)}, s.group, cfg.consumerName(s.group, i), (cfg.MaxIdle + time.Second).Milliseconds()).Int()
			if err != nil && !redis.HasErrorPrefix(err, "NOGROUP") {
				return total, fmt.Errorf("hand back pending %s entries: %w", s.topic, err)
			}
			total += n
		}
	}
	return total, nil
}

// dueSlack is how early a job may run: waiting less is not worth a trip
// through the delayed set.
const dueSlack = 50 * time.Millisecond

// holdUntilDue parks a delivery job that is not due yet (a retry's
// backoff, a paused edition's next look) in d until its NotBefore and
// acknowledges this copy: waiting holds no consumer, so other sends go on.
func holdUntilDue(d Delayer, now func() time.Time) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			var due struct {
				NotBefore time.Time `json:"not_before"`
			}
			if json.Unmarshal(msg.Payload, &due) != nil || due.NotBefore.Sub(now()) <= dueSlack {
				return h(msg) // due, or not a job: the handler decides
			}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(msg.Context()), 5*time.Second)
			defer cancel()
			if err := d.Later(ctx, message.SubscribeTopicFromCtx(msg.Context()), msg.Copy(), due.NotBefore); err != nil {
				return nil, err
			}
			return nil, nil
		}
	}
}

package workers

import (
	"fmt"
	"log/slog"
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
	Logger         *slog.Logger
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
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, logger)
	if err != nil {
		return nil, err
	}
	poisonPub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: cfg.NewClient()}, logger)
	if err != nil {
		return nil, err
	}
	// Only permanent failures are parked; a passing one (Redis briefly
	// gone) is nacked and redelivered, so its deliveries are not stranded.
	poison, err := middleware.PoisonQueueWithFilter(poisonPub, cfg.Stream(TopicPoison), newsletter.IsPermanent)
	if err != nil {
		return nil, err
	}
	// Order matters: Timeout outside PoisonQueue, or a failing message
	// loops forever; Retry inside, for passing faults only.
	router.AddMiddleware(
		middleware.Recoverer,
		logOutcome(cfg.Logger),
		middleware.Timeout(cfg.HandlerTimeout),
		poison,
		middleware.Retry{
			MaxRetries: 4, InitialInterval: 250 * time.Millisecond, MaxInterval: 5 * time.Second, Multiplier: 2,
			ShouldRetry: func(p middleware.RetryParams) bool { return !newsletter.IsPermanent(p.Err) },
		}.Middleware,
	)
	sub := func(group string, i int) (message.Subscriber, error) {
		return redisstream.NewSubscriber(redisstream.SubscriberConfig{
			Client:        cfg.NewClient(),
			Unmarshaller:  guardedUnmarshaller{},
			ConsumerGroup: group,
			Consumer:      fmt.Sprintf("%s-%s-%d", cfg.Consumer, group, i),
			OldestId:      "0",
			// Nack re-sends in-process; keep it slow so one bad message
			// cannot spin.
			NackResendSleep:        2 * time.Second,
			BlockTime:              500 * time.Millisecond,
			ClaimInterval:          cfg.MaxIdle / 4,
			MaxIdleTime:            cfg.MaxIdle,
			CheckConsumersInterval: time.Minute,
			ConsumerTimeout:        10 * time.Minute,
		}, logger)
	}
	add := func(name, group, topic string, i int, h message.NoPublishHandlerFunc) error {
		s, err := sub(group, i)
		if err != nil {
			return err
		}
		router.AddConsumerHandler(name, cfg.Stream(topic), s, h)
		return nil
	}
	if fan != nil {
		if err := add(HandlerFanOut, HandlerFanOut, TopicEditionsPublished, 0, fan.Handle); err != nil {
			return nil, err
		}
	}
	if send != nil {
		for i := range cfg.SendSubscribers {
			if err := add(fmt.Sprintf("%s-%d", HandlerSend, i), HandlerSend, TopicDeliveries, i, send.Handle); err != nil {
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

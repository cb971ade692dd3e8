package app

import (
	"context"
	"slices"

	"newsletter"
	"newsletter/internal/redisstore"
	"newsletter/workers"
)

// DeadLetter is one message a handler gave up on.
type DeadLetter = redisstore.DeadLetter

// deadLetterTopics are the streams whose messages may be replayed.
var deadLetterTopics = []string{workers.TopicEditionsPublished, workers.TopicDeliveries, workers.TopicSESEvents}

// DeadLetters lists up to limit dead letters, newest first, older than
// before (an id from an earlier page; "" = from the newest).
func (a *App) DeadLetters(ctx context.Context, before string, limit int) ([]DeadLetter, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if before != "" {
		if _, err := a.store.GetDeadLetter(ctx, a.store.Stream(workers.TopicPoison), before); err != nil && newsletter.ErrorCode(err) == newsletter.EINVALID {
			return nil, err
		}
	}
	return a.store.DeadLetters(ctx, a.store.Stream(workers.TopicPoison), before, limit)
}

// DeadLetter returns one dead letter.
func (a *App) DeadLetter(ctx context.Context, id string) (*DeadLetter, error) {
	return a.store.GetDeadLetter(ctx, a.store.Stream(workers.TopicPoison), id)
}

// ReplayDeadLetter puts a dead letter back on its stream with a fresh retry
// budget. Replaying is safe for deliveries: a recipient already sent is not
// sent again.
func (a *App) ReplayDeadLetter(ctx context.Context, id string) (*DeadLetter, error) {
	d, err := a.DeadLetter(ctx, id)
	if err != nil {
		return nil, err
	}
	ok := func(stream string) bool {
		return slices.ContainsFunc(deadLetterTopics, func(t string) bool { return a.store.Stream(t) == stream })
	}
	if err := a.store.ReplayDeadLetter(ctx, d, ok); err != nil {
		return nil, err
	}
	a.Logger.Info("dead letter replayed", "id", id, "stream", d.Stream, "by", actorName(ctx))
	a.audit(ctx, "deadletter.replay", id, nil, map[string]string{"stream": d.Stream})
	return d, nil
}

// moveDelayed puts the retries that are due back on their streams.
func (a *App) moveDelayed(ctx context.Context) {
	for _, t := range deadLetterTopics {
		if _, err := a.store.MoveDue(ctx, a.store.Stream(t)); err != nil {
			a.Logger.Error("move due retries", "topic", t, "err", err)
		}
	}
}

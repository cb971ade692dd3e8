package app

import (
	"context"

	"newsletter/internal/sesevent"
	"newsletter/internal/webhook"
	"newsletter/workers"
)

// EventSink puts verified SES events on the ses.events stream for the track
// handler; the webhook answers 200 only after Enqueue returned.
type EventSink struct{ App *App }

var _ webhook.Sink = EventSink{}

// Seen implements webhook.Sink.
func (s EventSink) Seen(ctx context.Context, id string) (bool, error) {
	return s.App.store.Seen(ctx, id)
}

// FirstSeen implements webhook.Sink.
func (s EventSink) FirstSeen(ctx context.Context, id string) (bool, error) {
	return s.App.store.FirstSeen(ctx, id)
}

// Enqueue implements webhook.Sink.
func (s EventSink) Enqueue(ctx context.Context, ev *sesevent.Event, raw []byte) error {
	m, err := workers.NewMessage(workers.SESEvent{Event: raw})
	if err != nil {
		return err
	}
	return s.App.store.Append(ctx, workers.TopicSESEvents, m)
}

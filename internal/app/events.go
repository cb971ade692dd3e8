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

// Claim implements webhook.Sink.
func (s EventSink) Claim(ctx context.Context, id string) (webhook.Claim, error) {
	mark, err := s.App.store.ClaimSNS(ctx, id)
	switch {
	case err != nil:
		return webhook.ClaimNew, err
	case mark == "pending":
		return webhook.ClaimPending, nil
	case mark != "":
		return webhook.ClaimDone, nil
	}
	return webhook.ClaimNew, nil
}

// Done implements webhook.Sink.
func (s EventSink) Done(ctx context.Context, id string) error { return s.App.store.DoneSNS(ctx, id) }

// Release implements webhook.Sink.
func (s EventSink) Release(ctx context.Context, id string) error {
	return s.App.store.ForgetSeen(ctx, id)
}

// Enqueue implements webhook.Sink.
func (s EventSink) Enqueue(ctx context.Context, ev *sesevent.Event, raw []byte) error {
	m, err := workers.NewMessage(workers.SESEvent{Event: raw})
	if err != nil {
		return err
	}
	return s.App.store.Append(ctx, workers.TopicSESEvents, m)
}

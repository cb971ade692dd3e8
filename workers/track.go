package workers

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"newsletter"
	"newsletter/internal/redisstore"
	"newsletter/internal/sesevent"
)

// TrackRules say how SES events act on subscribers.
type TrackRules struct {
	// SuppressPermanentBounce suppresses an address on its first hard bounce.
	SuppressPermanentBounce bool
	// SoftBounceLimit suppresses after this many transient bounces within
	// SoftBounceWindow (0 = never).
	SoftBounceLimit  int
	SoftBounceWindow time.Duration
	// ComplaintUnsubscribes unsubscribes a complainer from every list and
	// suppresses the address.
	ComplaintUnsubscribes bool
}

// DefaultTrackRules are what SES expects of a sender.
var DefaultTrackRules = TrackRules{SuppressPermanentBounce: true, SoftBounceLimit: 3, SoftBounceWindow: 30 * 24 * time.Hour, ComplaintUnsubscribes: true}

// Track applies SES events to delivery states, counters and suppression.
type Track struct {
	Store  Store
	Rules  TrackRules
	Logger *slog.Logger
}

// Handle is the Watermill handler.
func (t *Track) Handle(msg *message.Message) error {
	var in SESEvent
	if err := decode(msg, &in); err != nil {
		return err
	}
	ev, err := sesevent.Parse(in.Event)
	if err != nil {
		return newsletter.Permanent(err)
	}
	return t.Apply(msg.Context(), ev)
}

// Apply acts on one parsed event. Applying the same event twice changes
// nothing more than applying it once.
func (t *Track) Apply(ctx context.Context, ev *sesevent.Event) error {
	editionID := ""
	if v := ev.Tags["edition_id"]; len(v) > 0 {
		editionID = v[0]
	}
	if editionID == "" && ev.MessageID != "" {
		id, _, err := t.Store.LookupMessageID(ctx, ev.MessageID)
		switch {
		case err == nil:
			editionID = id
		case newsletter.ErrorCode(err) != newsletter.ENOTFOUND:
			return err
		}
	}
	if k := ev.Tags["kind"]; len(k) > 0 && k[0] == "test" {
		editionID = "" // test sends are not the edition's deliveries
	}
	var to newsletter.DeliveryState
	var from []newsletter.DeliveryState
	switch ev.Kind {
	case sesevent.KindDelivery:
		to, from = newsletter.DeliveryDelivered, []newsletter.DeliveryState{newsletter.DeliverySent, newsletter.DeliveryUnknown}
	case sesevent.KindBounce:
		if ev.Permanent() {
			to, from = newsletter.DeliveryBounced, []newsletter.DeliveryState{newsletter.DeliverySent, newsletter.DeliveryDelivered, newsletter.DeliveryUnknown}
		}
	case sesevent.KindComplaint:
		to, from = newsletter.DeliveryComplained, []newsletter.DeliveryState{newsletter.DeliverySent, newsletter.DeliveryDelivered, newsletter.DeliveryUnknown, newsletter.DeliveryBounced}
	case sesevent.KindReject, sesevent.KindRenderingFailure:
		to, from = newsletter.DeliveryFailed, []newsletter.DeliveryState{newsletter.DeliverySent, newsletter.DeliveryUnknown}
	}
	for _, r := range ev.Recipients {
		if r.Email == "" {
			continue
		}
		if editionID != "" && to != "" {
			reason := ev.BounceType + " " + ev.BounceSubType + " " + r.Diagnostic
			if ev.Kind == sesevent.KindComplaint {
				reason = "complaint " + ev.ComplaintFeedbackType
			}
			if _, err := t.Store.Transition(ctx, editionID, []redisstore.Transition{{Email: r.Email, From: from, To: to, Reason: reason}}); err != nil {
				return err
			}
		}
		if err := t.act(ctx, ev, r); err != nil {
			return err
		}
	}
	t.Logger.Info("ses event applied", "kind", ev.Kind, "edition_id", editionID, "message_id", ev.MessageID, "recipients", len(ev.Recipients))
	return nil
}

func (t *Track) act(ctx context.Context, ev *sesevent.Event, r sesevent.Recipient) error {
	switch ev.Kind {
	case sesevent.KindBounce:
		detail := fmt.Sprintf("%s/%s %s (SES message %s)", ev.BounceType, ev.BounceSubType, r.Diagnostic, ev.MessageID)
		if ev.Permanent() {
			if t.Rules.SuppressPermanentBounce {
				return t.Store.Suppress(ctx, r.Email, "bounce", detail)
			}
			return nil
		}
		if t.Rules.SoftBounceLimit <= 0 {
			return nil
		}
		n, err := t.Store.NoteTransientBounce(ctx, r.Email, t.Rules.SoftBounceWindow)
		if err != nil {
			return err
		}
		if n >= int64(t.Rules.SoftBounceLimit) {
			return t.Store.Suppress(ctx, r.Email, "soft-bounces", fmt.Sprintf("%d transient bounces within %s; last: %s", n, t.Rules.SoftBounceWindow, detail))
		}
	case sesevent.KindComplaint:
		if !t.Rules.ComplaintUnsubscribes {
			return nil
		}
		if err := t.Store.Unsubscribe(ctx, r.Email, "", "complaint"); err != nil && newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
			return err
		}
		return t.Store.Suppress(ctx, r.Email, "complaint", fmt.Sprintf("%s (SES message %s)", ev.ComplaintFeedbackType, ev.MessageID))
	}
	return nil
}

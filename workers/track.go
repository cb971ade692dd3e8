package workers

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"newsletter"
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

// AccountSuppressor mirrors suppressions to the SES account-level list.
type AccountSuppressor interface {
	Put(ctx context.Context, email, reason string) error
}

// Track applies SES events to delivery states, counters and suppression.
type Track struct {
	Store  Store
	Rules  TrackRules
	Logger *slog.Logger
	// Account, when set, also suppresses at the SES account level.
	Account AccountSuppressor
	// Now is the clock (nil: time.Now); it decides whether an event is
	// fresh enough to wait for the recording of its send.
	Now func() time.Time
}

func (t *Track) now() time.Time {
	if t.Now == nil {
		return time.Now()
	}
	return t.Now()
}

func (t *Track) suppress(ctx context.Context, email, reason, detail string) error {
	if err := t.Store.Suppress(ctx, email, reason, detail); err != nil {
		return err
	}
	if t.Account != nil {
		if err := t.Account.Put(ctx, email, reason); err != nil {
			// Not fatal: our own list already refuses the address.
			t.Logger.Warn("SES account suppression sync failed", "err", err)
		}
	}
	return nil
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
		id, _, err := t.Store.LookupMessageID(ctx, ev.MessageID, recipientEmails(ev))
		switch {
		case err == nil:
			editionID = id
		case newsletter.ErrorCode(err) != newsletter.ENOTFOUND:
			return err
		case !ev.Timestamp.IsZero() && t.now().Sub(ev.Timestamp) < 2*time.Minute:
			// A fresh event can overtake the recording of its send: let
			// the router retry shortly rather than lose the state change.
			// Older unknown ids are not ours (another sender on the account).
			return fmt.Errorf("SES message %s is not indexed yet", ev.MessageID)
		}
	}
	if k := ev.Tags["kind"]; len(k) > 0 && k[0] == "test" {
		editionID = "" // test sends are not the edition's deliveries
	}
	var to newsletter.DeliveryState
	var from []newsletter.DeliveryState
	// "sending" is included: an event can arrive before the send step has
	// recorded the chunk it belongs to.
	const (
		sending   = newsletter.DeliverySending
		sent      = newsletter.DeliverySent
		delivered = newsletter.DeliveryDelivered
		unknown   = newsletter.DeliveryUnknown
	)
	switch ev.Kind {
	case sesevent.KindDelivery:
		to, from = delivered, []newsletter.DeliveryState{sending, sent, unknown}
	case sesevent.KindBounce:
		if ev.Permanent() {
			to, from = newsletter.DeliveryBounced, []newsletter.DeliveryState{sending, sent, delivered, unknown}
		}
	case sesevent.KindComplaint:
		to, from = newsletter.DeliveryComplained, []newsletter.DeliveryState{sending, sent, delivered, unknown, newsletter.DeliveryBounced}
	case sesevent.KindReject, sesevent.KindRenderingFailure:
		to, from = newsletter.DeliveryFailed, []newsletter.DeliveryState{sending, sent, unknown}
	case sesevent.KindSend:
		// SES accepted the email: this settles a send whose reply was
		// lost, or whose worker stopped during the call.
		to, from = sent, []newsletter.DeliveryState{sending, unknown}
	}
	if ev.Kind == sesevent.KindSend && editionID != "" {
		if err := t.indexSend(ctx, editionID, ev); err != nil {
			return err
		}
	}
	for _, r := range ev.Recipients {
		if r.Email == "" {
			continue
		}
		// Suppress and unsubscribe first: once the status shows a bounce or
		// complaint, the address is already protected.
		if err := t.act(ctx, ev, r); err != nil {
			return err
		}
		if editionID != "" && to != "" && forRecipient(ev, r.Email) {
			if err := t.transition(ctx, editionID, ev, r, from, to); err != nil {
				return err
			}
		}
	}
	t.Logger.Info("ses event applied", "kind", ev.Kind, "edition_id", editionID, "message_id", ev.MessageID, "recipients", len(ev.Recipients))
	return nil
}

// recipientEmails are the addresses ev is about.
func recipientEmails(ev *sesevent.Event) []string {
	out := make([]string, 0, len(ev.Recipients))
	for _, r := range ev.Recipients {
		if r.Email != "" {
			out = append(out, r.Email)
		}
	}
	return out
}

func (t *Track) act(ctx context.Context, ev *sesevent.Event, r sesevent.Recipient) error {
	switch ev.Kind {
	case sesevent.KindBounce:
		detail := fmt.Sprintf("%s/%s %s (SES message %s)", ev.BounceType, ev.BounceSubType, r.Diagnostic, ev.MessageID)
		if ev.Permanent() {
			if t.Rules.SuppressPermanentBounce {
				return t.suppress(ctx, r.Email, "bounce", detail)
			}
			return nil
		}
		if t.Rules.SoftBounceLimit <= 0 {
			return nil
		}
		n, err := t.Store.NoteTransientBounce(ctx, r.Email, bounceID(ev), t.Rules.SoftBounceWindow)
		if err != nil {
			return err
		}
		if n >= int64(t.Rules.SoftBounceLimit) {
			return t.suppress(ctx, r.Email, "soft-bounces", fmt.Sprintf("%d transient bounces within %s; last: %s", n, t.Rules.SoftBounceWindow, detail))
		}
	case sesevent.KindComplaint:
		if !t.Rules.ComplaintUnsubscribes {
			return nil
		}
		if err := t.Store.Unsubscribe(ctx, r.Email, "", "complaint"); err != nil && newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
			return err
		}
		return t.suppress(ctx, r.Email, "complaint", fmt.Sprintf("%s (SES message %s)", ev.ComplaintFeedbackType, ev.MessageID))
	}
	return nil
}

// bounceID names one bounce notice: SES's feedbackId, or, for a notice
// without one, the bounced message and the bounce's time.
func bounceID(ev *sesevent.Event) string {
	if ev.FeedbackID != "" {
		return ev.FeedbackID
	}
	return ev.MessageID + "@" + ev.Timestamp.UTC().Format(time.RFC3339Nano)
}

// TagRecipient is the SES message tag that names the recipient an email
// was for, as RecipientTag(address): tags allow no "@", and SES copies
// tags into every event of the email.
const TagRecipient = "recipient"

// forRecipient reports whether the event may change email's delivery: when
// the email carries a recipient tag it must be email's.
func forRecipient(ev *sesevent.Event, email string) bool {
	v := ev.Tags[TagRecipient]
	return len(v) == 0 || v[0] == RecipientTag(email)
}

func (t *Track) transition(ctx context.Context, editionID string, ev *sesevent.Event, r sesevent.Recipient, from []newsletter.DeliveryState, to newsletter.DeliveryState) error {
	reason := ev.BounceType + " " + ev.BounceSubType + " " + r.Diagnostic
	mid := ""
	switch ev.Kind {
	case sesevent.KindComplaint:
		reason = "complaint " + ev.ComplaintFeedbackType
	case sesevent.KindRenderingFailure:
		reason = "SES could not render the email: " + ev.Detail
	case sesevent.KindReject:
		reason = "SES rejected the email: " + ev.Detail
	case sesevent.KindSend:
		reason, mid = "", ev.MessageID
	}
	res, err := t.Store.Transition(ctx, editionID, []newsletter.Transition{{Email: r.Email, From: from, To: to, Reason: reason, MessageID: mid}})
	if err != nil {
		return err
	}
	if len(res) == 1 && res[0].Done && res[0].Current == newsletter.DeliveryUnknown {
		t.Logger.Info("unknown delivery settled by an SES event", "edition_id", editionID, "kind", ev.Kind,
			"message_id", ev.MessageID, "address_hash", RecipientTag(r.Email)[:12], "state", to)
		return t.Store.NoteUnknownResolved(ctx, editionID, 1)
	}
	return nil
}

// indexSend remembers the message id of a Send event, so the email's later
// events are matched even where its send was never recorded.
func (t *Track) indexSend(ctx context.Context, editionID string, ev *sesevent.Event) error {
	ids := map[string]string{}
	for _, r := range ev.Recipients {
		if r.Email != "" && forRecipient(ev, r.Email) {
			ids[r.Email] = ev.MessageID
		}
	}
	return t.Store.IndexMessageIDs(ctx, editionID, ids)
}

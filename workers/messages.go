package workers

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"newsletter"
)

// Topics are stable, versioned stream names (the store adds its key prefix).
const (
	TopicEditionsPublished = "newsletter.editions.published.v1"
	TopicDeliveries        = "newsletter.deliveries.v1"
	TopicSESEvents         = "newsletter.ses.events.v1"
	TopicPoison            = "newsletter.poison.v1"
)

// Handler names double as consumer-group names.
const (
	HandlerFanOut = "fanout"
	HandlerSend   = "send"
	HandlerTrack  = "track"
)

// EditionPublished asks the fan-out to create the deliveries of an edition
// for the given lists.
type EditionPublished struct {
	EditionID string    `json:"edition_id"`
	Lists     []string  `json:"lists"`
	Hash      string    `json:"hash"`
	At        time.Time `json:"at"`
}

// DeliveryJob asks the send step to mail one chunk of recipients of an
// edition. The state machine stays per recipient.
type DeliveryJob struct {
	EditionID  string    `json:"edition_id"`
	Recipients []string  `json:"recipients"`
	Attempt    int       `json:"attempt,omitempty"`
	NotBefore  time.Time `json:"not_before,omitzero"`
	// Test jobs go to the given addresses only and are not counted as the
	// edition's send.
	Test bool `json:"test,omitempty"`
	// Kind is "" for edition deliveries, JobConfirm for double opt-in
	// confirmation emails (List names the list; EditionID is empty).
	Kind string `json:"kind,omitempty"`
	List string `json:"list,omitempty"`
}

// Kinds of service-email jobs.
const (
	// JobConfirm is a double opt-in confirmation (List names the list).
	JobConfirm = "confirm"
	// JobPreferencesLink mails a fresh preferences link.
	JobPreferencesLink = "preferences-link"
)

// SESEvent carries one SES notification (the SNS Message) as received.
type SESEvent struct {
	Event json.RawMessage `json:"event"`
}

// NewMessage marshals payload into a Watermill message.
func NewMessage(payload any) (*message.Message, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return message.NewMessage(watermill.NewULID(), b), nil
}

func decode(msg *message.Message, v any) error {
	if err := json.Unmarshal(msg.Payload, v); err != nil {
		return newsletter.Permanent(newsletter.Errorf(newsletter.EINVALID,
			"message %s is not a valid payload (%v): it was moved to the poison stream", msg.UUID, err))
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

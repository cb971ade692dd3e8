package workers

import (
	"context"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"newsletter"
)

// Store is what the handlers need from storage.
type Store interface {
	GetEdition(ctx context.Context, id string) (*newsletter.Edition, error)
	UpdateEdition(ctx context.Context, id string, fn func(e *newsletter.Edition) error) (*newsletter.Edition, error)
	ScanMembersFrom(ctx context.Context, list string, cursor uint64, batch int, fn func(emails []string, next uint64) error) error
	Deliverable(ctx context.Context, emails []string) ([]newsletter.Recipient, error)
	Transition(ctx context.Context, id string, ts []newsletter.Transition) ([]newsletter.TransitionResult, error)
	Create(ctx context.Context, id string, ts []newsletter.Transition) ([]newsletter.TransitionResult, error)
	// Claim's lists are the edition's: an address on none of them any more
	// is not deliverable. names says whether the claims need the
	// recipients' names (a greeting with the name).
	Claim(ctx context.Context, id string, lists []string, names bool, owner string, lease time.Duration, emails []string) ([]newsletter.Claim, error)
	Record(ctx context.Context, id string, outs []newsletter.SendOutcome) ([]newsletter.TransitionResult, error)
	IndexMessageIDs(ctx context.Context, id string, emailToMsgID map[string]string) error
	LookupMessageID(ctx context.Context, messageID string, emails []string) (edition, email string, err error)
	RecordTestSend(ctx context.Context, id, email, messageID string) error
	Append(ctx context.Context, topic string, msgs ...*message.Message) error
	Suppress(ctx context.Context, email, reason, detail string) error
	Unsubscribe(ctx context.Context, email, list, reason string) error
	NoteTransientBounce(ctx context.Context, email, bounceID string, window time.Duration) (int64, error)
	MarkOnce(ctx context.Context, key string, ttl time.Duration) (bool, error)
	GetMark(ctx context.Context, key string) (string, error)
	SetMark(ctx context.Context, key, value string, ttl time.Duration) error
	Counts(ctx context.Context, id string) (map[string]int64, error)
	NoteUnknownResolved(ctx context.Context, id string, n int64) error
	GetSubscriber(ctx context.Context, email string) (*newsletter.Subscriber, map[string]newsletter.MembershipStatus, error)
}

package newsletter

import "time"

// List is a partner list, e.g. one per cluster plus a general list.
type List struct {
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	DoubleOptIn bool   `json:"double_opt_in"`
	// Public lists are offered on the preferences page and the subscribe
	// form; the others (internal, per-event) only to their members.
	Public    bool      `json:"public"`
	CreatedAt time.Time `json:"created_at"`
	DeletedAt time.Time `json:"deleted_at,omitzero"`
}

// SubscriberStatus is a subscriber's global status.
type SubscriberStatus string

const (
	SubscriberActive       SubscriberStatus = "active"
	SubscriberUnsubscribed SubscriberStatus = "unsubscribed"
	SubscriberBlocklisted  SubscriberStatus = "blocklisted"
)

// MembershipStatus is a subscriber's status on one list.
type MembershipStatus string

const (
	MemberSubscribed   MembershipStatus = "subscribed"
	MemberUnconfirmed  MembershipStatus = "unconfirmed"
	MemberUnsubscribed MembershipStatus = "unsubscribed"
)

// Subscriber is one partner address. Email is always normalised
// (see internal/address).
type Subscriber struct {
	Email        string            `json:"email"`
	Name         string            `json:"name,omitempty"`
	Organisation string            `json:"organisation,omitempty"`
	Attributes   map[string]string `json:"attributes,omitempty"`
	Status       SubscriberStatus  `json:"status"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
}

// EditionState is where an edition is in its life.
type EditionState string

const (
	EditionDraft     EditionState = "draft"
	EditionScheduled EditionState = "scheduled"
	EditionPublished EditionState = "published" // frozen, fan-out queued or running
	EditionSending   EditionState = "sending"   // fan-out done, deliveries in flight
	EditionSent      EditionState = "sent"      // every delivery reached a final state
	EditionCancelled EditionState = "cancelled"
	// EditionPaused is shown while an editor has paused the sending of a
	// published edition (PausedAt is set; State keeps where it was).
	EditionPaused EditionState = "paused"
	// EditionUnresolved is shown instead of "sent" while some deliveries'
	// outcomes are unknown (a worker stopped during the SES call, or the
	// reply was lost) and no SES Send event has settled them yet.
	EditionUnresolved EditionState = "unresolved"
)

// Edition is one issue of a newsletter. Body is CommonMark; plain-text
// editions are converted to it on import. Greeting and the sign-off fields
// are kept apart from the body so the email can place them itself.
type Edition struct {
	ID           string       `json:"id"`
	Subject      string       `json:"subject"`
	Preheader    string       `json:"preheader,omitempty"`
	Language     string       `json:"language"` // "nl" or "en"
	Title        string       `json:"title,omitempty"`
	Greeting     string       `json:"greeting,omitempty"` // e.g. "Beste partners en vrienden van het Leerwerkakkoord,"
	Body         string       `json:"body"`
	SignOff      string       `json:"sign_off,omitempty"` // e.g. "Met vriendelijke groet,"
	Author       string       `json:"author,omitempty"`
	AuthorRole   string       `json:"author_role,omitempty"`
	HeroImageURL string       `json:"hero_image_url,omitempty"`
	HeroImageAlt string       `json:"hero_image_alt,omitempty"`
	CTAText      string       `json:"cta_text,omitempty"`
	CTAURL       string       `json:"cta_url,omitempty"`
	Format       string       `json:"format"` // "markdown" or "text": what the editor supplied
	Source       string       `json:"source,omitempty"`
	State        EditionState `json:"state"`
	Hash         string       `json:"hash,omitempty"` // content hash, set when frozen
	Lists        []string     `json:"lists,omitempty"`
	CreatedAt    time.Time    `json:"created_at"`
	PublishedAt  time.Time    `json:"published_at,omitzero"`
	ScheduledAt  time.Time    `json:"scheduled_at,omitzero"`
	// PausedAt is when an editor paused the sending; zero when not paused.
	PausedAt time.Time `json:"paused_at,omitzero"`
}

// DeliveryState is the state of one email to one recipient.
type DeliveryState string

const (
	DeliveryQueued     DeliveryState = "queued"
	DeliverySending    DeliveryState = "sending"
	DeliverySent       DeliveryState = "sent"
	DeliveryDelivered  DeliveryState = "delivered"
	DeliveryBounced    DeliveryState = "bounced"
	DeliveryComplained DeliveryState = "complained"
	DeliverySkipped    DeliveryState = "skipped"
	DeliveryFailed     DeliveryState = "failed"
	DeliveryUnknown    DeliveryState = "unknown"
)

// DeliveryStates lists every state, in the order reports show them.
var DeliveryStates = []DeliveryState{
	DeliveryQueued, DeliverySending, DeliverySent, DeliveryDelivered,
	DeliveryBounced, DeliveryComplained, DeliverySkipped, DeliveryFailed, DeliveryUnknown,
}

// Delivery is one email of one edition to one recipient.
type Delivery struct {
	EditionID string        `json:"edition_id"`
	Email     string        `json:"email"`
	State     DeliveryState `json:"state"`
	MessageID string        `json:"message_id,omitempty"` // SES MessageId
	Reason    string        `json:"reason,omitempty"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// Suppression is an address that must not be mailed, and why.
type Suppression struct {
	Email     string    `json:"email"`
	Reason    string    `json:"reason"` // "bounce", "complaint", "manual", ...
	Detail    string    `json:"detail,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

package newsletter

import "time"

// Email is one outgoing message, ready for the provider.
type Email struct {
	From, To, Subject string
	HTML, Text        []byte
	Headers           [][2]string
	Tags              map[string]string
}

// Transition is one requested delivery state change.
type Transition struct {
	Email     string
	From      []DeliveryState // empty: only when there is no delivery yet
	To        DeliveryState
	MessageID string
	Reason    string
	// List attributes a new delivery to the list it came from (for per-list
	// reports); ignored for existing deliveries.
	List string
}

// TransitionResult says whether a transition happened and from which state,
// or, if not, what the current state is.
type TransitionResult struct {
	Done    bool
	Current DeliveryState // previous state when Done, else current ("" = none)
}

// Recipient is what the pipeline needs to know about one address right
// before mailing it.
type Recipient struct {
	Name string
	// Hash is address.Hash of the address, as the re-check computed it
	// (the erased set holds hashes), for whoever needs it next.
	Hash string
	// Why is "" when the address may be mailed now, else the reason it
	// must not be: unsubscribed, blocklisted, suppressed, not a subscriber.
	Why string
}

// DeliveryRow is one line of an edition's recipient ledger: one recipient,
// the state of the email to them, why, the SES message id once SES accepted
// it, and when the state last changed.
type DeliveryRow struct {
	Email     string        `json:"email"`
	State     DeliveryState `json:"state"`
	Reason    string        `json:"reason,omitempty"`
	MessageID string        `json:"message_id,omitempty"`
	UpdatedAt time.Time     `json:"updated_at,omitzero"`
}

// Claim is what claiming one recipient for an SES call found: claimed
// (queued → sending, now owned by the caller), or the state it was in, with
// the owner and lease of someone else's claim when that state is sending.
// Recipient is the re-check of the address made in the same round trip.
type Claim struct {
	Claimed    bool
	Current    DeliveryState
	Owner      string
	LeaseUntil time.Time
	// List is the list a claimed delivery is attributed to ("" for none),
	// for its outcome to carry (SendOutcome.List).
	List string
	Recipient
}

// SendOutcome is the result of one claimed delivery, recorded from "sending"
// (or "unknown": the caller that made the SES call knows better).
type SendOutcome struct {
	Email     string
	To        DeliveryState
	MessageID string
	Reason    string
	// List is the delivery's list as its claim read it (Claim.List), so
	// that recording need not read it again; "" has it read.
	List string
}

// BulkEmail is one SendBulkEmail call: the edition as an SES template
// (Subject, HTML, Text with {{variables}}; SES fills them without escaping
// anything), and per recipient the variables' values, headers and tags.
type BulkEmail struct {
	From                string
	Subject, HTML, Text string
	Headers             [][2]string // every entry's, unless an entry has its own of that name
	Entries             []BulkEntry
}

// BulkEntry is one destination of a BulkEmail.
type BulkEntry struct {
	To      string
	Data    []byte // JSON object of the template variables
	Headers [][2]string
	Tags    map[string]string
}

// BulkResult is the outcome of one BulkEntry: a message id, or an error
// classified like a single send's (IsPermanent, ErrUnknownOutcome,
// ErrDailyQuota, else passing).
type BulkResult struct {
	MessageID string
	Err       error
}

// ErrDailyQuota means the account's 24-hour sending quota is used up:
// sending pauses until quota frees; the delivery is retried then without
// counting an attempt.
var ErrDailyQuota = &Error{Code: EUNAVAILABLE, Message: "the SES account's daily sending quota is used up"}

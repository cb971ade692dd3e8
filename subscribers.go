package newsletter

// SubscriberInput is one subscriber to add or update. Email must already be
// normalised (internal/address).
type SubscriberInput struct {
	Email        string
	Name         string
	Organisation string
	Attributes   map[string]string
}

// ImportMode says what an import may change.
type ImportMode string

const (
	// ImportAdd adds new subscribers and memberships but never changes an
	// existing subscriber's data.
	ImportAdd ImportMode = "add"
	// ImportUpdate also updates names, organisations and attributes.
	ImportUpdate ImportMode = "update"
)

// ImportOptions steer ImportBatch.
type ImportOptions struct {
	List string
	Mode ImportMode
	// Override re-subscribes addresses that unsubscribed, complained,
	// bounced or were erased. Only an admin's explicit choice sets it.
	Override bool
	// DoubleOptIn makes new memberships unconfirmed: the address is not a
	// member (never mailed) until it follows the confirmation link.
	DoubleOptIn bool
}

// Outcome of one imported row.
type Outcome string

const (
	OutcomeImported  Outcome = "imported"
	OutcomeUpdated   Outcome = "updated"
	OutcomeUnchanged Outcome = "unchanged"
	OutcomeRejected  Outcome = "rejected"
)

// RowResult is the outcome for one input, with the reason when rejected.
type RowResult struct {
	Outcome Outcome
	Reason  string
	// Confirm is set when the row created an unconfirmed membership: the
	// caller asks the address to confirm by email.
	Confirm bool
}

// SubscriberCounts are the store-wide counts of `subscribers counts`.
type SubscriberCounts struct {
	Total        int64 `json:"total"`
	Active       int64 `json:"active"`
	Unsubscribed int64 `json:"unsubscribed"`
	Blocklisted  int64 `json:"blocklisted"`
	Suppressed   int64 `json:"suppressed"`
	Erased       int64 `json:"erased"`
}

// SubscriberUpdate changes a subscriber; nil fields stay. An attribute
// with an empty value is removed.
type SubscriberUpdate struct {
	Name         *string
	Organisation *string
	Attributes   map[string]string
	// Status may set active or unsubscribed; blocklisting goes through Block.
	Status *SubscriberStatus
}

// SearchResult is one page of a search.
type SearchResult struct {
	Subscribers []SearchHit `json:"subscribers"`
	// NextCursor continues the search; "" means the end was reached.
	NextCursor string `json:"next_cursor"`
}

// SearchHit is one found subscriber with its memberships.
type SearchHit struct {
	*Subscriber
	Lists map[string]MembershipStatus `json:"lists"`
}

// ListInfo is a list with its member counts.
type ListInfo struct {
	List
	// Members is the number of subscribed members (kept for scripts that
	// read it); Counts splits memberships by status.
	Members int64            `json:"members"`
	Counts  MembershipCounts `json:"counts"`
}

// MembershipCounts counts one list's memberships per status. Subscribed
// is who would really be mailed; NotMailed are subscribed to the list but
// unsubscribed from everything, blocklisted or suppressed.
type MembershipCounts struct {
	Subscribed   int64 `json:"subscribed"`
	NotMailed    int64 `json:"not_mailed"`
	Unconfirmed  int64 `json:"unconfirmed"`
	Unsubscribed int64 `json:"unsubscribed"`
}

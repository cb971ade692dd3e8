package newsletter

import (
	"encoding/json"
	"time"
)

// AuditEntry is one change made by a person (or an automation token): who,
// what, when, and where cheap the state before and after.
type AuditEntry struct {
	ID     string    `json:"id"` // the entry's position in the log; a cursor
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"` // the account's email, or the token that stands in for one
	Role   Role      `json:"role"`
	Action string    `json:"action"` // e.g. "list.create", "edition.publish", "account.set_role"
	// Target is what the change is about: an address, a list slug, an
	// edition id, an account's email.
	Target string          `json:"target"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// AuditFilter narrows the audit log; empty fields match everything.
// Action matches a whole action ("list.create") or a family ("list.").
type AuditFilter struct {
	Actor, Action, Target string
}

// AuditPage is one page of the audit log, newest first. Next, when not
// empty, is the cursor of the following page.
type AuditPage struct {
	Entries []AuditEntry `json:"entries"`
	Next    string       `json:"next,omitempty"`
}

// APIToken is one of an account's API tokens as listed: its name, never
// its value (only a hash is stored).
type APIToken struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

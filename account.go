package newsletter

import "time"

// Role is what an account may do. Roles are ordered: an admin may do
// everything an editor may, an editor everything a viewer may.
type Role string

// The roles.
const (
	RoleViewer Role = "viewer" // reads editions, lists and figures; no personal data exports
	RoleEditor Role = "editor" // writes, tests, publishes and controls editions; no subscriber personal data
	RoleAdmin  Role = "admin"  // everything, including subscribers, erasure and accounts
)

// Roles lists every role, least first.
var Roles = []Role{RoleViewer, RoleEditor, RoleAdmin}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() > 0 }

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Permission is one kind of action a route or a use case needs.
type Permission int

// The permissions. Every non-public route declares exactly one.
const (
	// PermRead: see editions, lists, counts, figures and the dashboard.
	PermRead Permission = iota + 1
	// PermEditions: create, edit, preview, test, publish, schedule, pause,
	// resume and cancel editions.
	PermEditions
	// PermSubscribers: see and change subscribers' personal data, lists,
	// imports, exports, suppressions, erasure.
	PermSubscribers
	// PermAccounts: manage accounts and read the audit log.
	PermAccounts
)

// Can reports whether r has permission p.
func (r Role) Can(p Permission) bool {
	switch p {
	case PermRead:
		return r.rank() >= 1
	case PermEditions:
		return r.rank() >= 2
	case PermSubscribers, PermAccounts:
		return r.rank() >= 3
	}
	return false
}

// Account is a person (or an automation) who may sign in to the admin
// side. Lang is the language of the pages ("nl" or "en").
type Account struct {
	Email     string    `json:"email"`
	Role      Role      `json:"role"`
	Lang      string    `json:"lang"`
	CreatedAt time.Time `json:"created_at"`
}

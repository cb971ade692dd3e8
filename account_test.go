package newsletter

import "testing"

func TestRoleCan(t *testing.T) {
	want := map[Role][]Permission{
		RoleViewer: {PermRead},
		RoleEditor: {PermRead, PermEditions},
		RoleAdmin:  {PermRead, PermEditions, PermSubscribers, PermAccounts},
		"":         nil,
		"root":     nil,
	}
	all := []Permission{PermRead, PermEditions, PermSubscribers, PermAccounts}
	for r, perms := range want {
		for _, p := range all {
			has := false
			for _, q := range perms {
				has = has || q == p
			}
			if r.Can(p) != has {
				t.Errorf("%q.Can(%d) = %v, want %v", r, p, !has, has)
			}
		}
		if r.Valid() != (perms != nil) {
			t.Errorf("%q.Valid() = %v", r, r.Valid())
		}
	}
}

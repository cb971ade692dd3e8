package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/password"
)

var editor = newsletter.Account{Email: "schrijver@example.org", Role: newsletter.RoleEditor}

// Use cases record the changes made through a context with an actor,
// and nothing for the workers' and public pages' contexts.
func TestAuditRecordsPeople(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	a.Now = func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) }
	ctx := context.Background()
	as := app.WithActor(ctx, newsletter.Account{Email: "baas@example.org", Role: newsletter.RoleAdmin})
	if _, err := a.CreateList(as, newsletter.List{Slug: "bedrijven", Name: "Bedrijven"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateList(ctx, newsletter.List{Slug: "stil", Name: "Zonder actor"}); err != nil {
		t.Fatal(err)
	}
	name := "Partners"
	if _, err := a.UpdateList(as, "bedrijven", app.ListChange{Name: &name}); err != nil {
		t.Fatal(err)
	}
	// A failed change is not recorded.
	if _, err := a.UpdateList(as, "bestaat-niet", app.ListChange{Name: &name}); err == nil {
		t.Fatal("updating a missing list worked")
	}
	if _, err := a.Suppress(as, "Jan@Example.org", "asked by phone"); err != nil {
		t.Fatal(err)
	}
	if err := a.Unsubscribe(ctx, "jan@example.org", "one-click"); err != nil {
		t.Fatal(err)
	}
	page, err := a.AuditLog(ctx, newsletter.AuditFilter{}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Entries {
		got = append(got, fmt.Sprintf("%s %s %s %s %s", e.Actor, e.Role, e.Action, e.Target, e.After))
		if e.At.IsZero() || e.ID == "" {
			t.Errorf("entry without time or id: %+v", e)
		}
	}
	want := []string{
		`baas@example.org admin suppression.add jan@example.org {"reason":"asked by phone"}`,
		`baas@example.org admin list.update bedrijven {"name":"Partners","description":null,"double_opt_in":null,"public":null}`,
		`baas@example.org admin list.create bedrijven {"slug":"bedrijven","name":"Bedrijven","double_opt_in":false,"public":false,"created_at":"2026-12-01T09:00:00Z"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAuditPagesAndFilters(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := app.WithActor(context.Background(), editor)
	other := app.WithActor(context.Background(), newsletter.Account{Email: "baas@example.org", Role: newsletter.RoleAdmin})
	for i := range 25 {
		c := ctx
		if i%5 == 0 {
			c = other
		}
		if _, err := a.CreateList(c, newsletter.List{Slug: fmt.Sprintf("lijst-%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.DeleteList(ctx, "lijst-03"); err != nil {
		t.Fatal(err)
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := a.AuditLog(context.Background(), newsletter.AuditFilter{Actor: editor.Email, Action: "list."}, 7, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			if e.Actor != editor.Email {
				t.Errorf("filter by actor let through %+v", e)
			}
			seen = append(seen, e.Action+" "+e.Target)
		}
		if p.Next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("the pages do not end")
		}
		cursor = p.Next
	}
	if len(seen) != 21 || seen[0] != "list.delete lijst-03" || seen[20] != "list.create lijst-01" {
		t.Errorf("%d entries by the editor, first %q last %q; want 21, the delete first", len(seen), seen[0], seen[len(seen)-1])
	}
	p, err := a.AuditLog(context.Background(), newsletter.AuditFilter{Action: "list.delete"}, 50, "")
	if err != nil || len(p.Entries) != 1 || p.Entries[0].Target != "lijst-03" {
		t.Errorf("filter by action: %+v %v", p, err)
	}
	p, err = a.AuditLog(context.Background(), newsletter.AuditFilter{Target: "lijst-10"}, 50, "")
	if err != nil || len(p.Entries) != 1 || p.Entries[0].Actor != "baas@example.org" {
		t.Errorf("filter by target: %+v %v", p, err)
	}
	for _, c := range []string{"nope", "1-", "-1", "12-3-4", "abc-1"} {
		if _, err := a.AuditLog(context.Background(), newsletter.AuditFilter{}, 10, c); newsletter.ErrorCode(err) != newsletter.EINVALID {
			t.Errorf("cursor %q: %v, want EINVALID", c, err)
		}
	}
	if _, err := a.AuditLog(context.Background(), newsletter.AuditFilter{}, 5000, ""); newsletter.ErrorCode(err) != newsletter.EINVALID {
		t.Errorf("limit 5000: %v", err)
	}
	hist, err := a.AuditFor(context.Background(), "lijst-03", 10)
	if err != nil || len(hist) != 2 || hist[0].Action != "list.delete" || hist[1].Action != "list.create" {
		t.Errorf("history of lijst-03: %+v %v", hist, err)
	}
}

func TestAccountBadInput(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	a.PasswordParams = &password.Params{Memory: 64, Time: 1, Threads: 1}
	ctx := context.Background()
	const pw = "paard batterij nietje"
	for _, c := range []struct {
		email, role, pw, want string
	}{
		{"a@example.org", "admin", "kort", "too short"},
		{"a@example.org", "admin", strings.Repeat("x", 2000), "too long"},
		{"a@example.org", "admin", pw + "\n", "line break"},
		{"a@example.org", "Admin", pw, "role \"Admin\" is unknown"},
		{"a@example.org", "", pw, "role \"\" is unknown"},
		{"niet-een-adres", "admin", pw, "account email"},
	} {
		_, err := a.AddAccount(ctx, c.email, newsletter.Role(c.role), c.pw)
		if newsletter.ErrorCode(err) != newsletter.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("AddAccount(%q, %q, %d chars): %v, want an error about %q", c.email, c.role, len(c.pw), err, c.want)
		}
	}
	if accts, err := a.Accounts(ctx); err != nil || len(accts) != 0 {
		t.Fatalf("refused accounts were stored: %+v %v", accts, err)
	}
	if _, err := a.AddAccount(ctx, "a@example.org", newsletter.RoleAdmin, pw); err != nil {
		t.Fatal(err)
	}
	if err := a.SetLang(ctx, "a@example.org", "de"); newsletter.ErrorCode(err) != newsletter.EINVALID {
		t.Errorf("SetLang de: %v", err)
	}
	if err := a.SetLang(ctx, "b@example.org", "en"); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("SetLang on a missing account: %v", err)
	}
	// The address is normalised: signing in with other case works.
	a.Now = func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) }
	s, err := a.Login(ctx, " A@Example.ORG ", pw, "192.0.2.1")
	if err != nil || s.Account.Email != "a@example.org" || s.ID == "" || s.CSRF == "" || s.ID == s.CSRF {
		t.Fatalf("Login: %+v %v", s, err)
	}
	for _, bad := range []string{"", "x", s.ID + "x", strings.Repeat("a", 500)} {
		if _, err := a.SessionFor(ctx, bad); err != app.ErrNoSession {
			t.Errorf("SessionFor(%.10q...): %v", bad, err)
		}
	}
	for _, bad := range []string{"", "nlt_", "nlt_x", "Bearer nlt_x", s.ID} {
		if _, err := a.AuthenticateToken(ctx, bad); err != app.ErrBadToken {
			t.Errorf("AuthenticateToken(%q): %v", bad, err)
		}
	}
}

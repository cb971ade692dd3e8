package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/cli"
	"newsletter/internal/redistest"
)

// in runs a command with stdin as its standard input.
func (r *run) in(stdin string, args ...string) (stdout, stderr string, err error) {
	r.t.Helper()
	var o, e bytes.Buffer
	err = cli.Run(context.Background(), args, cli.Env{Stdout: &o, Stderr: &e, Stdin: strings.NewReader(stdin), DevDir: filepath.Join(r.dir, "dev-data")})
	return o.String(), e.String(), err
}

type usersJSON struct {
	Users []struct {
		Email, Role, Lang string
		Tokens            []struct{ Name string }
	}
}

func (r *run) users() usersJSON {
	r.t.Helper()
	var u usersJSON
	if err := json.Unmarshal([]byte(r.ok("users", "ls", "--json")), &u); err != nil {
		r.t.Fatal(err)
	}
	return u
}

const goodPassword = "paard batterij nietje"

func TestUsersAdd(t *testing.T) {
	r := newRun(t)
	// echo's line break is not part of the password.
	out, _, err := r.in(goodPassword+"\n", "users", "add", "Beheer@Example.org", "--role", "admin", "--password-stdin")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "added admin account beheer@example.org") {
		t.Errorf("output %q", out)
	}
	u := r.users()
	if len(u.Users) != 1 || u.Users[0].Email != "beheer@example.org" || u.Users[0].Role != "admin" || u.Users[0].Lang != "nl" {
		t.Fatalf("users ls: %+v", u)
	}
	if strings.Contains(r.ok("users", "ls", "--json"), goodPassword) {
		t.Error("users ls shows the password")
	}
	if !strings.Contains(r.ok("users", "ls"), "beheer@example.org") {
		t.Error("users ls (table) does not list the account")
	}
}

func (r *run) addFails(want, stdin string, args ...string) {
	r.t.Helper()
	_, _, err := r.in(stdin, args...)
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		r.t.Errorf("newsletter %s: error %v, want one line about %q", strings.Join(args, " "), err, want)
	}
}

func TestUsersAddBadInput(t *testing.T) {
	r := newRun(t)
	add := func(email, role string) []string {
		return []string{"users", "add", email, "--role", role, "--password-stdin"}
	}
	r.addFails("too short", "kort\n", add("a@example.org", "admin")...)
	r.addFails("standard input was empty", "", add("a@example.org", "admin")...)
	r.addFails("starts or ends with a space", " "+goodPassword, add("a@example.org", "admin")...)
	r.addFails(`role "baas" is unknown: use admin, editor or viewer`, goodPassword, add("a@example.org", "baas")...)
	r.addFails("no role given", goodPassword, "users", "add", "a@example.org", "--password-stdin")
	r.addFails("--password-stdin", goodPassword, "users", "add", "a@example.org", "--role", "admin")
	r.addFails("account email", goodPassword, add("geen-adres", "admin")...)
	r.addFails("usage: newsletter users add", goodPassword, "users", "add", "--role", "admin", "--password-stdin")
	if u := r.users(); len(u.Users) != 0 {
		t.Fatalf("refused adds created accounts: %+v", u)
	}
	if _, _, err := r.in(goodPassword, add("a@example.org", "editor")...); err != nil {
		t.Fatal(err)
	}
	r.addFails("already exists", goodPassword, add("A@example.org", "admin")...)
	if u := r.users(); len(u.Users) != 1 || u.Users[0].Role != "editor" {
		t.Fatalf("a refused second add changed the account: %+v", u)
	}
}

func TestUsersSetRoleAndRm(t *testing.T) {
	r := newRun(t)
	for _, a := range [][2]string{{"baas@example.org", "admin"}, {"schrijver@example.org", "editor"}} {
		if _, _, err := r.in(goodPassword, "users", "add", a[0], "--role", a[1], "--password-stdin"); err != nil {
			t.Fatal(err)
		}
	}
	if out := r.ok("users", "set-role", "schrijver@example.org", "viewer"); !strings.Contains(out, "schrijver@example.org is now viewer") {
		t.Errorf("set-role output %q", out)
	}
	r.failsWith("last admin", "users", "set-role", "baas@example.org", "editor")
	r.failsWith("last admin", "users", "rm", "baas@example.org")
	r.failsWith(`role "root" is unknown`, "users", "set-role", "schrijver@example.org", "root")
	r.failsWith("does not exist", "users", "set-role", "niemand@example.org", "viewer")
	r.failsWith("does not exist", "users", "rm", "niemand@example.org")
	r.failsWith("usage: newsletter users set-role", "users", "set-role", "schrijver@example.org")
	r.failsWith("usage: newsletter users rm", "users", "rm")
	u := r.users()
	if len(u.Users) != 2 || u.Users[0].Role != "admin" || u.Users[1].Role != "viewer" {
		t.Fatalf("after refused changes: %+v", u)
	}
	// With a second admin the first may go.
	r.ok("users", "set-role", "schrijver@example.org", "admin")
	r.ok("users", "rm", "baas@example.org")
	if u := r.users(); len(u.Users) != 1 || u.Users[0].Email != "schrijver@example.org" {
		t.Fatalf("after rm: %+v", u)
	}
}

func TestUsersToken(t *testing.T) {
	r := newRun(t)
	if _, _, err := r.in(goodPassword, "users", "add", "robot@example.org", "--role", "editor", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := r.do("users", "token", "robot@example.org", "--name", "backup")
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out)
	if !strings.HasPrefix(tok, "nlt_") || len(tok) < 40 || strings.Contains(tok, "\n") {
		t.Fatalf("token output %q is not one token", out)
	}
	if !strings.Contains(stderr, "shown once") {
		t.Errorf("stderr %q does not say the token is shown once", stderr)
	}
	tok2 := strings.TrimSpace(r.ok("users", "token", "robot@example.org"))
	if tok2 == tok {
		t.Error("two tokens are equal")
	}
	ls := r.ok("users", "ls", "--json")
	if strings.Contains(ls, tok) || strings.Contains(r.ok("users", "tokens", "robot@example.org", "--json"), tok) {
		t.Error("a listing shows a token's value")
	}
	if u := r.users(); len(u.Users[0].Tokens) != 2 || u.Users[0].Tokens[0].Name != "backup" {
		t.Errorf("tokens listed: %+v", u.Users[0].Tokens)
	}
	r.failsWith(`already has a token named "backup"`, "users", "token", "robot@example.org", "--name", "backup")
	r.failsWith("does not exist", "users", "token", "niemand@example.org")
	r.failsWith("not valid", "users", "token", "robot@example.org", "--name", strings.Repeat("x", 65))
	r.failsWith("usage: newsletter users token", "users", "token")
	r.ok("users", "token", "robot@example.org", "--revoke", "backup")
	r.failsWith(`no token named "backup"`, "users", "token", "robot@example.org", "--revoke", "backup")
	if u := r.users(); len(u.Users[0].Tokens) != 1 {
		t.Errorf("after revoke: %+v", u.Users[0].Tokens)
	}
}

// Changes made on the command line are in the audit log as the
// operating-system user's.
func TestCLIChangesAudited(t *testing.T) {
	r := newRun(t)
	t.Setenv("USER", "marieke")
	r.ok("lists", "create", "bedrijven", "--name", "Bedrijven")
	if _, _, err := r.in(goodPassword, "users", "add", "baas@example.org", "--role", "admin", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	a, err := app.Open(context.Background(), app.Config{RedisURL: redistest.URL(t), RedisPrefix: r.prefix, BrandName: "Test"}, app.Need{Redis: true}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	page, err := a.AuditLog(context.Background(), newsletter.AuditFilter{}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Entries {
		got = append(got, e.Actor+" "+e.Action+" "+e.Target)
	}
	if want := "cli:marieke account.add baas@example.org,cli:marieke list.create bedrijven"; strings.Join(got, ",") != want {
		t.Errorf("audit: %q, want %q", got, want)
	}
}

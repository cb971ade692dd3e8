package cli_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"newsletter/internal/cli"
	"newsletter/internal/devenv"
	"newsletter/internal/redistest"
)

// A malformed setting stops every command with a message that names the
// variable, before anything connects; help still works.
func TestMalformedSettingStopsCommands(t *testing.T) {
	env := map[string]string{"NEWSLETTER_SEND_CONCURRENCY": "lots", "NEWSLETTER_REDIS_URL": "redis://127.0.0.1:1/0"}
	run := func(args ...string) (string, error) {
		var o, e bytes.Buffer
		err := cli.Run(context.Background(), args, cli.Env{Stdout: &o, Stderr: &e, DevDir: t.TempDir(),
			Getenv: func(k string) string { return env[k] }})
		return o.String(), err
	}
	for _, args := range [][]string{{"lists", "ls"}, {"work"}, {"serve"}, {"editions", "status", "x"}} {
		_, err := run(args...)
		if err == nil || !strings.Contains(err.Error(), "NEWSLETTER_SEND_CONCURRENCY") || strings.Contains(err.Error(), "Redis") {
			t.Errorf("newsletter %s: %v", strings.Join(args, " "), err)
		}
	}
	out, err := run("--help")
	if err != nil || !strings.Contains(out, "Usage") {
		t.Errorf("help: %v %q", err, out)
	}
	// Flags are checked like the environment.
	env = map[string]string{"NEWSLETTER_REDIS_URL": "redis://127.0.0.1:1/0"}
	if _, err := run("--send-concurrency", "0", "lists", "ls"); err == nil || !strings.Contains(err.Error(), "1 to 1000") {
		t.Errorf("--send-concurrency 0: %v", err)
	}
}

// A mistyped subcommand is an error naming the closest command, never the
// help and exit status 0 (a script would carry on as if it had worked).
func TestUnknownSubcommandFails(t *testing.T) {
	cases := map[string]string{
		"editions creat":          `did you mean "create"?`,
		"subscribers unsubscribe": `did you mean "update"?`,
		"suppressions remove":     `did you mean "rm"?`,
		"lists lss":               `did you mean "ls"?`,
	}
	for args, want := range cases {
		var o, e bytes.Buffer
		err := cli.Run(context.Background(), strings.Fields(args), cli.Env{Stdout: &o, Stderr: &e, DevDir: t.TempDir(),
			Getenv: func(string) string { return "" }})
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("newsletter %s: %v (stdout %q)", args, err, o.String())
		}
	}
	var o bytes.Buffer
	if err := cli.Run(context.Background(), []string{"editions"}, cli.Env{Stdout: &o, Stderr: &o, Getenv: func(string) string { return "" }}); err != nil || !strings.Contains(o.String(), "Available Commands") {
		t.Errorf("bare group: %v %q", err, o.String())
	}
}

// `serve` and `work` started next to a `newsletter dev` never use its
// Redis, secret and sender; admin commands do, and say so.
func TestServeAndWorkNeverUseDevData(t *testing.T) {
	dir := t.TempDir()
	devDir := dir + "/dev-data"
	if err := os.MkdirAll(devDir, 0o755); err != nil {
		t.Fatal(err)
	}
	url := redistest.URL(t)
	if err := os.WriteFile(devDir+"/redis.url", []byte(url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(devDir+"/env", []byte("NEWSLETTER_BASE_URL=http://127.0.0.1:1\nNEWSLETTER_SECRET=0123456789abcdef0123456789abcdef\nNEWSLETTER_FROM=Dev <dev@example.org>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lock, err := devenv.Acquire(devDir) // a dev runs there
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	env := map[string]string{"NEWSLETTER_REDIS_PREFIX": redistest.Prefix(t)}
	run := func(args ...string) (string, error) {
		var o, e bytes.Buffer
		err := cli.Run(context.Background(), args, cli.Env{Stdout: &o, Stderr: &e, DevDir: devDir, Getenv: func(k string) string { return env[k] }})
		return e.String(), err
	}
	for _, cmd := range []string{"serve", "work"} {
		if _, err := run(cmd); err == nil || !strings.Contains(err.Error(), "NEWSLETTER_REDIS_URL is not set") || !strings.Contains(err.Error(), "never use") {
			t.Errorf("%s next to dev-data: %v", cmd, err)
		}
	}
	stderr, err := run("lists", "ls")
	if err != nil || !strings.Contains(stderr, "using the Redis of `newsletter dev`") {
		t.Errorf("lists ls next to a running dev: %v %q", err, stderr)
	}
}

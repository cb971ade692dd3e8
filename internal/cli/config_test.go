package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"newsletter/internal/cli"
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

package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"newsletter/internal/cli"
	"newsletter/internal/redistest"
)

// TestMain lets this test binary be the embedded SES endpoint's child
// process that `newsletter bench` starts (it runs its own executable with
// "bench --ses-child").
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "bench" && os.Args[2] == "--ses-child" {
		if err := cli.Run(context.Background(), os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr}); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// keysUnder counts the keys of every master whose names start with prefix.
func keysUnder(t *testing.T, prefix string) int {
	t.Helper()
	ctx := context.Background()
	var n atomic.Int64 // ForEachMaster asks the masters at once
	count := func(c redis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, prefix+"*", 1000).Result()
			if err != nil {
				return err
			}
			n.Add(int64(len(keys)))
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	var err error
	if cc, ok := redistest.Client(t).(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return count(c) })
	} else {
		err = count(redistest.Client(t))
	}
	if err != nil {
		t.Fatal(err)
	}
	return int(n.Load())
}

// `newsletter bench` sends to every made-up subscriber through the
// embedded SES endpoint (a child process) on both APIs, reports what the
// README says it reports, and leaves no key behind in the configured
// Redis, on a Redis Cluster too.
func TestBenchSendsEveryoneAndCleansUp(t *testing.T) {
	r := newRun(t)
	for _, api := range []string{"bulk", "single"} {
		out := r.ok("bench", "--recipients", "120", "--api", api, "--json")
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("bench --json printed %q: %v", out, err)
		}
		states, _ := res["states"].(map[string]any)
		if res["recipients"] != 120.0 || res["api"] != api || states["sent"] != 120.0 || states["total"] != 120.0 || states["unknown"] != 0.0 {
			t.Errorf("bench --api %s: recipients %v, api %v, states %v; want 120 sent", api, res["recipients"], res["api"], states)
		}
		for _, k := range []string{"emails_per_s", "send_s", "process_cpu_us_per_email", "peak_rss_mb", "redis_commands_per_email", "machine_probe_ms_before", "machine_probe_ms_after", "publish_to_first_accept_ms"} {
			if v, ok := res[k].(float64); !ok || v <= 0 {
				t.Errorf("bench --api %s: %s = %v, want a positive figure", api, k, res[k])
			}
		}
		if n := keysUnder(t, r.prefix); n != 0 {
			t.Errorf("bench --api %s left %d keys under %s", api, n, r.prefix)
		}
		if n := keysUnder(t, "rate:"+r.prefix); n != 0 {
			t.Errorf("bench --api %s left %d rate-limit keys", api, n)
		}
	}
	// An edition of one's own, one that greets by name (the re-check then
	// reads every subscriber's record).
	named := r.file("named.md", "---\nsubject: Hallo\ngreeting: Beste {naam},\n---\nTekst.\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(r.ok("bench", "--recipients", "60", "--edition", named, "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if states, _ := res["states"].(map[string]any); states["sent"] != 60.0 {
		t.Errorf("bench --edition: states %v, want 60 sent", res["states"])
	}
	r.failsWith("--edition", "bench", "--recipients", "10", "--edition", r.dir+"/missing.md")
	r.failsWith("--recipients 0", "bench", "--recipients", "0")
	r.failsWith("not an SES API", "bench", "--recipients", "10", "--api", "smtp")
}

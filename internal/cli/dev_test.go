package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"newsletter/internal/cli"
	"newsletter/internal/redisproc"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeHTTPAddr(t *testing.T) string {
	t.Helper()
	p, err := redisproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", p)
}

// waitUntil polls cond every 20 ms; the deadline only turns a hang into a
// failure.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not the case after 2m", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// devEnv runs cli.Run with a dev folder and a few settings.
func devRun(ctx context.Context, devDir string, env map[string]string, stdout io.Writer, args ...string) (string, error) {
	// The workers' subscribers may log a last line after Run returned.
	e := &syncBuffer{}
	err := cli.Run(ctx, args, cli.Env{Stdout: stdout, Stderr: e, DevDir: devDir, Getenv: func(k string) string { return env[k] }})
	return e.String(), err
}

// A second dev in the same folder, or one whose port is taken, says so and
// leaves the running one's files alone; admin commands run from another
// folder find the running dev, and once it stopped say what to set.
func TestDevRunsOncePerFolder(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // where dev notes its folder
	root := t.TempDir()
	devDir := filepath.Join(root, "dev-data")
	addr := freeHTTPAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		_, err := devRun(ctx, devDir, map[string]string{"NEWSLETTER_HTTP_ADDR": addr}, out, "dev")
		done <- err
	}()
	waitUntil(t, "first dev ready", func() bool {
		select {
		case err := <-done:
			t.Fatalf("first dev ended: %v\n%s", err, out)
		default:
		}
		return strings.Contains(out.String(), "Ready.")
	})
	for _, want := range []string{"data kept in", "Data:      " + devDir, "Outbox:", "Admin API:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dev's start-up lines lack %q:\n%s", want, out)
		}
	}
	files := map[string]string{}
	for _, f := range []string{"redis.url", "env"} {
		b, err := os.ReadFile(filepath.Join(devDir, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = string(b)
	}

	// Same folder, another port: refused, naming the running one.
	_, err := devRun(context.Background(), devDir, map[string]string{"NEWSLETTER_HTTP_ADDR": freeHTTPAddr(t)}, io.Discard, "dev")
	if err == nil || !strings.Contains(err.Error(), "already running") || !strings.Contains(err.Error(), "pid ") {
		t.Errorf("second dev in the same folder: %v, want it to say one is already running", err)
	}
	// Another folder, the same port: the port is named, not Redis.
	other := filepath.Join(t.TempDir(), "dev-data")
	_, err = devRun(context.Background(), other, map[string]string{"NEWSLETTER_HTTP_ADDR": addr}, io.Discard, "dev")
	if err == nil || !strings.Contains(err.Error(), "cannot listen on "+addr) || !strings.Contains(err.Error(), "NEWSLETTER_HTTP_ADDR=") {
		t.Errorf("dev on a taken port: %v, want the port named with what to set", err)
	}
	if _, err := os.Stat(filepath.Join(other, "redis.url")); err == nil {
		t.Error("dev on a taken port started a Redis and wrote redis.url")
	}
	for f, want := range files {
		if b, err := os.ReadFile(filepath.Join(devDir, f)); err != nil || string(b) != want {
			t.Errorf("the running dev's %s changed: %q, %v; was %q", f, b, err, want)
		}
	}
	// An admin command from another folder uses the running dev.
	var lists bytes.Buffer
	stderr, err := devRun(context.Background(), other, nil, &lists, "lists", "ls")
	if err != nil || !strings.Contains(stderr, "using the Redis of `newsletter dev`") || !strings.Contains(lists.String(), "bedrijven") {
		t.Errorf("lists ls from another folder: %v %q %q", err, stderr, lists.String())
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("dev stopped with %v", err)
	}
	_, err = devRun(context.Background(), other, nil, io.Discard, "lists", "ls")
	if err == nil || !strings.Contains(err.Error(), "no `newsletter dev` is running") || !strings.Contains(err.Error(), "NEWSLETTER_REDIS_URL=") {
		t.Errorf("lists ls with no dev running: %v, want what to set", err)
	}
}

// The built binary, run twice in the same folder: what the first `dev`
// stored (lists, the sample edition, the outbox) is there in the second.
func TestDevKeepsDataBetweenRuns(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeHTTPAddr(t)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CACHE_HOME=" + filepath.Join(dir, ".cache"), "NEWSLETTER_HTTP_ADDR=" + addr}
	cmd := func(args ...string) string {
		t.Helper()
		c := exec.Command(bin, args...)
		c.Dir, c.Env = dir, env
		out, err := c.Output()
		if err != nil {
			t.Fatalf("newsletter %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	outboxCount := func() int {
		resp, err := http.Get("http://" + addr + "/outbox/")
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`<p>(\d+) email`).FindSubmatch(b)
		if m == nil {
			return -1
		}
		var n int
		fmt.Sscan(string(m[1]), &n)
		return n
	}
	type snapshot struct{ lists, editions string }
	var first snapshot
	var firstOutbox int
	for run := 1; run <= 2; run++ {
		out := &syncBuffer{}
		dev := exec.Command(bin, "dev")
		dev.Dir, dev.Env, dev.Stdout, dev.Stderr = dir, env, out, out
		if err := dev.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- dev.Wait() }()
		waitUntil(t, fmt.Sprintf("dev run %d ready", run), func() bool {
			select {
			case err := <-exited:
				t.Fatalf("dev run %d exited: %v\n%s", run, err, out)
			default:
			}
			return strings.Contains(out.String(), "Ready.")
		})
		if run == 1 {
			waitUntil(t, "the sample edition sent", func() bool {
				var eds struct{ Editions []struct{ State string } }
				_ = json.Unmarshal([]byte(cmd("editions", "ls", "--json")), &eds)
				return len(eds.Editions) == 1 && eds.Editions[0].State == "sent"
			})
			// The simulator's events settle the counts; wait for them too.
			waitUntil(t, "the outbox filled", func() bool { return outboxCount() > 0 })
			first = snapshot{cmd("lists", "ls", "--json"), cmd("editions", "ls", "--json")}
			firstOutbox = outboxCount()
		} else {
			got := snapshot{cmd("lists", "ls", "--json"), cmd("editions", "ls", "--json")}
			if got != first {
				t.Errorf("second run sees other data:\nlists %s\nwas   %s\neditions %s\nwas      %s", got.lists, first.lists, got.editions, first.editions)
			}
			if n := outboxCount(); n != firstOutbox {
				t.Errorf("outbox of the second run shows %d emails, the first showed %d", n, firstOutbox)
			}
			if !strings.Contains(out.String(), "kept from earlier runs") || strings.Contains(out.String(), "Sample:") {
				t.Errorf("second run's start-up lines:\n%s", out)
			}
		}
		if err := dev.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		if err := <-exited; err != nil {
			t.Fatalf("dev run %d stopped with %v\n%s", run, err, out)
		}
		if _, err := net.Dial("tcp", addr); err == nil {
			t.Fatalf("dev run %d still listening after it stopped", run)
		}
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// buildBinary builds ./cmd/newsletter as a fresh clone's user would (go
// build -o newsletter ./cmd/newsletter).
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "newsletter-clitest-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "newsletter")
		c := exec.Command("go", "build", "-o", binPath, "./cmd/newsletter")
		c.Dir = "../.."
		if out, err := c.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// `work` without AWS credentials says they are missing and how to give
// them, before it asks SES anything.
func TestWorkWithoutCredentials(t *testing.T) {
	r := newRun(t)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"NEWSLETTER_SECRET": strings.Repeat("s", 40), "NEWSLETTER_BASE_URL": "https://nieuwsbrief.example.org",
		"NEWSLETTER_FROM": "Nieuwsbrief <nieuwsbrief@example.org>", "AWS_REGION": "eu-west-1",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ENDPOINT_URL_SESV2": "http://127.0.0.1:1",
	} {
		t.Setenv(k, v)
	}
	r.failsWith("AWS credentials are missing", "work")
	r.failsWith("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", "work")
}

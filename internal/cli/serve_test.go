package cli_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"newsletter/internal/cli"
)

// `serve` mounts the admin pages behind the sign-in: an account made with
// `users add` signs in at /admin/login and gets the dashboard; without a
// session /admin/ leads to the sign-in page.
func TestServeMountsAdminPages(t *testing.T) {
	r := newRun(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	base := "http://" + addr
	t.Setenv("NEWSLETTER_HTTP_ADDR", addr)
	t.Setenv("NEWSLETTER_BASE_URL", base)
	t.Setenv("NEWSLETTER_SECRET", "0123456789abcdef0123456789abcdef")
	t.Setenv("NEWSLETTER_FROM", "Nieuwsbrief <nieuwsbrief@example.org>")
	if _, _, err := r.in(goodPassword+"\n", "users", "add", "baas@example.org", "--role", "admin", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		var o, e bytes.Buffer
		done <- cli.Run(ctx, []string{"serve"}, cli.Env{Stdout: &o, Stderr: &e, DevDir: filepath.Join(r.dir, "dev-data")})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	// Wait until serve listens (or has stopped with an error).
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := c.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not listen within a minute")
		}
	}
	get := func(path string) (string, string) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Request.URL.Path, string(b)
	}
	if at, body := get("/admin/lists"); at != "/admin/login" || !strings.Contains(body, `name="password"`) {
		t.Fatalf("/admin/lists without a session: at %s", at)
	}
	resp, err := c.PostForm(base+"/admin/login", url.Values{"email": {"baas@example.org"}, "password": {goodPassword}, "next": {"/admin/lists"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/admin/lists" || !strings.Contains(string(b), "Ingelogd als baas@example.org") || !strings.Contains(string(b), `id="new-list"`) {
		t.Fatalf("after sign-in: at %s, %d\n%s", resp.Request.URL.Path, resp.StatusCode, b)
	}
	if _, body := get("/admin/audit"); !strings.Contains(body, `id="audit-filter"`) {
		t.Errorf("the audit page is not served:\n%s", body)
	}
}

package redistest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"newsletter/internal/redisproc"
)

var (
	once    sync.Once
	url     string
	initErr error
)

// URL returns the redis:// URL of the throwaway server, starting it if needed.
// A missing redis-server fails the test: storage is never tested against a
// mock.
func URL(tb testing.TB) string {
	tb.Helper()
	once.Do(func() { url, initErr = start() })
	if initErr != nil {
		tb.Fatalf("redistest: %v", initErr)
	}
	return url
}

// Client returns a new client to the throwaway server, closed when the test
// ends.
func Client(tb testing.TB) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(URL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	c := redis.NewClient(opt)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Prefix returns a key prefix unique to this test, e.g. "t:3f9a1c02:".
func Prefix(tb testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:]) + ":"
}

func start() (string, error) {
	if u := os.Getenv("NEWSLETTER_TEST_REDIS_URL"); u != "" {
		return u, nil
	}
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		return "", err
	}
	srv, err := redisproc.Start(dir)
	if errors.Is(err, redisproc.ErrNoServer) {
		return "", fmt.Errorf("redis-server is not on the PATH; install it (Debian: apt-get install redis-server) or set NEWSLETTER_TEST_REDIS_URL to a Redis the tests may write to")
	}
	if err != nil {
		return "", err
	}
	return srv.URL, nil // lives as long as the test binary
}

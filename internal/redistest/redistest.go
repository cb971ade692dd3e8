package redistest

import (
	"context"
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

// ClusterMode reports whether the tests run against a Redis Cluster:
// NEWSLETTER_TEST_REDIS=cluster, or a NEWSLETTER_TEST_REDIS_URL in
// go-redis's cluster form (?addr=...).
func ClusterMode() bool {
	return os.Getenv("NEWSLETTER_TEST_REDIS") == "cluster" || IsClusterURL(os.Getenv("NEWSLETTER_TEST_REDIS_URL"))
}

// URL returns the redis:// URL of the throwaway server (or cluster),
// starting it if needed. A missing redis-server fails the test: storage
// is never tested against a mock.
func URL(tb testing.TB) string {
	tb.Helper()
	once.Do(func() { url, initErr = start() })
	if initErr != nil {
		tb.Fatalf("redistest: %v", initErr)
	}
	return url
}

// Client returns a new client to the throwaway server (a cluster client in
// cluster mode), closed when the test ends.
func Client(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	c, err := NewClient(URL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// NewClient returns a client for u: a cluster client for the cluster form.
func NewClient(u string) (redis.UniversalClient, error) {
	if IsClusterURL(u) {
		opt, err := redis.ParseClusterURL(u)
		if err != nil {
			return nil, err
		}
		return redis.NewClusterClient(opt), nil
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		return nil, err
	}
	return redis.NewClient(opt), nil
}

// Prefix returns a key prefix unique to this test, e.g. "t:3f9a1c02:".
func Prefix(tb testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:]) + ":"
}

// SingleServer skips the test in the cluster pass: it needs a whole
// single-node server (CONFIG SET, a server it stops), and the single-node
// pass of scripts/test, which always runs too, covers it. why says what
// it needs, in the test output.
func SingleServer(tb testing.TB, why string) {
	tb.Helper()
	if ClusterMode() {
		tb.Skipf("needs a single-node Redis (%s); covered by the single-node pass of scripts/test", why)
	}
}

func start() (string, error) {
	if u := os.Getenv("NEWSLETTER_TEST_REDIS_URL"); u != "" {
		return u, nil
	}
	if ClusterMode() {
		return startCluster()
	}
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		return "", err
	}
	srv, err := redisproc.Start(dir)
	// The server keeps nothing on disk (no RDB, no AOF), so its working
	// directory can go at once: no test binary leaves a folder behind.
	_ = os.RemoveAll(dir)
	if errors.Is(err, redisproc.ErrNoServer) {
		return "", fmt.Errorf("redis-server is not on the PATH; install it (Debian: apt-get install redis-server) or set NEWSLETTER_TEST_REDIS_URL to a Redis the tests may write to")
	}
	if err != nil {
		return "", err
	}
	return srv.URL, nil // lives as long as the test binary
}

// startCluster starts three masters on free ports and joins them (all 16384
// slots, no replicas). They live as long as the test binary.
func startCluster() (string, error) {
	c, err := redisproc.StartCluster(3)
	if err != nil {
		return "", err
	}
	return c.URL, nil
}

// IsClusterURL reports whether u is go-redis's cluster form.
func IsClusterURL(u string) bool {
	if u == "" {
		return false
	}
	opt, err := redis.ParseClusterURL(u)
	return err == nil && len(opt.Addrs) > 1
}

// Keys returns every key matching pattern, from every master of a cluster
// (KEYS on a cluster client asks one node only).
func Keys(tb testing.TB, rdb redis.UniversalClient, pattern string) []string {
	tb.Helper()
	ctx := context.Background()
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		keys, err := rdb.Keys(ctx, pattern).Result()
		if err != nil {
			tb.Fatal(err)
		}
		return keys
	}
	var mu sync.Mutex
	var out []string
	err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		keys, err := n.Keys(ctx, pattern).Result()
		mu.Lock()
		out = append(out, keys...)
		mu.Unlock()
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

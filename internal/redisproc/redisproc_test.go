package redisproc_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter/internal/redisproc"
)

// A server started from a short-lived goroutine answers, never evicts,
// and stops on Close.
func TestStartAndClose(t *testing.T) {
	got := make(chan *redisproc.Server, 1)
	errc := make(chan error, 1)
	go func() {
		s, err := redisproc.Start(t.TempDir())
		errc <- err
		got <- s
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	s := <-got
	opt, _ := redis.ParseURL(s.URL)
	c := redis.NewClient(opt)
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("server does not answer: %v", err)
	}
	policy, err := c.ConfigGet(context.Background(), "maxmemory-policy").Result()
	if err != nil || policy["maxmemory-policy"] != "noeviction" {
		t.Errorf("maxmemory-policy = %v, %v; want noeviction", policy, err)
	}
	s.Close()
	if conn, err := net.DialTimeout("tcp", s.URL[len("redis://"):len(s.URL)-2], time.Second); err == nil {
		conn.Close()
		t.Error("server still listening after Close")
	}
}

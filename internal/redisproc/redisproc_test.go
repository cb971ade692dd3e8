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

// A picked port that is taken by the time the server starts is picked
// again: the server runs on the second pick.
func TestStartWithPicksAgainWhenThePortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free, err := redisproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	picks := []int{taken.Addr().(*net.TCPAddr).Port, free}
	var asked int
	s, err := redisproc.StartWith(t.TempDir(), redisproc.Options{PickPort: func() (int, error) {
		p := picks[min(asked, len(picks)-1)]
		asked++
		return p, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Port != free || asked != 2 {
		t.Errorf("server on port %d after %d picks, want port %d after 2", s.Port, asked, free)
	}
}

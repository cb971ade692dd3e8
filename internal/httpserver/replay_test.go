package httpserver_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// SNS delivers at least once, sometimes concurrently: sixty simultaneous
// posts of one genuine notification put it on the stream exactly once
// (the replay mark is taken atomically before enqueueing). The others get
// 200 "duplicate" or 503 (SNS retries those and then finds it done).
func TestSESWebhookConcurrentDuplicatesEnqueuedOnce(t *testing.T) {
	t.Parallel()
	e := newWebhookEnv(t, time.Hour)
	b := e.notification(t, time.Now())
	var wg sync.WaitGroup
	codes := make([]int, 60)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = e.post(b)
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusServiceUnavailable:
		default:
			t.Errorf("status %d", c)
		}
	}
	if n := e.xlen(t); n != 1 {
		t.Errorf("%d entries on the events stream after 60 concurrent deliveries of one message, want 1", n)
	}
	if ok == 0 {
		t.Error("no delivery was answered 200")
	}
	// A retry of one answered 503 finds it done.
	if code, body := e.post(b); code != http.StatusOK || strings.TrimSpace(body) != "duplicate" {
		t.Errorf("retry: %d %q, want 200 duplicate", code, body)
	}
}

package ratelimit_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"newsletter/internal/ratelimit"
	"newsletter/internal/redistest"
)

// The assertions here are about whether a Wait is granted, never about how
// long it took: a permit that is due returns under a deadline well below the
// limiter's period, one that is not due fails with that deadline.

// waitWithin calls l.Wait(n) under a deadline of d.
func waitWithin(l *ratelimit.Limiter, n int, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return l.Wait(ctx, n)
}

// At 1 email per second, the first permit is granted at once and the second
// is not within 50 ms.
func TestWaitHoldsBackBeyondTheRate(t *testing.T) {
	t.Parallel()
	l := ratelimit.New(redistest.Client(t), redistest.Prefix(t)+"ratelimit:ses", 1)
	if err := waitWithin(l, 1, 500*time.Millisecond); err != nil {
		t.Fatalf("first Wait: %v, want a permit at once", err)
	}
	if err := waitWithin(l, 1, 50*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Wait within the same second: %v, want context.DeadlineExceeded", err)
	}
}

// Wait(n) takes n permits, not one.
func TestWaitTakesEveryPermitAskedFor(t *testing.T) {
	t.Parallel()
	l := ratelimit.New(redistest.Client(t), redistest.Prefix(t)+"ratelimit:ses", 1)
	if err := waitWithin(l, 2, 50*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait(2) at 1/s: %v, want context.DeadlineExceeded (only one permit is due)", err)
	}
}

// Processes share the rate through the key: a second limiter (its own
// client, as in another process) on the same key gets no permit the first
// one took; a limiter on another key is not affected.
func TestLimitersShareTheRateByKey(t *testing.T) {
	t.Parallel()
	key := redistest.Prefix(t) + "ratelimit:ses"
	a := ratelimit.New(redistest.Client(t), key, 1)
	b := ratelimit.New(redistest.Client(t), key, 1)
	other := ratelimit.New(redistest.Client(t), key+":other", 1)
	if err := waitWithin(a, 1, 500*time.Millisecond); err != nil {
		t.Fatalf("first process: %v", err)
	}
	if err := waitWithin(b, 1, 50*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second process on the same key: %v, want context.DeadlineExceeded", err)
	}
	if err := waitWithin(other, 1, 500*time.Millisecond); err != nil {
		t.Errorf("limiter on another key: %v, want a permit at once", err)
	}
}

// A rate below one per second is a rate, not "unlimited".
func TestFractionalRate(t *testing.T) {
	t.Parallel()
	l := ratelimit.New(redistest.Client(t), redistest.Prefix(t)+"ratelimit:ses", 0.5)
	if err := waitWithin(l, 1, 500*time.Millisecond); err != nil {
		t.Fatalf("first Wait at 0.5/s: %v", err)
	}
	if err := waitWithin(l, 1, 50*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Wait at 0.5/s: %v, want context.DeadlineExceeded", err)
	}
}

// Rate 0 is unlimited: Wait never blocks and never asks Redis (it succeeds
// even on an already ended context).
func TestZeroRateIsUnlimited(t *testing.T) {
	t.Parallel()
	l := ratelimit.New(redistest.Client(t), redistest.Prefix(t)+"ratelimit:ses", 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 100 {
		if err := l.Wait(ctx, 1); err != nil {
			t.Fatalf("Wait %d: %v", i, err)
		}
	}
}

// However many processes and callers share the key, permits never come
// faster than the rate plus one burst: N permits take at least
// (N-burst)/rate. (A lower bound only: a slow machine takes longer, never
// shorter, so the test does not depend on machine speed.)
func TestSharedRateNeverExceededAcrossProcesses(t *testing.T) {
	t.Parallel()
	const rate, total = 200, 600
	key := redistest.Prefix(t) + "ratelimit:ses"
	var ls []*ratelimit.Limiter
	for range 3 {
		ls = append(ls, ratelimit.New(redistest.Client(t), key, rate))
	}
	burst := ls[0].Burst()
	if burst != 5 {
		t.Fatalf("burst at %d/s = %d, want 2.5 %% = 5", rate, burst)
	}
	var mu sync.Mutex
	granted := 0
	start := time.Now()
	var wg sync.WaitGroup
	for _, l := range ls {
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					if granted >= total {
						mu.Unlock()
						return
					}
					granted += burst
					mu.Unlock()
					if err := l.Wait(context.Background(), burst); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	if min := time.Duration(float64(granted-burst) / rate * float64(time.Second)); elapsed < min-20*time.Millisecond {
		t.Errorf("%d permits at %d/s in %v, want at least %v (rate plus one burst)", granted, rate, elapsed, min)
	}
}

// A Wait for more than one burst is paid in parts, not refused forever.
func TestWaitLargerThanBurst(t *testing.T) {
	t.Parallel()
	l := ratelimit.New(redistest.Client(t), redistest.Prefix(t)+"ratelimit:ses", 100)
	if err := waitWithin(l, 12, 2*time.Second); err != nil {
		t.Errorf("Wait(12) with burst %d at 100/s: %v", l.Burst(), err)
	}
}

package workers_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"newsletter/workers"
)

// Go never waits: with every kept goroutine busy it starts another, so
// all of a batch run at once; once they are idle again, the next batch
// runs on them and no goroutine is added.
func TestGoroutinesAreKeptAndReused(t *testing.T) {
	g := workers.NewGoroutines(time.Hour)
	const n = 40
	batch := func() {
		var started, done sync.WaitGroup
		release := make(chan struct{})
		started.Add(n)
		done.Add(n)
		for range n {
			g.Go(func() {
				defer done.Done()
				started.Done()
				<-release // all n must be running at once to get past this
			})
		}
		started.Wait()
		close(release)
		done.Wait()
	}
	batch()
	if g.Live() != n {
		t.Fatalf("%d goroutines for %d functions run at once, want %d", g.Live(), n, n)
	}
	eventually(t, "every kept goroutine is idle", func() bool { return g.Idle() == n })
	batch()
	if g.Live() != n {
		t.Errorf("%d goroutines after a second batch on %d idle ones, want them reused", g.Live(), n)
	}
}

// A kept goroutine idle for longer than its time ends.
func TestIdleGoroutinesEnd(t *testing.T) {
	g := workers.NewGoroutines(time.Millisecond)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		g.Go(wg.Done)
	}
	wg.Wait()
	eventually(t, "idle goroutines end", func() bool { return g.Live() == 0 })
}

// deep uses some 12 KB of stack, as an SES call through the SDK does.
//
//go:noinline
func deep(depth int) byte {
	var frame [1 << 10]byte
	frame[depth] = byte(depth)
	if depth == 0 {
		return frame[0]
	}
	return deep(depth-1) + frame[depth]
}

// BenchmarkDeepCalls runs calls needing a 16 KB stack 50 at a time, as
// one job's single sends do, with a collection between batches (not
// timed): on new goroutines, each call grows a stack from 2 KB; on kept
// ones, the stack survives the collections. A thousand goroutines wait
// meanwhile, as a worker's connections, timers and subscribers do: the
// runtime starts new goroutines with the average stack it scanned, and
// theirs keep it small.
func BenchmarkDeepCalls(b *testing.B) {
	others := make(chan struct{})
	defer close(others)
	for range 1000 {
		go func() { <-others }()
	}
	for _, c := range []struct {
		name  string
		spawn func(func())
	}{
		{"new", func(f func()) { go f() }},
		{"kept", workers.NewGoroutines(time.Minute).Go},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				var wg sync.WaitGroup
				wg.Add(50)
				for range 50 {
					c.spawn(func() { deep(12); wg.Done() })
				}
				wg.Wait()
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
			}
		})
	}
}

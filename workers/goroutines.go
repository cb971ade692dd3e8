package workers

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// goroutines runs functions on goroutines it keeps for the next ones,
// which is cheaper than a new goroutine per SES call or per single send:
// an SDK call needs a stack of 8 to 16 KB (200 goroutines parked after a
// SendBulkEmail held 10 KB each), and a new goroutine starts with 2 KB
// and grows it by copying, three times, in every call (9% of the single
// path's CPU in `newsletter bench --api single`). A kept goroutine keeps
// its grown stack, provided the collector does not shrink it while the
// goroutine waits for work: it halves a stack whose waiting goroutine
// uses less than a quarter of it. So a kept goroutine waits with a 16 KB
// frame beneath it (the ballast), which holds any stack of up to 64 KB:
// the call's 16 KB and room to spare.
//
// Go never blocks: with no idle goroutine it starts one. The callers
// bound how many run at once (the send semaphore), so this is no
// limit; a goroutine idle for idleFor ends. An idle goroutine is on a
// list with a mailbox of its own; Go takes the one idle most recently
// (its stack is the one most likely grown) and puts the function in its
// mailbox, so a goroutine on the list always gets the next function,
// whether or not it is already waiting.
type goroutines struct {
	idleFor time.Duration
	live    atomic.Int64 // goroutines kept, busy or idle (tests)

	mu   sync.Mutex
	idle []*kept
}

// kept is one kept goroutine's mailbox (room for one function).
type kept struct{ work chan func() }

func newGoroutines(idleFor time.Duration) *goroutines {
	return &goroutines{idleFor: idleFor}
}

// Go runs f on an idle kept goroutine, or a new one.
func (g *goroutines) Go(f func()) {
	g.mu.Lock()
	if n := len(g.idle); n > 0 {
		k := g.idle[n-1]
		g.idle = g.idle[:n-1]
		g.mu.Unlock()
		k.work <- f // its mailbox is empty: never blocks
		return
	}
	g.mu.Unlock()
	g.live.Add(1)
	go g.serve(&kept{work: make(chan func(), 1)}, f)
}

// ballast is the frame a kept goroutine waits on (see goroutines).
type ballast [16 << 10]byte

// serve runs f, then whatever Go hands k, until idle for idleFor.
//
//go:noinline
func (g *goroutines) serve(k *kept, f func()) {
	defer g.live.Add(-1)
	var b ballast
	touch(&b) // the frame must really be this deep
	idle := time.NewTimer(g.idleFor)
	defer idle.Stop()
	for {
		f()
		g.mu.Lock()
		g.idle = append(g.idle, k)
		g.mu.Unlock()
		idle.Reset(g.idleFor)
		select {
		case f = <-k.work:
		case <-idle.C:
			if g.leave(k) {
				return
			}
			f = <-k.work // Go took it off the list just now: its function is coming
		}
	}
}

// leave takes k off the idle list, unless Go took it first.
func (g *goroutines) leave(k *kept) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	i := slices.Index(g.idle, k)
	if i < 0 {
		return false
	}
	g.idle = slices.Delete(g.idle, i, i+1)
	return true
}

// touch uses b, so that the compiler keeps it on the stack.
//
//go:noinline
func touch(b *ballast) { b[len(b)-1] = 1 }

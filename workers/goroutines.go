package workers

import (
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
// limit; a goroutine idle for idleFor ends.
type goroutines struct {
	work    chan func()
	idleFor time.Duration
	live    atomic.Int64 // goroutines kept, busy or idle (tests)
	idle    atomic.Int64 // of them waiting for work (tests)
}

func newGoroutines(idleFor time.Duration) *goroutines {
	return &goroutines{work: make(chan func()), idleFor: idleFor}
}

// Go runs f on an idle kept goroutine, or a new one.
func (g *goroutines) Go(f func()) {
	select {
	case g.work <- f:
	default:
		g.live.Add(1)
		go g.serve(f)
	}
}

// ballast is the frame a kept goroutine waits on (see goroutines).
type ballast [16 << 10]byte

// serve runs f, then whatever Go hands it, until idle for idleFor.
//
//go:noinline
func (g *goroutines) serve(f func()) {
	defer g.live.Add(-1)
	var b ballast
	touch(&b) // the frame must really be this deep
	idle := time.NewTimer(g.idleFor)
	defer idle.Stop()
	for {
		f()
		idle.Reset(g.idleFor)
		g.idle.Add(1)
		select {
		case f = <-g.work:
			g.idle.Add(-1)
		case <-idle.C:
			g.idle.Add(-1)
			return
		}
	}
}

// touch uses b, so that the compiler keeps it on the stack.
//
//go:noinline
func touch(b *ballast) { b[len(b)-1] = 1 }

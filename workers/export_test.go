package workers

import "time"

// Goroutines exposes the kept goroutines to the tests of workers_test.
type Goroutines = goroutines

func NewGoroutines(idleFor time.Duration) *Goroutines { return newGoroutines(idleFor) }

// Live and Idle count the goroutines kept, and those of them waiting.
func (g *goroutines) Live() int64 { return g.live.Load() }
func (g *goroutines) Idle() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return int64(len(g.idle))
}

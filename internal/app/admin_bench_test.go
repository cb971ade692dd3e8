package app_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/redistest"
)

// rowGenerator is a CSV file of n subscriber rows made while it is read:
// the file never exists whole, in memory or on disk.
type rowGenerator struct {
	n, next int
	buf     []byte
}

func (g *rowGenerator) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.next <= g.n {
		if g.next == 0 {
			g.buf = append(g.buf, "\ufeffE-mailadres;Naam;Organisatie;Regio\r\n"...)
		} else {
			g.buf = fmt.Appendf(g.buf, "partner%06d@Bedrijf%d.example.nl;Partner %d;Organisatie %d;regio %d\r\n", g.next, g.next%997, g.next, g.next%5000, g.next%12)
		}
		g.next++
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = append(g.buf[:0], g.buf[n:]...)
	return n, nil
}

// BenchmarkImport200k imports a 200,000-row CSV stream through app.Import
// into real Redis and reports rows/s and the peak heap while importing.
func BenchmarkImport200k(b *testing.B) {
	const rows = 200_000
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		a := openApp(b)
		mustList(b, a, "bedrijven", false)
		runtime.GC()
		var peak atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ms runtime.MemStats
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		b.StartTimer()
		start := time.Now()
		rep, err := a.Import(context.Background(), "bedrijven", &rowGenerator{n: rows}, newsletter.ImportOptions{})
		elapsed := time.Since(start)
		b.StopTimer()
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if rep.Imported != rows || len(rep.Rejected) != 0 {
			b.Fatalf("imported %d of %d, %d rejected", rep.Imported, rows, len(rep.Rejected))
		}
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		// Leave the throwaway Redis small for the next benchmark.
		pipe := a.Store().Client().Pipeline()
		for _, k := range redistest.Keys(b, a.Store().Client(), a.Store().Prefix()+"*") {
			pipe.Unlink(context.Background(), k) // one key per command: slots differ on a cluster
		}
		_, _ = pipe.Exec(context.Background())
		b.StartTimer()
	}
}

package subscribercsv_test

import (
	"fmt"
	"io"
	"runtime"
	"testing"

	"newsletter/internal/subscribercsv"
)

// generated is an io.Reader that makes n subscriber rows on the fly, so the
// file never exists in memory and only the Reader's own use is measured.
type generated struct {
	n, i int
	buf  []byte
}

func newGenerated(n int) *generated {
	return &generated{n: n, buf: []byte("\ufeffE-mailadres;Naam;Organisatie;Functie;Regio\r\n")}
}

func (g *generated) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.i < g.n {
		g.buf = fmt.Appendf(g.buf, "Partner.%d@Bedrijf%d.example.nl;Jan  van der Berg %d;Bedrijf %d B.V.;Docent;Regio %d\r\n",
			g.i, g.i%977, g.i, g.i%977, g.i%12)
		g.i++
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	return n, nil
}

// readGenerated reads n generated rows, calling tick every 10,000 rows.
func readGenerated(tb testing.TB, n int, tick func()) *subscribercsv.Reader {
	rd, err := subscribercsv.NewReader(newGenerated(n))
	if err != nil {
		tb.Fatal(err)
	}
	rows := 0
	for {
		r, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil || r.Err != nil {
			tb.Fatalf("row %d: %v %v", rows, err, r.Err)
		}
		if rows++; rows%10_000 == 0 && tick != nil {
			tick()
		}
	}
	if rows != n {
		tb.Fatalf("read %d rows, want %d", rows, n)
	}
	return rd
}

// heapUse runs f and returns the peak live-or-garbage heap it saw (sampled
// at every tick) and the heap still in use afterwards, both above what was
// in use before. It is for tests only: ReadMemStats stops the world.
func heapUse(f func(tick func()) any) (peak, retained uint64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	tick := func() {
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > base {
			peak = max(peak, ms.HeapAlloc-base)
		}
	}
	keep := f(tick)
	tick()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	runtime.KeepAlive(keep)
	if ms.HeapAlloc > base {
		retained = ms.HeapAlloc - base
	}
	return peak, retained
}

const benchRows = 200_000

func BenchmarkReader(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		readGenerated(b, benchRows, nil)
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	peak, retained := heapUse(func(tick func()) any { return readGenerated(b, benchRows, tick) })
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(retained)/benchRows, "retained-B/row")
}

// TestMemoryIsBounded checks that reading 200,000 rows keeps no more than
// the duplicate index: a Reader that kept rows would retain hundreds of
// bytes per row.
func TestMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 200,000 rows")
	}
	peak, retained := heapUse(func(tick func()) any { return readGenerated(t, benchRows, tick) })
	t.Logf("200,000 rows: peak heap %.1f MiB, retained %.1f B/row", float64(peak)/(1<<20), float64(retained)/benchRows)
	if perRow := retained / benchRows; perRow > 64 {
		t.Errorf("retained %d bytes per row after reading, want at most 64 (the duplicate index)", perRow)
	}
	if peak > 64<<20 {
		t.Errorf("peak heap %d MiB, want under 64 MiB", peak>>20)
	}
}

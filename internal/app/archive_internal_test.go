package app

import (
	"fmt"
	"testing"
)

// The page cache keeps to its byte budget and leaves huge pages out.
func TestArchiveCacheBudget(t *testing.T) {
	c := (&App{}).archiveCache()
	page := make([]byte, 5<<20)
	for i := range 10 {
		c.addPage(fmt.Sprint(i), page)
		c.addPage(fmt.Sprint(i), page) // again: counted once
	}
	if b := c.bytes.Load(); b > archiveCacheBytes || b != int64(c.pages.Len())*int64(len(page)) {
		t.Errorf("cache holds %d pages, counted as %d bytes (budget %d)", c.pages.Len(), b, archiveCacheBytes)
	}
	if !c.pages.Contains("9") || c.pages.Contains("0") {
		t.Errorf("the newest page should stay and the oldest go")
	}
	c.addPage("huge", make([]byte, archiveCacheBytes/2))
	if c.pages.Contains("huge") {
		t.Errorf("a page of half the budget was cached")
	}
}

package httpserver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"newsletter/internal/app"
	"newsletter/internal/redistest"
)

// publishN creates and publishes n editions a minute apart, oldest first,
// and returns their ids.
func publishN(t *testing.T, a *app.App, n int) []string {
	t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var ids []string
	for i := range n {
		a.Now = func() time.Time { return start.Add(time.Duration(i) * time.Minute) }
		md := fmt.Sprintf("---\nsubject: Nummer %02d\n---\nDe eerste regels van nummer %02d.\n\n## Kop\n\nMeer.\n", i, i)
		e, _, err := a.CreateEdition(ctx, fmt.Sprintf("nummer-%d.md", i), []byte(md))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Publish(ctx, e.ID, []string{"bedrijven"}, app.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	a.Now = time.Now
	return ids
}

// The index is paged, newest first, with dates written the Dutch way and
// an excerpt (the first lines) per edition.
func TestArchiveIndexPaged(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	mustList(t, a, "bedrijven", who)
	ids := publishN(t, a, app.ArchivePerPage+3)
	h := serve(a, nil)

	p1 := do(h, "GET", "/archive/", "", nil).Body.String()
	if n := strings.Count(p1, `<h2 lang=`); n != app.ArchivePerPage {
		t.Errorf("page 1 lists %d editions, want %d", n, app.ArchivePerPage)
	}
	newest := ids[len(ids)-1]
	if !strings.Contains(p1, `href="/archive/`+newest+`"`) || strings.Contains(p1, `href="/archive/`+ids[0]+`"`) {
		t.Errorf("page 1 should start with the newest and leave out the oldest:\n%s", p1)
	}
	for _, want := range []string{"1 december 2026", "De eerste regels van nummer 22.", "Pagina 1 van 2", `href="/archive/?page=2"`, "<h1>Eerdere nieuwsbrieven</h1>"} {
		if !strings.Contains(p1, want) {
			t.Errorf("page 1 lacks %q", want)
		}
	}
	if strings.Contains(p1, "Kop") || strings.Contains(p1, "December") {
		t.Errorf("page 1 shows a heading in an excerpt or an English month")
	}
	p2 := do(h, "GET", "/archive/?page=2", "", nil).Body.String()
	if n := strings.Count(p2, `<h2 lang=`); n != 3 || !strings.Contains(p2, `href="/archive/`+ids[0]+`"`) {
		t.Errorf("page 2 lists %d editions, want the 3 oldest:\n%s", n, p2)
	}
	for _, bad := range []string{"3", "0", "x"} {
		if rec := do(h, "GET", "/archive/?page="+bad, "", nil); rec.Code != http.StatusNotFound {
			t.Errorf("page %s: %d, want 404", bad, rec.Code)
		}
	}
}

// A cancelled edition leaves the cache with the index; a damaged record
// (a draft's or a published edition's) does not take the archive down.
func TestArchiveCacheAndDamage(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	ctx := context.Background()
	mustList(t, a, "bedrijven", who)
	draft := mustEdition(t, a, "Concept")
	ids := publishN(t, a, 3)
	h := serve(a, nil)
	for range 2 { // the second answer comes from the cache
		if rec := do(h, "GET", "/archive/"+ids[1], "", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Nummer 01") {
			t.Fatalf("GET edition: %d", rec.Code)
		}
	}
	// Cancel ids[1]: it is still sending (no worker runs here).
	if _, err := a.Cancel(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	if rec := do(h, "GET", "/archive/"+ids[1], "", nil); rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "Nummer 01") {
		t.Errorf("cancelled edition still served from the cache: %d", rec.Code)
	}
	if body := do(h, "GET", "/archive/", "", nil).Body.String(); strings.Contains(body, "Nummer 01") {
		t.Errorf("cancelled edition still on the index")
	}

	rdb := redistest.Client(t)
	for _, id := range []string{draft.ID, ids[2]} {
		if err := rdb.Set(ctx, a.Cfg.RedisPrefix+"{e:"+id+"}:doc", "{not json", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{"/archive/", "/archive/feed.atom"} {
		rec := do(h, "GET", path, "", nil)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Nummer 00") {
			t.Errorf("GET %s with a damaged record: %d\n%s", path, rec.Code, rec.Body)
		}
	}
	// ids[2] was cached before it was damaged: its page is still served;
	// a fresh server (empty cache) leaves it out of the index.
	b := openApp(t, func(c *app.Config) { c.RedisPrefix = a.Cfg.RedisPrefix })
	body := do(serve(b, nil), "GET", "/archive/", "", nil).Body.String()
	if !strings.Contains(body, "Nummer 00") || strings.Contains(body, "Nummer 02") {
		t.Errorf("fresh server: index should show Nummer 00 and leave out the damaged Nummer 02:\n%s", body)
	}
	// The index made again from the records (as for data from before it
	// existed) skips the damaged ones too.
	pre := a.Cfg.RedisPrefix
	for _, k := range []string{pre + "archive:built", pre + "archive:ids", pre + "archive:hashes"} { // one by one: on a cluster they live in other slots
		if err := rdb.Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	c := openApp(t, func(c *app.Config) { c.RedisPrefix = pre })
	body = do(serve(c, nil), "GET", "/archive/", "", nil).Body.String()
	if !strings.Contains(body, "Nummer 00") || strings.Contains(body, "Nummer 01") || strings.Contains(body, "Nummer 02") {
		t.Errorf("rebuilt index: want only Nummer 00:\n%s", body)
	}
}

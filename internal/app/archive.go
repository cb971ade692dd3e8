package app

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"newsletter"
	"newsletter/internal/redisstore"
	"newsletter/internal/render"
)

// The public archive is read by anyone, often, and changes only when an
// edition is published or cancelled. So it reads the archive index (never
// the drafts), renders each edition once and keeps the page, keyed by the
// edition's id and content hash: a cancelled edition leaves the index, and
// content that changed would have another hash.

// ArchivePerPage is how many editions one page of the archive index shows.
const ArchivePerPage = 20

// archiveCacheSize bounds the cache: this many rendered pages, together
// at most archiveCacheBytes, and ten times as many index entries.
const (
	archiveCacheSize  = 64
	archiveCacheBytes = 32 << 20
)

// ArchiveItem is one edition on the archive index and in the feed.
type ArchiveItem struct {
	ID, Subject, Excerpt, Author, Language string
	PublishedAt                            time.Time
}

// ArchiveIndex is one page of the archive index.
type ArchiveIndex struct {
	Items       []ArchiveItem
	Page, Pages int // Page counts from 1; Pages is at least 1
	Total       int
}

type archiveCache struct {
	pages   *lru.Cache[string, []byte]
	bytes   atomic.Int64 // size of the cached pages
	items   *lru.Cache[string, ArchiveItem]
	flights singleflight.Group
}

func (a *App) archiveCache() *archiveCache {
	a.archiveOnce.Do(func() {
		c := &archiveCache{}
		c.pages, _ = lru.NewWithEvict(archiveCacheSize, func(_ string, p []byte) { c.bytes.Add(-int64(len(p))) })
		c.items, _ = lru.New[string, ArchiveItem](10 * archiveCacheSize)
		a.archive = c
	})
	return a.archive
}

// addPage caches a rendered page, dropping the least recently used ones
// while the pages take more than archiveCacheBytes.
func (c *archiveCache) addPage(key string, p []byte) {
	if len(p) > archiveCacheBytes/4 {
		return // a huge edition is rendered each time rather than crowd out the rest
	}
	if !c.pages.Contains(key) {
		c.bytes.Add(int64(len(p)))
	}
	c.pages.Add(key, p)
	for c.bytes.Load() > archiveCacheBytes && c.pages.Len() > 1 {
		c.pages.RemoveOldest()
	}
}

// ArchiveIndexPage returns page (from 1) of the archive index, newest
// first. A page past the end is not found; page 1 of an empty archive is
// an empty index.
func (a *App) ArchiveIndexPage(ctx context.Context, page, perPage int) (*ArchiveIndex, error) {
	if perPage <= 0 {
		perPage = ArchivePerPage
	}
	if page < 1 {
		return nil, newsletter.Errorf(newsletter.ENOTFOUND, "archive page %d does not exist: pages count from 1", page)
	}
	entries, total, err := a.store.ArchiveEntries(ctx, (page-1)*perPage, perPage)
	if err != nil {
		return nil, err
	}
	pages := max(1, (total+perPage-1)/perPage)
	if page > pages {
		return nil, newsletter.Errorf(newsletter.ENOTFOUND, "archive page %d does not exist: there are %d", page, pages)
	}
	out := &ArchiveIndex{Page: page, Pages: pages, Total: total}
	c := a.archiveCache()
	for _, en := range entries {
		it, err := a.archiveItem(ctx, c, en)
		if err != nil {
			// One damaged record must not take the archive down: leave
			// it out and say so in the log.
			a.Logger.Error("archive: edition left out of the index", "edition_id", en.ID, "err", err)
			continue
		}
		out.Items = append(out.Items, it)
	}
	return out, nil
}

func (a *App) archiveItem(ctx context.Context, c *archiveCache, en redisstore.ArchiveEntry) (ArchiveItem, error) {
	key := en.ID + "\x00" + en.Hash
	if it, ok := c.items.Get(key); ok {
		return it, nil
	}
	v, err, _ := c.flights.Do("item\x00"+key, func() (any, error) {
		e, err := a.store.GetEdition(ctx, en.ID)
		if err != nil {
			return nil, err
		}
		it := ArchiveItem{ID: e.ID, Subject: e.Subject, Excerpt: render.Excerpt(e, 240), Author: e.Author,
			Language: e.Language, PublishedAt: e.PublishedAt}
		if e.Hash == en.Hash {
			c.items.Add(key, it)
		}
		return it, nil
	})
	if err != nil {
		return ArchiveItem{}, err
	}
	return v.(ArchiveItem), nil
}

// ArchivePage returns the public web version of an edition that went out,
// rendered once per edition and content.
func (a *App) ArchivePage(ctx context.Context, id string) ([]byte, error) {
	en, ok, err := a.store.ArchiveEntryOf(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, newsletter.Errorf(newsletter.ENOTFOUND, "edition %s is not in the archive", id)
	}
	c := a.archiveCache()
	key := en.ID + "\x00" + en.Hash
	if p, ok := c.pages.Get(key); ok {
		return p, nil
	}
	v, err, _ := c.flights.Do("page\x00"+key, func() (any, error) {
		e, err := a.store.GetEdition(ctx, id)
		if err != nil {
			return nil, err
		}
		if !redisstore.Archived(e) || e.Hash != en.Hash {
			return nil, newsletter.Errorf(newsletter.ENOTFOUND, "edition %s is not in the archive", id)
		}
		p, err := a.Renderer.Archive(e, a.archiveLinks(e))
		if err != nil {
			return nil, err
		}
		c.addPage(key, p)
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

func (a *App) archiveLinks(e *newsletter.Edition) render.ArchiveLinks {
	return render.ArchiveLinks{
		Canonical: a.Links.WebVersion(e.ID),
		Index:     a.Links.ArchiveURL(),
		Subscribe: a.Links.Base + "/subscribe",
	}
}

// archiveState keeps the cache beside the App.
type archiveState struct {
	archiveOnce sync.Once
	archive     *archiveCache
}

package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
)

// The archive index lists the editions the public archive shows (frozen
// and not cancelled), by publication time, with each one's content hash.
// The archive reads it instead of every edition record, so a request never
// loads a draft, and the hash keys the rendered pages' cache. UpdateEdition
// keeps it current; RebuildArchiveIndex makes it from the records, once,
// for data written before it existed.

func (s *Store) archiveIDs() string    { return s.key("archive", "ids") }
func (s *Store) archiveHashes() string { return s.key("archive", "hashes") }
func (s *Store) archiveBuilt() string  { return s.key("archive", "built") }

// Archived reports whether e belongs in the public archive: it went out
// (its content is frozen) and was not cancelled.
func Archived(e *newsletter.Edition) bool {
	return e.Hash != "" && e.State != newsletter.EditionCancelled
}

// ArchiveEntry is one edition of the archive index.
type ArchiveEntry struct {
	ID, Hash    string
	PublishedAt time.Time
}

// indexArchive puts e in the archive index or takes it out.
func (s *Store) indexArchive(ctx context.Context, pipe redis.Pipeliner, e *newsletter.Edition) {
	if Archived(e) {
		pipe.ZAdd(ctx, s.archiveIDs(), redis.Z{Score: float64(e.PublishedAt.UnixMilli()), Member: e.ID})
		pipe.HSet(ctx, s.archiveHashes(), e.ID, e.Hash)
		return
	}
	pipe.ZRem(ctx, s.archiveIDs(), e.ID)
	pipe.HDel(ctx, s.archiveHashes(), e.ID)
}

// ArchiveEntries returns up to limit entries of the archive index from
// offset on, newest first, and how many there are in all.
func (s *Store) ArchiveEntries(ctx context.Context, offset, limit int) ([]ArchiveEntry, int, error) {
	if err := s.ensureArchiveIndex(ctx); err != nil {
		return nil, 0, err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	zs := pipe.ZRevRangeWithScores(ctx, s.archiveIDs(), int64(offset), int64(offset+limit-1))
	total := pipe.ZCard(ctx, s.archiveIDs())
	if err := execPipe(ctx, pipe); err != nil {
		return nil, 0, err
	}
	if len(zs.Val()) == 0 {
		return nil, int(total.Val()), nil
	}
	ids := make([]string, len(zs.Val()))
	for i, z := range zs.Val() {
		ids[i], _ = z.Member.(string)
	}
	hashes, err := s.rdb.HMGet(ctx, s.archiveHashes(), ids...).Result()
	if err != nil {
		return nil, 0, unavailable(err)
	}
	out := make([]ArchiveEntry, 0, len(ids))
	for i, id := range ids {
		h, _ := hashes[i].(string)
		out = append(out, ArchiveEntry{ID: id, Hash: h, PublishedAt: time.UnixMilli(int64(zs.Val()[i].Score)).UTC()})
	}
	return out, int(total.Val()), nil
}

// ArchiveEntryOf returns the index entry of edition id; ok is false when
// the archive does not show it.
func (s *Store) ArchiveEntryOf(ctx context.Context, id string) (e ArchiveEntry, ok bool, err error) {
	if err := s.ensureArchiveIndex(ctx); err != nil {
		return e, false, err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	score := pipe.ZScore(ctx, s.archiveIDs(), id)
	hash := pipe.HGet(ctx, s.archiveHashes(), id)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return e, false, unavailable(err)
	}
	if score.Err() != nil || hash.Err() != nil {
		return e, false, nil
	}
	return ArchiveEntry{ID: id, Hash: hash.Val(), PublishedAt: time.UnixMilli(int64(score.Val())).UTC()}, true, nil
}

// ensureArchiveIndex builds the index the first time it is needed.
func (s *Store) ensureArchiveIndex(ctx context.Context) error {
	cctx, cancel := s.ctx(ctx)
	n, err := s.rdb.Exists(cctx, s.archiveBuilt()).Result()
	cancel()
	if err != nil {
		return unavailable(err)
	}
	if n == 1 {
		return nil
	}
	_, err = s.RebuildArchiveIndex(ctx)
	return err
}

// RebuildArchiveIndex makes the archive index from the edition records. A
// record that is missing or cannot be read is left out (and returned), so
// one damaged edition never takes the archive down.
func (s *Store) RebuildArchiveIndex(ctx context.Context) (skipped []string, err error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	ids, err := s.rdb.ZRange(ctx, s.key("editions"), 0, -1).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), editionsBatch)]
		ids = ids[len(batch):]
		read := s.rdb.Pipeline()
		docs := make([]*redis.StringCmd, len(batch))
		for i, id := range batch {
			docs[i] = read.Get(ctx, s.ed(id, "doc"))
		}
		if _, err := read.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, unavailable(err)
		}
		write := s.rdb.Pipeline()
		for i, id := range batch {
			b, err := docs[i].Bytes()
			if err != nil {
				skipped = append(skipped, id)
				continue
			}
			e, err := decodeEdition(id, b)
			if err != nil {
				skipped = append(skipped, id)
				continue
			}
			e.ID = id
			s.indexArchive(ctx, write, e)
		}
		if err := execPipe(ctx, write); err != nil {
			return nil, err
		}
	}
	return skipped, unavailable(s.rdb.Set(ctx, s.archiveBuilt(), "1", 0).Err())
}

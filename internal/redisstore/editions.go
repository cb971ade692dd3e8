package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid"
	"github.com/redis/go-redis/v9"

	"newsletter"
)

// NewEditionID returns a sortable, URL-safe edition id.
func (s *Store) NewEditionID() string {
	return strings.ToLower(ulid.MustNew(ulid.Timestamp(s.Now()), rand.Reader).String())
}

// CreateEdition stores a new draft and sets its ID and CreatedAt.
func (s *Store) CreateEdition(ctx context.Context, e *newsletter.Edition) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if e.ID == "" {
		e.ID = s.NewEditionID()
	}
	e.CreatedAt = s.Now().UTC()
	if e.State == "" {
		e.State = newsletter.EditionDraft
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	ok, err := s.rdb.SetNX(ctx, s.ed(e.ID, "doc"), b, 0).Result()
	if err != nil {
		return unavailable(err)
	}
	if !ok {
		return newsletter.Errorf(newsletter.ECONFLICT, "edition %s already exists", e.ID)
	}
	return unavailable(s.rdb.ZAdd(ctx, s.key("editions"), redis.Z{Score: float64(e.CreatedAt.UnixMilli()), Member: e.ID}).Err())
}

// GetEdition returns an edition or a not-found error that says what to do.
func (s *Store) GetEdition(ctx context.Context, id string) (*newsletter.Edition, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	b, err := s.rdb.Get(ctx, s.ed(id, "doc")).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, newsletter.Errorf(newsletter.ENOTFOUND, "edition %q does not exist: `newsletter editions create --file FILE` prints the id", id)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return decodeEdition(id, b)
}

// decodeEdition parses the stored record of edition id.
func decodeEdition(id string, b []byte) (*newsletter.Edition, error) {
	var e newsletter.Edition
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, newsletter.Errorf(newsletter.EINTERNAL, "edition %s: its stored record is corrupt (%w)", id, err)
	}
	return &e, nil
}

// editionsBatch bounds how many records one pipelined read asks for.
const editionsBatch = 500

// Editions returns editions newest first (limit <= 0: all). The records are
// read in pipelined batches (each record has its own hash tag, so one MGET
// could not serve them on Redis Cluster). An edition that is listed but
// whose record is missing or unreadable is an error naming it.
func (s *Store) Editions(ctx context.Context, limit int) ([]*newsletter.Edition, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	stop := int64(-1)
	if limit > 0 {
		stop = int64(limit - 1)
	}
	ids, err := s.rdb.ZRevRange(ctx, s.key("editions"), 0, stop).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]*newsletter.Edition, 0, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(len(ids), editionsBatch)]
		ids = ids[len(batch):]
		pipe := s.rdb.Pipeline()
		docs := make([]*redis.StringCmd, len(batch))
		for i, id := range batch {
			docs[i] = pipe.Get(ctx, s.ed(id, "doc"))
		}
		if err := execPipe(ctx, pipe); err != nil {
			return nil, err
		}
		for i, id := range batch {
			b, err := docs[i].Bytes()
			if errors.Is(err, redis.Nil) {
				return nil, newsletter.Errorf(newsletter.EINTERNAL, "edition %s is listed in %s but has no record %s", id, s.key("editions"), s.ed(id, "doc"))
			}
			if err != nil {
				return nil, unavailable(err)
			}
			e, err := decodeEdition(id, b)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// UpdateEdition applies fn to the stored edition atomically (WATCH). Frozen
// content cannot change: fn may only change state fields once published.
// The archive index follows the change.
func (s *Store) UpdateEdition(ctx context.Context, id string, fn func(e *newsletter.Edition) error) (*newsletter.Edition, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	key := s.ed(id, "doc")
	var out *newsletter.Edition
	var fnErr error // fn's own error, returned as it is
	for range 10 {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			b, err := tx.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				return newsletter.Errorf(newsletter.ENOTFOUND, "edition %q does not exist", id)
			}
			if err != nil {
				return err
			}
			e, err := decodeEdition(id, b)
			if err != nil {
				return err
			}
			before := ContentHash(e)
			frozen := e.Hash != ""
			if fnErr = fn(e); fnErr != nil {
				return fnErr
			}
			if frozen && ContentHash(e) != before {
				return newsletter.Errorf(newsletter.ECONFLICT, "edition %s is published and frozen: create a new edition to change its content", id)
			}
			nb, err := json.Marshal(e)
			if err != nil {
				return newsletter.Errorf(newsletter.EINTERNAL, "edition %s: %w", id, err)
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, nb, 0)
				return nil
			})
			out = e
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if fnErr != nil {
			return nil, fnErr
		}
		if err != nil {
			return nil, unavailable(err)
		}
		// After the record, not in its transaction: the index keys are in
		// another hash slot. Writing the same change again repairs it.
		pipe := s.rdb.Pipeline()
		s.indexArchive(ctx, pipe, out)
		if err := execPipe(ctx, pipe); err != nil {
			return nil, fmt.Errorf("edition %s was saved, but the archive index was not updated (%w): do the same again", id, err)
		}
		return out, nil
	}
	return nil, newsletter.Errorf(newsletter.ECONFLICT, "edition %s is being changed by someone else: try again", id)
}

// ContentHash is the SHA-256 of everything that ends up in the email.
func ContentHash(e *newsletter.Edition) string {
	h := sha256.New()
	for _, f := range []string{e.Subject, e.Preheader, e.Language, e.Title, e.Greeting, e.Body, e.SignOff,
		e.Author, e.AuthorRole, e.HeroImageURL, e.HeroImageAlt, e.CTAText, e.CTAURL} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Freeze marks the edition published to lists (added to any it already went
// to) and fixes its content hash. It returns the lists that are new.
func (s *Store) Freeze(ctx context.Context, id string, lists []string) (*newsletter.Edition, []string, error) {
	var added []string
	e, err := s.UpdateEdition(ctx, id, func(e *newsletter.Edition) error {
		switch e.State {
		case newsletter.EditionCancelled:
			return newsletter.Errorf(newsletter.ECONFLICT, "edition %s was cancelled: create a new edition", id)
		}
		if e.Hash == "" {
			e.Hash = ContentHash(e)
			e.PublishedAt = s.Now().UTC()
		}
		added = nil
		for _, l := range lists {
			if !slices.Contains(e.Lists, l) {
				e.Lists = append(e.Lists, l)
				added = append(added, l)
			}
		}
		if e.State == newsletter.EditionDraft || e.State == newsletter.EditionScheduled || len(added) > 0 {
			e.State = newsletter.EditionPublished
		}
		e.ScheduledAt = time.Time{}
		return nil
	})
	return e, added, err
}

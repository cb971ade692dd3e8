package redisstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"newsletter"
)

// The search index is one sorted set of "token\x00email" members (all
// score 0), where the tokens are the accent-folded, lower-cased words of a
// subscriber's address, name, organisation and attribute values. A search
// reads the range of its longest word as a prefix (ZRANGEBYLEX), so a page
// costs a few round trips whatever the number of subscribers. It is kept
// on every write that changes those fields; entries left by a path that
// does not keep it are harmless, because every candidate is checked
// against the stored record.

const searchSep = "\x00"

func (s *Store) searchKey() string { return s.key("sx") }

// Fold lower-cases s and strips its accents: "Mariëtte" → "mariette".
// ASCII has no accents to strip; other text goes through a transformer
// from a pool (a chain holds buffers of some KB, which the import of a
// large list made anew for every subscriber: half of all it allocated).
func Fold(s string) string {
	if ascii(s) {
		return strings.ToLower(s)
	}
	t := foldChains.Get().(transform.Transformer)
	out, _, err := transform.String(t, s) // String resets t first
	foldChains.Put(t)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}

var foldChains = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// haystack is the folded text a search looks in for one subscriber record.
func haystack(h map[string]string) string {
	parts := []string{h["email"], h["name"], h["organisation"]}
	if a := h["attrs"]; a != "" && a != "null" {
		var attrs map[string]string
		_ = json.Unmarshal([]byte(a), &attrs)
		keys := make([]string, 0, len(attrs))
		for k := range attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, attrs[k])
		}
	}
	return Fold(strings.Join(parts, "\n"))
}

// searchMembers are the index entries of one subscriber record.
func searchMembers(email string, h map[string]string) []string {
	if email == "" {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, w := range words(haystack(h)) {
		if len(w) > 64 {
			w = w[:64]
		}
		if !seen[w] {
			seen[w] = true
			out = append(out, w+searchSep+email)
		}
	}
	return out
}

// reindex replaces the index entries of email's old record by those of
// its new one (either may be empty), in pipe.
func (s *Store) reindex(ctx context.Context, pipe redis.Pipeliner, email string, old, cur map[string]string) {
	keep := map[string]bool{}
	var add []redis.Z
	for _, m := range searchMembers(email, cur) {
		keep[m] = true
		add = append(add, redis.Z{Member: m})
	}
	var rem []any
	for _, m := range searchMembers(email, old) {
		if !keep[m] {
			rem = append(rem, m)
		}
	}
	if len(rem) > 0 {
		pipe.ZRem(ctx, s.searchKey(), rem...)
	}
	if len(add) > 0 {
		pipe.ZAdd(ctx, s.searchKey(), add...)
	}
}

// merged is h with the fields of a HSET argument list applied.
func merged(h map[string]string, fields []any) map[string]string {
	out := make(map[string]string, len(h)+len(fields)/2)
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(fields); i += 2 {
		k, _ := fields[i].(string)
		v, _ := fields[i+1].(string)
		out[k] = v
	}
	return out
}

// ensureSearchIndex builds the index once for a store written before it
// existed (one pass over every subscriber, in batches). The pass goes on
// if the request that started it ends, so it is done only once.
func (s *Store) ensureSearchIndex(ctx context.Context) error {
	if s.searchReady.Load() {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	c, cancel := s.ctx(ctx)
	n, err := s.rdb.Exists(c, s.key("sx", "built")).Result()
	cancel()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		err := s.ScanSubscribers(ctx, "", 500, func(subs []*newsletter.Subscriber, _ []map[string]string) error {
			c, cancel := s.ctx(ctx)
			defer cancel()
			pipe := s.rdb.Pipeline()
			for _, sub := range subs {
				attrs, _ := json.Marshal(sub.Attributes)
				s.reindex(c, pipe, sub.Email, nil, map[string]string{"email": sub.Email, "name": sub.Name, "organisation": sub.Organisation, "attrs": string(attrs)})
			}
			return execPipe(c, pipe)
		})
		if err != nil {
			return err
		}
		c, cancel := s.ctx(ctx)
		err = s.rdb.Set(c, s.key("sx", "built"), "1", 0).Err()
		cancel()
		if err != nil {
			return unavailable(err)
		}
	}
	s.searchReady.Store(true)
	return nil
}

// rarestWord is the word of ws that starts the fewest index entries (one
// pipelined ZLEXCOUNT per word): the search reads that word's range.
func (s *Store) rarestWord(ctx context.Context, ws []string) (string, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	counts := make([]*redis.IntCmd, len(ws))
	for i, w := range ws {
		if len(w) > 64 {
			ws[i] = w[:64]
		}
		counts[i] = pipe.ZLexCount(c, s.searchKey(), "["+ws[i], "("+ws[i]+"\xff")
	}
	if err := execPipe(c, pipe); err != nil {
		return "", err
	}
	best := 0
	for i := range ws {
		if counts[i].Val() < counts[best].Val() {
			best = i
		}
	}
	return ws[best], nil
}

// Search finds subscribers whose address, name, organisation or attribute
// values contain every word of query, ignoring case and accents
// ("mariette" finds "Mariëtte"); the word of the query that starts the
// fewest words in the index must start a word of theirs. At most limit per page; NextCursor says where to go on. An empty
// query pages through everyone in address order. Neither reads more than a
// bounded number of records per page.
func (s *Store) Search(ctx context.Context, query string, limit int, cursor string) (*newsletter.SearchResult, error) {
	if limit <= 0 {
		limit = 50
	}
	if limit > 1000 {
		return nil, newsletter.Errorf(newsletter.EINVALID, "limit %d is too large: use at most 1000 and follow next_cursor", limit)
	}
	var after string
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) == 0 {
			return nil, newsletter.Errorf(newsletter.EINVALID, "cursor %q is not one this server gave out: pass the next_cursor of the previous page, or none to start", cursor)
		}
		after = string(b)
	}
	q := Fold(strings.TrimSpace(query))
	ws := words(q)
	if len(ws) == 0 {
		return s.pageAll(ctx, limit, after)
	}
	if err := s.ensureSearchIndex(ctx); err != nil {
		return nil, err
	}
	probe, err := s.rarestWord(ctx, ws)
	if err != nil {
		return nil, err
	}
	start := "[" + probe
	if after != "" {
		if !strings.HasPrefix(after, probe) {
			return nil, newsletter.Errorf(newsletter.EINVALID, "cursor %q belongs to another search: search again without it", cursor)
		}
		start = "(" + after
	}
	const batch = 200
	const budget = 5000 // candidates examined per page, so one page is never slow
	res := &newsletter.SearchResult{Subscribers: []newsletter.SearchHit{}}
	seen := map[string]bool{}
	examined := 0
	for {
		c, cancel := s.ctx(ctx)
		members, err := s.rdb.ZRangeByLex(c, s.searchKey(), &redis.ZRangeBy{Min: start, Max: "(" + probe + "\xff", Count: batch}).Result()
		cancel()
		if err != nil {
			return nil, unavailable(err)
		}
		emails := make([]string, len(members))
		for i, m := range members {
			_, emails[i], _ = strings.Cut(m, searchSep)
		}
		hs, ls, err := s.loadSubscribers(ctx, emails)
		if err != nil {
			return nil, err
		}
		for i, e := range emails {
			examined++
			if h := hs[i]; len(h) > 0 && !seen[e] && containsAll(haystack(h), ws) {
				seen[e] = true
				res.Subscribers = append(res.Subscribers, hit(h, ls[i]))
			}
			if len(res.Subscribers) == limit || examined >= budget {
				if i < len(members)-1 || len(members) == batch {
					res.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(members[i]))
				}
				return res, nil
			}
		}
		if len(members) < batch {
			return res, nil
		}
		start = "(" + members[len(members)-1]
	}
}

func containsAll(hay string, ws []string) bool {
	for _, w := range ws {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

func hit(h, lists map[string]string) newsletter.SearchHit {
	m := map[string]newsletter.MembershipStatus{}
	for k, v := range lists {
		m[k] = newsletter.MembershipStatus(v)
	}
	return newsletter.SearchHit{Subscriber: subscriberFrom(h), Lists: m}
}

// pageAll is one page of every subscriber in address order, after the
// address after.
func (s *Store) pageAll(ctx context.Context, limit int, after string) (*newsletter.SearchResult, error) {
	start := "-"
	if after != "" {
		start = "(" + after
	}
	c, cancel := s.ctx(ctx)
	emails, err := s.rdb.ZRangeByLex(c, s.key("subs"), &redis.ZRangeBy{Min: start, Max: "+", Count: int64(limit) + 1}).Result()
	cancel()
	if err != nil {
		return nil, unavailable(err)
	}
	res := &newsletter.SearchResult{Subscribers: []newsletter.SearchHit{}}
	more := len(emails) > limit
	if more {
		emails = emails[:limit]
	}
	hs, ls, err := s.loadSubscribers(ctx, emails)
	if err != nil {
		return nil, err
	}
	for i := range emails {
		if len(hs[i]) > 0 {
			res.Subscribers = append(res.Subscribers, hit(hs[i], ls[i]))
		}
	}
	if more && len(emails) > 0 {
		res.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(emails[len(emails)-1]))
	}
	return res, nil
}

// MembersPage is one page of list's subscribed members (SSCAN order, so a
// page costs one round trip plus one to load the records); cursor "" or
// "0" starts, NextCursor "" is the end.
func (s *Store) MembersPage(ctx context.Context, list, cursor string, limit int) (*newsletter.SearchResult, error) {
	var cur uint64
	if cursor != "" {
		if _, err := fmt.Sscanf(cursor, "%d", &cur); err != nil {
			return nil, newsletter.Errorf(newsletter.EINVALID, "cursor %q is not one this server gave out: start again without it", cursor)
		}
	}
	c, cancel := s.ctx(ctx)
	emails, next, err := s.rdb.SScan(c, s.members(list), cur, "", int64(limit)).Result()
	cancel()
	if err != nil {
		return nil, unavailable(err)
	}
	sort.Strings(emails)
	hs, ls, err := s.loadSubscribers(ctx, emails)
	if err != nil {
		return nil, err
	}
	res := &newsletter.SearchResult{Subscribers: []newsletter.SearchHit{}}
	for i := range emails {
		if len(hs[i]) > 0 {
			res.Subscribers = append(res.Subscribers, hit(hs[i], ls[i]))
		}
	}
	if next != 0 {
		res.NextCursor = fmt.Sprint(next)
	}
	return res, nil
}

package redisstore

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"newsletter"
)

// Backups are JSON lines: a header, then one record per key under the
// prefix. Every key family is included by scanning generically (lists,
// subscribers, memberships, editions, deliveries and their counters,
// suppressions and their audit log, accounts, schedules, marks), so a key
// family added later is in the backup without a change here. Streams are
// not: they are work in flight (take a backup with the workers idle), and
// their consumer groups cannot be restored meaningfully.

// BackupFormat and BackupVersion name the format in the header line.
// Version 2 is version 1 with a delivery's time and claim in its state
// field; version 3 adds an edition's default list, whose deliveries have
// no list field. This release restores all three; an earlier one refuses
// a version it does not know instead of misreading it.
const (
	BackupFormat  = "newsletter-backup"
	BackupVersion = 3
)

// BackupHeader is the first line of a backup.
type BackupHeader struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"created_at"`
	// Kinds counts the records by kind (informative).
	Kinds map[string]int `json:"kinds,omitempty"`
}

// BackupRecord is one key: its name after the prefix, its Redis type, its
// time to live (0: none) and its value. Base64 says that the key and
// every string in the value are base64 (a value that is not UTF-8).
type BackupRecord struct {
	Kind   string          `json:"kind"`
	Key    string          `json:"key"`
	Type   string          `json:"type"`
	TTLms  int64           `json:"ttl_ms,omitempty"`
	Base64 bool            `json:"base64,omitempty"`
	Value  json.RawMessage `json:"value"`
}

// ZMember is one member of a sorted set in a backup.
type ZMember struct {
	Member string  `json:"member"`
	Score  float64 `json:"score"`
}

// BackupKind names the family of a key (after the prefix), for people
// reading a backup: list, membership, subscriber, suppression, edition,
// delivery, account, schedule, or other.
func BackupKind(key string) string {
	switch {
	case key == "lists" || strings.HasPrefix(key, "list:"):
		return "list"
	case strings.HasPrefix(key, "{l:"):
		return "membership"
	case strings.HasPrefix(key, "{s:"), key == "subs", strings.HasPrefix(key, "status:"), key == "erased", strings.HasPrefix(key, "bounces:"):
		return "subscriber"
	case strings.HasPrefix(key, "supp"):
		return "suppression"
	case strings.HasPrefix(key, "{e:") && strings.HasSuffix(key, "}:doc"), key == "editions":
		return "edition"
	case strings.HasPrefix(key, "{e:"), strings.HasPrefix(key, "msg:"), strings.HasPrefix(key, "msgs:"):
		return "delivery"
	case strings.HasPrefix(key, "acc"), strings.HasPrefix(key, "user"), strings.HasPrefix(key, "{a:"), strings.HasPrefix(key, "session"), strings.HasPrefix(key, "token"):
		return "account"
	case strings.HasPrefix(key, "sched"):
		return "schedule"
	}
	return "other"
}

// Backup writes every key under the prefix except streams to w, sorted by
// key. It returns the number of records.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int, error) {
	var keys []string
	err := s.scanKeys(ctx, "*", "", func(ks []string) error {
		keys = append(keys, ks...)
		return nil
	})
	if err != nil {
		return 0, err
	}
	sort.Strings(keys)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	recs := make([]BackupRecord, 0, len(keys))
	kinds := map[string]int{}
	for len(keys) > 0 {
		batch := keys[:min(len(keys), 200)]
		keys = keys[len(batch):]
		rs, err := s.readKeys(ctx, batch)
		if err != nil {
			return 0, err
		}
		for _, r := range rs {
			kinds[r.Kind]++
		}
		recs = append(recs, rs...)
	}
	if err := enc.Encode(BackupHeader{Format: BackupFormat, Version: BackupVersion, Prefix: s.prefix, CreatedAt: s.Now().UTC(), Kinds: kinds}); err != nil {
		return 0, err
	}
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return 0, err
		}
	}
	return len(recs), bw.Flush()
}

// readKeys reads the type, TTL and value of each key (keys gone since the
// scan, and streams, are left out).
func (s *Store) readKeys(ctx context.Context, keys []string) ([]BackupRecord, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	types := make([]*redis.StatusCmd, len(keys))
	ttls := make([]*redis.DurationCmd, len(keys))
	for i, k := range keys {
		types[i] = pipe.Type(c, k)
		ttls[i] = pipe.PTTL(c, k)
	}
	if err := execPipe(c, pipe); err != nil {
		return nil, err
	}
	pipe = s.rdb.Pipeline()
	vals := make([]redis.Cmder, len(keys))
	for i, k := range keys {
		switch types[i].Val() {
		case "string":
			vals[i] = pipe.Get(c, k)
		case "hash":
			vals[i] = pipe.HGetAll(c, k)
		case "set":
			vals[i] = pipe.SMembers(c, k)
		case "zset":
			vals[i] = pipe.ZRangeWithScores(c, k, 0, -1)
		case "list":
			vals[i] = pipe.LRange(c, k, 0, -1)
		case "none", "stream":
		default:
			return nil, newsletter.Errorf(newsletter.EINTERNAL, "backup: key %s has type %s, which backups do not know", k, types[i].Val())
		}
	}
	if err := execPipe(c, pipe); err != nil {
		return nil, err
	}
	var out []BackupRecord
	for i, k := range keys {
		if vals[i] == nil {
			continue
		}
		var strs []string // every string of the value, to decide on base64
		var v any
		switch cmd := vals[i].(type) {
		case *redis.StringCmd:
			if errors.Is(cmd.Err(), redis.Nil) {
				continue
			}
			v = cmd.Val()
			strs = []string{cmd.Val()}
		case *redis.MapStringStringCmd:
			v = cmd.Val()
			for f, x := range cmd.Val() {
				strs = append(strs, f, x)
			}
		case *redis.StringSliceCmd:
			l := cmd.Val()
			if types[i].Val() == "set" {
				sort.Strings(l)
			}
			v, strs = l, l
		case *redis.ZSliceCmd:
			zs := make([]ZMember, len(cmd.Val()))
			for j, z := range cmd.Val() {
				zs[j] = ZMember{Member: fmt.Sprint(z.Member), Score: z.Score}
				strs = append(strs, zs[j].Member)
			}
			v = zs
		}
		name := strings.TrimPrefix(k, s.prefix)
		r := BackupRecord{Kind: BackupKind(name), Key: name, Type: types[i].Val()}
		if d := ttls[i].Val(); d > 0 {
			r.TTLms = d.Milliseconds()
		}
		strs = append(strs, name)
		for _, x := range strs {
			if !utf8.ValidString(x) {
				r.Base64 = true
				break
			}
		}
		if r.Base64 {
			r.Key = b64(name)
			v = mapStrings(v, b64)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		r.Value = b
		out = append(out, r)
	}
	return out, nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func unb64(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	return string(b), err
}

// mapStrings applies f to every string of a backup value.
func mapStrings(v any, f func(string) string) any {
	switch x := v.(type) {
	case string:
		return f(x)
	case map[string]string:
		m := make(map[string]string, len(x))
		for k, y := range x {
			m[f(k)] = f(y)
		}
		return m
	case []string:
		l := make([]string, len(x))
		for i, y := range x {
			l[i] = f(y)
		}
		return l
	case []ZMember:
		l := make([]ZMember, len(x))
		for i, y := range x {
			l[i] = ZMember{Member: f(y.Member), Score: y.Score}
		}
		return l
	}
	return v
}

// RestoreReport says what a restore wrote.
type RestoreReport struct {
	Records int            `json:"records"`
	Kinds   map[string]int `json:"kinds"`
}

// Restore loads a backup into the prefix, which must hold no key at all.
// With dryRun it only checks the file (every bad line is an error naming
// its number) and the emptiness, and writes nothing.
func (s *Store) Restore(ctx context.Context, r io.Reader, dryRun bool) (*RestoreReport, error) {
	if n, err := s.countKeys(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		return nil, newsletter.Errorf(newsletter.ECONFLICT,
			"Redis already holds data under the prefix %q (%d keys or more): restore needs an empty one; point NEWSLETTER_REDIS_URL at a fresh Redis, or set NEWSLETTER_REDIS_PREFIX to an unused prefix", s.prefix, n)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 512<<20)
	rep := &RestoreReport{Kinds: map[string]int{}}
	line := 0
	bad := func(format string, args ...any) error {
		return newsletter.Errorf(newsletter.EINVALID, "backup line %d: "+format, append([]any{line}, args...)...)
	}
	var pending []writeOp
	flush := func() error {
		if dryRun || len(pending) == 0 {
			pending = pending[:0]
			return nil
		}
		c, cancel := s.ctx(ctx)
		defer cancel()
		pipe := s.rdb.Pipeline()
		for _, op := range pending {
			op(c, pipe)
		}
		pending = pending[:0]
		return execPipe(c, pipe)
	}
	for sc.Scan() {
		line++
		if line == 1 {
			var h BackupHeader
			if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Format != BackupFormat {
				return nil, bad("not a newsletter backup header (want {\"format\":%q,\"version\":%d,...}): write the file with `newsletter backup > FILE`", BackupFormat, BackupVersion)
			}
			if h.Version < 1 || h.Version > BackupVersion {
				return nil, bad("backup format version %d; this program reads versions 1 to %d: restore with the release that wrote it", h.Version, BackupVersion)
			}
			continue
		}
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		op, rec, err := s.parseRecord(sc.Bytes())
		if err != nil {
			return nil, bad("%v", err)
		}
		rep.Records++
		rep.Kinds[rec.Kind]++
		pending = append(pending, op)
		if len(pending) >= 500 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, newsletter.Errorf(newsletter.EINVALID, "backup line %d: %v", line+1, err)
	}
	if line == 0 {
		return nil, newsletter.Errorf(newsletter.EINVALID, "the backup is empty: write it with `newsletter backup > FILE`")
	}
	return rep, flush()
}

type writeOp func(ctx context.Context, p redis.Pipeliner)

// parseRecord checks one record line and returns the writes that restore it.
func (s *Store) parseRecord(b []byte) (writeOp, *BackupRecord, error) {
	var r BackupRecord
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, nil, fmt.Errorf("not a record (%v)", err)
	}
	if r.Key == "" || len(r.Value) == 0 {
		return nil, nil, errors.New("a record needs a key and a value")
	}
	if r.TTLms < 0 {
		return nil, nil, fmt.Errorf("key %s: ttl_ms %d is negative", r.Key, r.TTLms)
	}
	dec64 := func(x string) (string, error) { return x, nil }
	if r.Base64 {
		dec64 = unb64
	}
	name, err := dec64(r.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("key %q is not base64: %v", r.Key, err)
	}
	key := s.prefix + name
	var firstErr error
	d := func(x string) string {
		y, err := dec64(x)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("key %s: a value is not base64: %v", name, err)
		}
		return y
	}
	var op writeOp
	switch r.Type {
	case "string":
		var v string
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return nil, nil, fmt.Errorf("key %s: a string value must be a JSON string (%v)", name, err)
		}
		v = d(v)
		op = func(c context.Context, p redis.Pipeliner) { p.Set(c, key, v, 0) }
	case "hash":
		var v map[string]string
		if err := json.Unmarshal(r.Value, &v); err != nil || len(v) == 0 {
			return nil, nil, fmt.Errorf("key %s: a hash value must be a non-empty JSON object of strings (%v)", name, err)
		}
		v = mapStrings(v, d).(map[string]string)
		op = func(c context.Context, p redis.Pipeliner) { p.HSet(c, key, v) }
	case "set", "list":
		var v []string
		if err := json.Unmarshal(r.Value, &v); err != nil || len(v) == 0 {
			return nil, nil, fmt.Errorf("key %s: a %s value must be a non-empty JSON array of strings (%v)", name, r.Type, err)
		}
		v = mapStrings(v, d).([]string)
		args := make([]any, len(v))
		for i, x := range v {
			args[i] = x
		}
		if r.Type == "set" {
			op = func(c context.Context, p redis.Pipeliner) { p.SAdd(c, key, args...) }
		} else {
			op = func(c context.Context, p redis.Pipeliner) { p.RPush(c, key, args...) }
		}
	case "zset":
		var v []ZMember
		if err := json.Unmarshal(r.Value, &v); err != nil || len(v) == 0 {
			return nil, nil, fmt.Errorf("key %s: a zset value must be a non-empty JSON array of {member, score} (%v)", name, err)
		}
		v = mapStrings(v, d).([]ZMember)
		zs := make([]redis.Z, len(v))
		for i, z := range v {
			zs[i] = redis.Z{Member: z.Member, Score: z.Score}
		}
		op = func(c context.Context, p redis.Pipeliner) { p.ZAdd(c, key, zs...) }
	default:
		return nil, nil, fmt.Errorf("key %s: type %q is not one of string, hash, set, zset, list", name, r.Type)
	}
	if firstErr != nil {
		return nil, nil, firstErr
	}
	if r.TTLms > 0 {
		inner, ttl := op, time.Duration(r.TTLms)*time.Millisecond
		op = func(c context.Context, p redis.Pipeliner) { inner(c, p); p.PExpire(c, key, ttl) }
	}
	return op, &r, nil
}

// countKeys returns how many keys the prefix holds (stopping early: it
// only needs to tell empty from not).
func (s *Store) countKeys(ctx context.Context) (int, error) {
	n := 0
	stop := errors.New("stop")
	err := s.scanKeys(ctx, "*", "", func(keys []string) error {
		n += len(keys)
		if n >= 1000 {
			return stop
		}
		return nil
	})
	if errors.Is(err, stop) {
		err = nil
	}
	return n, err
}

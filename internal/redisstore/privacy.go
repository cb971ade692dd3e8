package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/address"
)

// PersonalData is everything the store holds about one address (the
// AVG/GDPR access request).
type PersonalData struct {
	Email       string                  `json:"email"`
	Hash        string                  `json:"hash"` // SHA-256 of the normalised address
	Subscriber  map[string]string       `json:"subscriber"`
	Memberships map[string]string       `json:"memberships"`
	Sets        []string                `json:"sets"` // list sets (live and deleted lists) holding the address
	Suppression *newsletter.Suppression `json:"suppression"`
	Erased      bool                    `json:"erased"`
	Deliveries  []PersonDelivery        `json:"deliveries"`
	TestSends   []PersonTestSend        `json:"test_sends"`
	SoftBounces []time.Time             `json:"soft_bounces"`
	AuditLog    []json.RawMessage       `json:"audit_log"`
	// StreamEntries counts queue entries (per stream) that still mention
	// the address.
	StreamEntries map[string]int `json:"stream_entries"`
}

// PersonDelivery is one edition's delivery to the address.
type PersonDelivery struct {
	EditionID string `json:"edition_id"`
	List      string `json:"list,omitempty"` // the list the delivery came from
	State     string `json:"state"`
	MessageID string `json:"message_id,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// PersonTestSend is one test send of an edition to the address.
type PersonTestSend struct {
	EditionID string `json:"edition_id"`
	MessageID string `json:"message_id"`
}

// ErasureReport says what Erase did.
type ErasureReport struct {
	Hash             string `json:"hash"`
	Found            bool   `json:"found"` // anything was stored
	KeysDeleted      int    `json:"keys_deleted"`
	SetsLeft         int    `json:"sets_left"`
	EditionsCleaned  int    `json:"editions_cleaned"`
	MessageIDs       int    `json:"message_ids"`
	AuditLinesHashed int    `json:"audit_lines_hashed"`
	StreamTrimmed    int64  `json:"stream_entries_trimmed"`
	PoisonRemoved    int    `json:"poison_entries_removed"`
	// PendingStreamEntries are entries not yet processed by every consumer
	// group that still mention the address, per stream. They are not
	// deleted (a worker may be about to handle them: the send step skips an
	// erased address); run the erase again once the workers are idle.
	PendingStreamEntries map[string]int `json:"pending_stream_entries"`
}

// PersonalData collects everything stored about email. topics are the
// streams whose entries are searched.
func (s *Store) PersonalData(ctx context.Context, email string) (*PersonalData, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	pd := &PersonalData{Email: email, Hash: address.Hash(email), Memberships: map[string]string{},
		Deliveries: []PersonDelivery{}, TestSends: []PersonTestSend{}, SoftBounces: []time.Time{}, AuditLog: []json.RawMessage{}}
	pipe := s.rdb.Pipeline()
	sub := pipe.HGetAll(c, s.subKey(email))
	lists := pipe.HGetAll(c, s.subLists(email))
	supp := pipe.HGet(c, s.key("supp"), email)
	erased := pipe.SIsMember(c, s.key("erased"), pd.Hash)
	bounces := pipe.ZRangeWithScores(c, s.key("bounces", email), 0, -1)
	if err := execPipe(c, pipe); err != nil {
		return nil, err
	}
	if len(sub.Val()) > 0 {
		pd.Subscriber = sub.Val()
	}
	pd.Memberships = lists.Val()
	if v := supp.Val(); v != "" {
		var sp newsletter.Suppression
		if json.Unmarshal([]byte(v), &sp) == nil {
			pd.Suppression = &sp
		}
	}
	pd.Erased = erased.Val()
	for _, z := range bounces.Val() {
		pd.SoftBounces = append(pd.SoftBounces, time.UnixMilli(int64(z.Score)).UTC())
	}
	sets, err := s.setsContaining(ctx, email)
	if err != nil {
		return nil, err
	}
	for _, k := range sets {
		pd.Sets = append(pd.Sets, strings.TrimPrefix(k, s.prefix))
	}
	if pd.Sets == nil {
		pd.Sets = []string{}
	}
	err = s.editionTraces(ctx, email, func(t editionTrace) {
		if t.state != "" {
			pd.Deliveries = append(pd.Deliveries, PersonDelivery{EditionID: t.id, List: t.list, State: t.state, MessageID: t.mid, Reason: t.why})
		}
		if t.test != "" {
			pd.TestSends = append(pd.TestSends, PersonTestSend{EditionID: t.id, MessageID: t.test})
		}
	})
	if err != nil {
		return nil, err
	}
	re := emailPattern(email)
	err = s.scanAuditLog(ctx, func(_ int64, line string) error {
		if re.MatchString(line) {
			pd.AuditLog = append(pd.AuditLog, json.RawMessage(line))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pd.StreamEntries, err = s.streamMentions(ctx, email, "")
	return pd, err
}

// Erase removes every personal datum about email and keeps only its hash
// in the erased set, so the address is not mailed and not re-imported
// without an explicit override. Delivery counters stay as they were: they
// are statistics, not personal data. trimTopics are trimmed first (entries
// every consumer group has acknowledged go); entries of poisonTopic that
// mention the address are deleted (nobody processes that dead-letter
// stream); other remaining entries that mention it are counted, not
// deleted.
//
// An address that is not stored is left alone unless block is set: then it
// is recorded as erased, so it is never mailed or imported silently.
func (s *Store) Erase(ctx context.Context, email string, trimTopics []string, poisonTopic string, block bool) (*ErasureReport, error) {
	rep := &ErasureReport{Hash: address.Hash(email), PendingStreamEntries: map[string]int{}}
	c, cancel := s.ctx(ctx)
	defer cancel()

	// What to remove: found first, so message ids are known before their
	// records go.
	var traces []editionTrace
	if err := s.editionTraces(ctx, email, func(t editionTrace) { traces = append(traces, t) }); err != nil {
		return nil, err
	}
	sets, err := s.setsContaining(ctx, email)
	if err != nil {
		return nil, err
	}
	// bounces: has no hash tag: a key of its own on a cluster, so asked
	// apart from the {s:} keys (one multi-key command must stay in a slot).
	n, err := s.rdb.Exists(c, s.subKey(email), s.subLists(email)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	nb, err := s.rdb.Exists(c, s.key("bounces", email)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	n += nb
	inSupp, err := s.rdb.HExists(c, s.key("supp"), email).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	rec, err := s.rdb.HGetAll(c, s.subKey(email)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	rep.Found = n > 0 || len(sets) > 0 || len(traces) > 0 || inSupp
	if !rep.Found && !block {
		// Nothing to erase: change nothing, rather than refuse the
		// address for ever because of a typo.
		return rep, nil
	}

	pipe := s.rdb.Pipeline()
	// Erased first: from here on no send or fan-out mails the address.
	pipe.SAdd(c, s.key("erased"), rep.Hash)
	del := pipe.Del(c, s.subKey(email), s.subLists(email))
	delBounces := pipe.Del(c, s.key("bounces", email))
	pipe.ZRem(c, s.key("subs"), email)
	pipe.HDel(c, s.key("supp"), email)
	s.reindex(c, pipe, email, merged(rec, []any{"email", email}), nil)
	for _, k := range sets {
		pipe.SRem(c, k, email)
	}
	for _, st := range []newsletter.SubscriberStatus{newsletter.SubscriberUnsubscribed, newsletter.SubscriberBlocklisted} {
		pipe.SRem(c, s.statusSet(st), email)
	}
	var msgKeys, mids []string
	for _, t := range traces {
		for _, part := range slices.Concat(editionParts, claimParts) {
			pipe.HDel(c, s.ed(t.id, part), email)
		}
		for _, mid := range []string{t.mid, t.test} {
			if mid != "" {
				msgKeys = append(msgKeys, s.key("msg", mid))
				mids = append(mids, mid)
			}
		}
	}
	for _, k := range msgKeys { // each in its own slot on a cluster
		pipe.Del(c, k)
	}
	if len(mids) > 0 {
		// The day the email was sent on is not kept: every day's index.
		for _, b := range s.msgBuckets() {
			pipe.HDel(c, b, mids...)
		}
	}
	if err := execPipe(c, pipe); err != nil {
		return nil, err
	}
	rep.KeysDeleted = int(del.Val() + delBounces.Val())
	// Any other per-edition hash keyed by email goes too; HDEL of an email
	// from a counter hash is a no-op, so counters stay.
	err = s.scanKeys(ctx, "{e:*", "hash", func(keys []string) error {
		c, cancel := s.ctx(ctx)
		defer cancel()
		pipe := s.rdb.Pipeline()
		for _, k := range keys {
			pipe.HDel(c, k, email)
		}
		return execPipe(c, pipe)
	})
	if err != nil {
		return nil, err
	}
	rep.SetsLeft = len(sets)
	rep.EditionsCleaned = len(traces)
	rep.MessageIDs = len(msgKeys)

	// Audit lines keep what happened, with the hash instead of the address.
	re := emailPattern(email)
	hashed := "sha256:" + rep.Hash
	err = s.scanAuditLog(ctx, func(i int64, line string) error {
		if !re.MatchString(line) {
			return nil
		}
		c, cancel := s.ctx(ctx)
		defer cancel()
		rep.AuditLinesHashed++
		return unavailable(s.rdb.LSet(c, s.key("supp", "log"), i, re.ReplaceAllString(line, "${1}"+hashed+"${3}")).Err())
	})
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(map[string]string{"email": hashed, "action": "erase", "reason": "erased on request (AVG/GDPR)", "at": ms(s.Now())})
	if err := s.rdb.RPush(c, s.key("supp", "log"), string(b)).Err(); err != nil {
		return nil, unavailable(err)
	}

	for _, t := range trimTopics {
		n, err := s.Trim(ctx, t)
		if err != nil {
			return nil, err
		}
		rep.StreamTrimmed += n
	}
	poison := ""
	if poisonTopic != "" {
		poison = s.Stream(poisonTopic)
	}
	mentions, err := s.streamMentions(ctx, email, poison)
	if err != nil {
		return nil, err
	}
	for k, n := range mentions {
		if k == poison {
			rep.PoisonRemoved = n
			continue
		}
		rep.PendingStreamEntries[k] = n
	}
	return rep, nil
}

// emailPattern matches email case-insensitively, also JSON-escaped.
//
// It matches the whole address only: "an@example.org" does not match inside
// "jan@example.org" (a character of a local part before it) or
// "an@example.org.uk" (a domain character after it). Group 1 and 3 are the
// boundaries, kept on replacement.
func emailPattern(email string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)(^|[^A-Za-z0-9.!#$%&'*+/=?^_` + "`" + `{|}~-])(` + regexp.QuoteMeta(email) +
		`)($|[^A-Za-z0-9.-]|\.$|\.[^A-Za-z0-9-])`)
}

type editionTrace struct {
	id, state, mid, why, test, list string
}

// editionParts are the per-edition hashes keyed by email.
var editionParts = []string{"st", "mid", "why", "test", "lst"}

// claimParts are the per-edition hashes keyed by email that the send step
// writes besides (when the state changed, who holds a claim).
var claimParts = []string{"at", "own"}

// editionTraces calls fn for every edition that has a delivery or a test
// send to email, reading the editions in pipelined batches.
func (s *Store) editionTraces(ctx context.Context, email string, fn func(editionTrace)) error {
	const batch = 200
	for start := int64(0); ; start += batch {
		c, cancel := s.ctx(ctx)
		ids, err := s.rdb.ZRange(c, s.key("editions"), start, start+batch-1).Result()
		if err != nil {
			cancel()
			return unavailable(err)
		}
		pipe := s.rdb.Pipeline()
		cmds := make([][5]*redis.StringCmd, len(ids))
		dflt := make([]*redis.StringCmd, len(ids))
		for i, id := range ids {
			for j, part := range editionParts {
				cmds[i][j] = pipe.HGet(c, s.ed(id, part), email)
			}
			dflt[i] = pipe.Get(c, s.ed(id, "dl"))
		}
		if len(ids) > 0 {
			if err := execPipe(c, pipe); err != nil {
				cancel()
				return err
			}
		}
		cancel()
		for i, id := range ids {
			t := editionTrace{id: id, state: string(stateOf(cmds[i][0].Val())), mid: cmds[i][1].Val(), why: cmds[i][2].Val(), test: cmds[i][3].Val(), list: cmds[i][4].Val()}
			if errors.Is(cmds[i][4].Err(), redis.Nil) && t.state != "" {
				t.list = dflt[i].Val() // from the edition's default list (listLua)
			}
			if t.state != "" || t.mid != "" || t.why != "" || t.test != "" || t.list != "" {
				fn(t)
			}
		}
		if len(ids) < batch {
			return nil
		}
	}
}

// globEscape makes s literal in a SCAN MATCH pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// setsContaining returns the list sets (members, unconfirmed, left, and
// those of deleted lists) that hold email.
func (s *Store) setsContaining(ctx context.Context, email string) ([]string, error) {
	var out []string
	err := s.scanKeys(ctx, "{l:*", "set", func(keys []string) error {
		c, cancel := s.ctx(ctx)
		defer cancel()
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.BoolCmd, len(keys))
		for i, k := range keys {
			cmds[i] = pipe.SIsMember(c, k, email)
		}
		if err := execPipe(c, pipe); err != nil {
			return err
		}
		for i, k := range keys {
			if cmds[i].Val() {
				out = append(out, k)
			}
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// scanAuditLog calls fn with each line of the suppression audit log and its
// index, in batches.
func (s *Store) scanAuditLog(ctx context.Context, fn func(i int64, line string) error) error {
	const batch = 1000
	for start := int64(0); ; start += batch {
		c, cancel := s.ctx(ctx)
		lines, err := s.rdb.LRange(c, s.key("supp", "log"), start, start+batch-1).Result()
		cancel()
		if err != nil {
			return unavailable(err)
		}
		for i, l := range lines {
			if err := fn(start+int64(i), l); err != nil {
				return err
			}
		}
		if len(lines) < batch {
			return nil
		}
	}
}

// streamMentions counts, per stream under the prefix, the entries whose
// fields mention email. Matching entries of deleteIn are deleted.
func (s *Store) streamMentions(ctx context.Context, email, deleteIn string) (map[string]int, error) {
	out := map[string]int{}
	re := emailPattern(email)
	err := s.scanKeys(ctx, "*", "stream", func(keys []string) error {
		for _, k := range keys {
			start := "-"
			for {
				c, cancel := s.ctx(ctx)
				entries, err := s.rdb.XRangeN(c, k, start, "+", 500).Result()
				cancel()
				if err != nil {
					return unavailable(err)
				}
				var hits []string
				for _, e := range entries {
					for f, v := range e.Values {
						if re.MatchString(f) || re.MatchString(fmt.Sprint(v)) {
							hits = append(hits, e.ID)
							break
						}
					}
				}
				if len(hits) > 0 {
					out[k] += len(hits)
					if k == deleteIn {
						c, cancel := s.ctx(ctx)
						err := s.rdb.XDel(c, k, hits...).Err()
						cancel()
						if err != nil {
							return unavailable(err)
						}
					}
				}
				if len(entries) < 500 {
					break
				}
				start = "(" + entries[len(entries)-1].ID
			}
		}
		return nil
	})
	return out, err
}

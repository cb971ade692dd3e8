package redisstore

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
)

// transitionScript applies a batch of delivery state transitions atomically,
// keeping the per-state counters, and the per-list counters of the list each
// delivery is attributed to, in step. ARGV holds groups of six: email,
// allowed current states ("" = no delivery yet, else comma-separated), new
// state, SES message id, reason, list (attributed when the delivery is
// created). For each it returns "+<previous>" when the transition happened,
// else the current state.
var transitionScript = redis.NewScript(stateLua + listLua + `
local out = {}
for i = 2, #ARGV, 6 do
  local email, from, to, mid, why, list = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4], ARGV[i+5]
  local cur = stateOf(redis.call('HGET', KEYS[1], email))
  local ok = false
  if from == '' then
    ok = (cur == '')
  else
    for f in string.gmatch(from, '[^,]+') do
      if f == cur then ok = true break end
    end
  end
  if ok then
    redis.call('HSET', KEYS[1], email, to .. '\t' .. ARGV[1])
    if cur == '' then
      redis.call('HINCRBY', KEYS[2], 'total', 1)
      local f = listField(list)
      if f then redis.call('HSET', KEYS[5], email, f) end
    else
      redis.call('HINCRBY', KEYS[2], cur, -1)
      list = listOf(redis.call('HGET', KEYS[5], email)) or ''
    end
    redis.call('HINCRBY', KEYS[2], to, 1)
    if list ~= '' then
      if cur == '' then
        redis.call('HINCRBY', KEYS[6], list .. '\t' .. 'total', 1)
      else
        redis.call('HINCRBY', KEYS[6], list .. '\t' .. cur, -1)
      end
      redis.call('HINCRBY', KEYS[6], list .. '\t' .. to, 1)
    end
    if why ~= '' then redis.call('HSET', KEYS[4], email, why) end
    out[#out+1] = '+' .. cur
  else
    out[#out+1] = cur
  end
  -- An SES event may overtake the recording of the send: the message id
  -- is kept whatever state the delivery reached meanwhile.
  if mid ~= '' and (ok or cur ~= '') then redis.call('HSET', KEYS[3], email, mid) end
end
return out
`)

// Transition applies ts to edition id in one atomic script call, in order
// (a later transition sees the effect of an earlier one). Each is a
// compare-and-set: with From empty it creates the delivery only when there
// is none; otherwise it happens only when the current state is one of
// From. Either way its result reports the state it found. The store does
// not know the state graph: the caller's From says which moves are legal.
// A MessageID is recorded whenever the delivery exists, even if the move is
// refused (an SES event may have moved it on already); Reason only when the
// move happens. A state that is not one of newsletter.DeliveryStates is
// refused (EINVALID) before anything is written.
func (s *Store) Transition(ctx context.Context, id string, ts []newsletter.Transition) ([]newsletter.TransitionResult, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	// The script trusts its arguments: an unknown or empty state would be
	// counted under a key no report shows (and an empty one would read back
	// as "no delivery"), so the whole call is refused before it runs.
	for _, t := range ts {
		if !slices.Contains(newsletter.DeliveryStates, t.To) {
			return nil, newsletter.Errorf(newsletter.EINVALID, "delivery to %s in edition %s: %q is not a delivery state (one of %v)", t.Email, id, t.To, newsletter.DeliveryStates)
		}
		for _, f := range t.From {
			if !slices.Contains(newsletter.DeliveryStates, f) {
				return nil, newsletter.Errorf(newsletter.EINVALID, "delivery to %s in edition %s: from-state %q is not a delivery state (one of %v; an empty From means no delivery yet)", t.Email, id, f, newsletter.DeliveryStates)
			}
		}
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	args := make([]any, 0, 1+len(ts)*6)
	args = append(args, s.Now().UnixMilli())
	for _, t := range ts {
		from := make([]string, len(t.From))
		for i, f := range t.From {
			from[i] = string(f)
		}
		args = append(args, t.Email, strings.Join(from, ","), string(t.To), t.MessageID, t.Reason, t.List)
	}
	res, err := transitionScript.Run(ctx, s.rdb, s.deliveryKeys(id), args...).StringSlice()
	if err != nil {
		return nil, unavailable(err)
	}
	return transitionResults(res), nil
}

// transitionResults reads the delivery scripts' answers: "+state" for a
// move that happened (state is the new one), "state" for one refused
// (the current state, "" when there is no delivery).
func transitionResults(res []string) []newsletter.TransitionResult {
	out := make([]newsletter.TransitionResult, len(res))
	for i, r := range res {
		if p, ok := strings.CutPrefix(r, "+"); ok {
			out[i] = newsletter.TransitionResult{Done: true, Current: newsletter.DeliveryState(p)}
		} else {
			out[i] = newsletter.TransitionResult{Current: newsletter.DeliveryState(r)}
		}
	}
	return out
}

// The message-id index matches an SES MessageId to its delivery, for the
// events that carry no tags (identity notifications): it is the edition's
// own hash of message ids ({e:<id>}:mid, email → message id, written with
// the send's outcome), asked for the event's recipients edition by edition,
// newest first. Sending writes nothing more than the outcome: a global
// index (message id → delivery) cost every send one more hash field, for
// events that a configuration set's event publishing never needs it for.
// Earlier versions kept one: a hash per UTC day of sending,
// "msgs:2006-01-02" (message id → "edition email"), and before that keys
// "msg:<id>"; they are still read until they expire.

// msgBucket is the earlier versions' index hash of the day t falls on.
func (s *Store) msgBucket(t time.Time) string { return s.key("msgs", t.UTC().Format(time.DateOnly)) }

// msgBuckets are the earlier versions' index hashes of every day that may
// still be kept, newest first.
func (s *Store) msgBuckets() []string {
	now := s.Now()
	days := int(messageIDTTL/(24*time.Hour)) + 2
	out := make([]string, days)
	for d := range out {
		out[d] = s.msgBucket(now.Add(time.Duration(-d) * 24 * time.Hour))
	}
	return out
}

// indexScript: KEYS st, mid; ARGV pairs of email and message id. A message
// id is kept only where the edition has a delivery to the email (an
// erased address gets no trace back).
var indexScript = redis.NewScript(`
for i = 1, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i+1])
  end
end
return 0
`)

// IndexMessageIDs remembers which delivery of edition id each SES
// MessageId belongs to (emailToMsgID: email → message id), so that events
// without tags are matched; only deliveries that exist are indexed.
func (s *Store) IndexMessageIDs(ctx context.Context, id string, emailToMsgID map[string]string) error {
	if len(emailToMsgID) == 0 {
		return nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	args := make([]any, 0, 2*len(emailToMsgID))
	for email, mid := range emailToMsgID {
		args = append(args, email, mid)
	}
	return unavailable(indexScript.Run(ctx, s.rdb, []string{s.ed(id, "st"), s.ed(id, "mid")}, args...).Err())
}

// lookupPages are how many editions each step of LookupMessageID asks
// about: the newest few first (an event mostly follows its send closely),
// then larger pages.
var lookupPages = []int64{16, 256}

// LookupMessageID returns the edition and email an SES MessageId was sent
// for, among emails (the event's recipients): it asks the earlier
// versions' indexes, then the editions' message ids, newest edition first,
// a page of editions per round trip. ENOTFOUND when no edition sent
// messageID to any of emails.
func (s *Store) LookupMessageID(ctx context.Context, messageID string, emails []string) (edition, email string, err error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if edition, email, err = s.lookupOlderIndex(ctx, messageID); err == nil || newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		return edition, email, err
	}
	emails = slices.DeleteFunc(slices.Clone(emails), func(e string) bool { return e == "" })
	if len(emails) == 0 {
		return "", "", newsletter.ErrNotFound
	}
	for start, page := int64(0), 0; ; page = min(page+1, len(lookupPages)-1) {
		n := lookupPages[page]
		ids, err := s.rdb.ZRevRange(ctx, s.key("editions"), start, start+n-1).Result()
		if err != nil {
			return "", "", unavailable(err)
		}
		start += n
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.SliceCmd, len(ids))
		for i, id := range ids {
			cmds[i] = pipe.HMGet(ctx, s.ed(id, "mid"), emails...)
		}
		if len(ids) > 0 {
			if err := execPipe(ctx, pipe); err != nil {
				return "", "", err
			}
		}
		for i, c := range cmds {
			for j, v := range c.Val() {
				if m, _ := v.(string); m == messageID && j < len(emails) {
					return ids[i], emails[j], nil
				}
			}
		}
		if int64(len(ids)) < n {
			return "", "", newsletter.ErrNotFound
		}
	}
}

// lookupOlderIndex asks the indexes earlier versions wrote: every day's
// hash that may still be kept, and the per-id key, in one round trip.
func (s *Store) lookupOlderIndex(ctx context.Context, messageID string) (edition, email string, err error) {
	buckets := s.msgBuckets()
	cmds := make([]*redis.StringCmd, 0, len(buckets)+1)
	pipe := s.rdb.Pipeline()
	for _, b := range buckets {
		cmds = append(cmds, pipe.HGet(ctx, b, messageID))
	}
	cmds = append(cmds, pipe.Get(ctx, s.key("msg", messageID)))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return "", "", unavailable(err)
	}
	for _, c := range cmds {
		if v, err := c.Result(); err == nil {
			edition, email, _ = strings.Cut(v, " ")
			return edition, email, nil
		}
	}
	return "", "", newsletter.ErrNotFound
}

// Counts returns the per-state delivery counts of an edition, plus "total".
func (s *Store) Counts(ctx context.Context, id string) (map[string]int64, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	h, err := s.rdb.HGetAll(ctx, s.ed(id, "n")).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := map[string]int64{"total": 0}
	for _, st := range newsletter.DeliveryStates {
		out[string(st)] = 0
	}
	for k, v := range h {
		n, _ := strconv.ParseInt(v, 10, 64)
		out[k] = n
	}
	return out, nil
}

// ListCounts returns an edition's delivery counts per list and state
// (list → state → n, plus "total").
func (s *Store) ListCounts(ctx context.Context, id string) (map[string]map[string]int64, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	h, err := s.rdb.HGetAll(ctx, s.ed(id, "ln")).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := map[string]map[string]int64{}
	for k, v := range h {
		list, state, ok := strings.Cut(k, "\t")
		if !ok {
			continue
		}
		if out[list] == nil {
			out[list] = map[string]int64{}
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		out[list][state] = n
	}
	return out, nil
}

// GetDelivery returns one delivery.
func (s *Store) GetDelivery(ctx context.Context, id, email string) (*newsletter.Delivery, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	st := pipe.HGet(ctx, s.ed(id, "st"), email)
	mid := pipe.HGet(ctx, s.ed(id, "mid"), email)
	why := pipe.HGet(ctx, s.ed(id, "why"), email)
	if err := execPipe(ctx, pipe); err != nil {
		return nil, err
	}
	if st.Val() == "" {
		return nil, newsletter.Errorf(newsletter.ENOTFOUND, "edition %s has no delivery to %s", id, email)
	}
	return &newsletter.Delivery{EditionID: id, Email: email, State: stateOf(st.Val()),
		MessageID: mid.Val(), Reason: why.Val()}, nil
}

// ScanDeliveries calls fn with batches of (email, state) of an edition.
func (s *Store) ScanDeliveries(ctx context.Context, id string, batch int, fn func(emails []string, states []newsletter.DeliveryState) error) error {
	return s.scanHash(ctx, s.ed(id, "st"), int64(batch), func(kv []string) error {
		emails := make([]string, 0, len(kv)/2)
		states := make([]newsletter.DeliveryState, 0, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			emails = append(emails, kv[i])
			states = append(states, stateOf(kv[i+1]))
		}
		return fn(emails, states)
	})
}

// RecordTestSend remembers a test send (not counted as the edition's send).
func (s *Store) RecordTestSend(ctx context.Context, id, email, messageID string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return unavailable(s.rdb.HSet(ctx, s.ed(id, "test"), email, messageID).Err())
}

// SNS replay marks: "pending" while one webhook delivery enqueues the
// event (expiring, so a crash there does not drop SNS's retry), then "done"
// for as long as SNS may redeliver.
const (
	snsPendingTTL = 2 * time.Minute
	snsDoneTTL    = 7 * 24 * time.Hour
)

// ClaimSNS marks an SNS message id pending unless it is marked, in one
// atomic SET NX, and returns the mark found: "" (the caller holds the new
// claim), "pending" or "done".
func (s *Store) ClaimSNS(ctx context.Context, snsMessageID string) (string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	k := s.key("sns", snsMessageID)
	ok, err := s.rdb.SetNX(ctx, k, "pending", snsPendingTTL).Result()
	if err != nil || ok {
		return "", unavailable(err)
	}
	v, err := s.rdb.Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		return "pending", nil // expired just now: let SNS retry
	}
	if v != "pending" {
		v = "done" // marks written before claims existed hold "1"
	}
	return v, unavailable(err)
}

// DoneSNS turns the claim into the lasting mark.
func (s *Store) DoneSNS(ctx context.Context, snsMessageID string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return unavailable(s.rdb.Set(ctx, s.key("sns", snsMessageID), "done", snsDoneTTL).Err())
}

// ForgetSeen drops the mark, when the event could not be enqueued.
func (s *Store) ForgetSeen(ctx context.Context, snsMessageID string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return unavailable(s.rdb.Del(ctx, s.key("sns", snsMessageID)).Err())
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// MarkOnce sets a marker key if absent and reports whether it was absent.
// Handlers use it to tell a first run from a redelivered one.
func (s *Store) MarkOnce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	ok, err := s.rdb.SetNX(ctx, s.key("mark", key), "running", ttl).Result()
	return ok, unavailable(err)
}

// GetMark returns a marker's value ("" if absent).
func (s *Store) GetMark(ctx context.Context, key string) (string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	v, err := s.rdb.Get(ctx, s.key("mark", key)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, unavailable(err)
}

// SetMark sets a marker's value.
func (s *Store) SetMark(ctx context.Context, key, value string, ttl time.Duration) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return unavailable(s.rdb.Set(ctx, s.key("mark", key), value, ttl).Err())
}

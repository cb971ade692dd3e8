package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
)

// The send step works per SES call: Claim takes a call's recipients
// (queued → sending) and re-checks them in one round trip, Record writes
// their outcomes in one more. Both scripts touch only the edition's {e:}
// keys, read and write every hash once per call (HMGET/HSET with all the
// call's fields) and add the counter deltas up before writing them, so
// their cost hardly grows with the recipients of a call. The emails of one
// call must be distinct.

// deliveryKeys are the keys the delivery scripts get, in this order.
func (s *Store) deliveryKeys(id string) []string {
	return []string{s.ed(id, "st"), s.ed(id, "n"), s.ed(id, "mid"), s.ed(id, "why"),
		s.ed(id, "lst"), s.ed(id, "ln"), s.ed(id, "at"), s.ed(id, "own"), s.ed(id, "dl")}
}

// listLua reads the list a delivery is attributed to. An edition whose
// first delivery this version created has a default list (KEYS[9], the
// first list it was fanned out to), and its deliveries from that list have
// no field in lst: most editions go to one list, and the field was an
// edition-sized hash written at the fan-out and read at every claim. A
// delivery from another list has its list in lst, one from no list the empty string.
// Editions of earlier versions have no default: every delivery with a list
// has its field. listOf(v) is the list of a delivery whose lst field reads
// v (nil for none); listField(l) is the field to write for list l, or nil
// to write none.
const listLua = `
local dflt = redis.call('GET', KEYS[9])
local function listOf(v)
  if not v then v = dflt end
  if not v or v == '' then return nil end
  return v
end
local function listField(l)
  if not dflt then
    if l == '' then return nil end
    return l
  end
  if l == dflt then return nil end
  return l
end
`

// stateLua reads a state field: "<state>" (as created, or written by an
// earlier version), "<state>\t<ms>" (moved at <ms>) or
// "sending\t<ms>\t<owner>\t<lease ms>" (claimed). The state and its time
// are one field, so a move writes one hash of the edition's size, not two.
const stateLua = `
local function stateOf(v)
  if not v then return '' end
  local i = string.find(v, '\t', 1, true)
  if i then return string.sub(v, 1, i - 1) end
  return v
end
`

// countLua adds counter deltas up (state → n, list → state → n) and writes
// them at the end; a per-list key ("list\tstate") is made once per call,
// not per email (making a Lua string per email cost a quarter of a
// script's time).
const countLua = `
local dn, dl = {}, {}
local function count(list, from, to)
  dn[from] = (dn[from] or 0) - 1
  dn[to] = (dn[to] or 0) + 1
  if list then
    local t = dl[list]
    if not t then t = {}; dl[list] = t end
    t[from] = (t[from] or 0) - 1
    t[to] = (t[to] or 0) + 1
  end
end
local function flush()
  for k, v in pairs(dn) do if v ~= 0 then redis.call('HINCRBY', KEYS[2], k, v) end end
  for l, t in pairs(dl) do
    for k, v in pairs(t) do if v ~= 0 then redis.call('HINCRBY', KEYS[6], l .. '\t' .. k, v) end end
  end
end
`

// claimScript: ARGV owner, now (unix ms), lease until (unix ms), emails.
// Per email it returns "+<list>" (claimed; the list it is attributed to,
// for the record to count under), "sending\t<owner>\t<lease ms>" or the
// state found ("" = no delivery). A claimed delivery's state field is
// "sending\t<now>\t<owner>\t<lease ms>", one value for the whole call:
// the time and who holds the claim ride in the field the move writes
// anyway. Claims of earlier versions kept the holder in the update-time
// hash ("at": "<ms>\t<owner>\t<lease ms>") or in "own"; both are still
// read.
var claimScript = redis.NewScript(stateLua + listLua + `
local n = #ARGV - 3
local emails = {unpack(ARGV, 4)}
local cur = redis.call('HMGET', KEYS[1], unpack(emails))
local lst = redis.call('HMGET', KEYS[5], unpack(emails))
local st, out, busy, k = {}, {}, {}, 0
local mine = 'sending\t' .. ARGV[2] .. '\t' .. ARGV[1] .. '\t' .. ARGV[3]
local plus = {} -- '+<list>' per list, made once
local moved = {} -- per list ('' for none): every move is queued -> sending
for i = 1, n do
  local raw = cur[i]
  local c = raw
  if raw ~= 'queued' then c = stateOf(raw) end -- as created: no need to split
  if c == 'queued' then
    st[k+1] = emails[i]; st[k+2] = mine; k = k + 2
    local key = listOf(lst[i]) or ''
    local p = plus[key]
    if not p then p = '+' .. key; plus[key] = p; moved[key] = 0 end
    moved[key] = moved[key] + 1
    out[i] = p
  elseif c == 'sending' then
    local held = string.match(raw, '^sending\t[^\t]*\t(.+)$')
    if held then
      out[i] = 'sending\t' .. held
    else
      out[i] = 'sending'
      busy[#busy+1] = i
    end
  else
    out[i] = c
  end
end
if k > 0 then
  redis.call('HSET', KEYS[1], unpack(st))
  local claimed = k / 2 -- two fields per claimed email
  redis.call('HINCRBY', KEYS[2], 'queued', -claimed)
  redis.call('HINCRBY', KEYS[2], 'sending', claimed)
  for l, m in pairs(moved) do
    if l ~= '' then
      redis.call('HINCRBY', KEYS[6], l .. '\tqueued', -m)
      redis.call('HINCRBY', KEYS[6], l .. '\tsending', m)
    end
  end
end
if #busy > 0 then
  local names = {}
  for j, i in ipairs(busy) do names[j] = emails[i] end
  local a = redis.call('HMGET', KEYS[7], unpack(names))
  local o = redis.call('HMGET', KEYS[8], unpack(names))
  for j, i in ipairs(busy) do
    local held = a[j] and string.match(a[j], '^[^\t]*\t(.*)$')
    out[i] = 'sending\t' .. (held or o[j] or '')
  end
end
return out
`)

// recordScript: ARGV now (unix ms), then groups of five: email, new state,
// message id, reason, list (as the claim read it; "" = read it here). A
// delivery moves when it is sending or unknown, to "<state>\t<now>"; a
// message id is kept whatever state the delivery reached meanwhile (an SES
// event may overtake the recording). Per email it returns "+<previous>"
// when it moved, else the state found.
var recordScript = redis.NewScript(stateLua + listLua + countLua + `
local n = (#ARGV - 1) / 5
local emails, lists, ask, askAt = {}, {}, {}, {}
for i = 1, n do
  local e, l = ARGV[5*i-3], ARGV[5*i+1]
  emails[i] = e
  if l == '' then
    ask[#ask+1] = e; askAt[#askAt+1] = i
  else
    lists[i] = l
  end
end
local cur = redis.call('HMGET', KEYS[1], unpack(emails))
if #ask > 0 then
  local got = redis.call('HMGET', KEYS[5], unpack(ask))
  for j, i in ipairs(askAt) do lists[i] = listOf(got[j]) end
end
-- Counters, not #t (a search per use), and each "+<state>" answer and
-- moved state made once per call, not per email.
local st, why, mid, out, moved, plus = {}, {}, {}, {}, {}, {}
local ns, nw, nm = 0, 0, 0
for i = 1, n do
  local e, to, m, r = emails[i], ARGV[5*i-2], ARGV[5*i-1], ARGV[5*i]
  local c = stateOf(cur[i])
  if c == 'sending' or c == 'unknown' then
    local v = moved[to]
    if not v then v = to .. '\t' .. ARGV[1]; moved[to] = v end
    st[ns+1] = e; st[ns+2] = v; ns = ns + 2
    if r ~= '' then why[nw+1] = e; why[nw+2] = r; nw = nw + 2 end
    count(lists[i], c, to)
    local p = plus[c]
    if not p then p = '+' .. c; plus[c] = p end
    out[i] = p
  else
    out[i] = c
  end
  if m ~= '' and c ~= '' then mid[nm+1] = e; mid[nm+2] = m; nm = nm + 2 end
end
if ns > 0 then
  redis.call('HSET', KEYS[1], unpack(st))
  if redis.call('EXISTS', KEYS[8]) == 1 then -- owners an earlier version kept
    local done = {}
    for j = 1, #st, 2 do done[#done+1] = st[j] end
    redis.call('HDEL', KEYS[8], unpack(done))
  end
  flush()
end
if nw > 0 then redis.call('HSET', KEYS[4], unpack(why)) end
if nm > 0 then redis.call('HSET', KEYS[3], unpack(mid)) end
return out
`)

// Claim moves emails of edition id from queued to sending for owner, with a
// lease (how long others must leave an unrecorded claim alone), and
// re-checks every address (Deliverable, and whether it is still a member
// of one of lists, the edition's: nil checks no membership), all in one
// pipelined round trip. Without names the claims carry no names
// (deliverableIn).
func (s *Store) Claim(ctx context.Context, id string, lists []string, names bool, owner string, lease time.Duration, emails []string) ([]newsletter.Claim, error) {
	if len(emails) == 0 {
		return nil, nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	now := s.Now()
	args := make([]any, 0, 3+len(emails))
	args = append(args, owner, now.UnixMilli(), now.Add(lease).UnixMilli())
	for _, e := range emails {
		args = append(args, e)
	}
	var claim *redis.Cmd
	var check func() []newsletter.Recipient
	err := s.scriptPipe(ctx, func(pipe redis.Pipeliner) {
		claim = claimScript.EvalSha(ctx, pipe, s.deliveryKeys(id), args...)
		check = s.deliverableIn(ctx, pipe, lists, names, emails)
	})
	if err != nil {
		return nil, err
	}
	res, err := claim.StringSlice()
	if err != nil {
		return nil, unavailable(err)
	}
	rcpts := check()
	out := make([]newsletter.Claim, len(emails))
	for i, r := range res {
		c := newsletter.Claim{Recipient: rcpts[i]}
		switch {
		case strings.HasPrefix(r, "+"):
			c.Claimed, c.Current, c.List = true, newsletter.DeliveryQueued, r[1:]
		case strings.HasPrefix(r, "sending\t") || r == "sending":
			c.Current = newsletter.DeliverySending
			f := strings.Split(r, "\t")
			if len(f) == 3 {
				c.Owner = f[1]
				if ms, err := strconv.ParseInt(f[2], 10, 64); err == nil {
					c.LeaseUntil = time.UnixMilli(ms)
				}
			}
		default:
			c.Current = newsletter.DeliveryState(r)
		}
		out[i] = c
	}
	return out, nil
}

// Record writes the outcomes of claimed deliveries of edition id, with the
// message ids of the accepted ones (the index LookupMessageID reads), in
// one script call. For
// each outcome it reports whether the delivery moved and from which state,
// or the state it found.
func (s *Store) Record(ctx context.Context, id string, outs []newsletter.SendOutcome) ([]newsletter.TransitionResult, error) {
	if len(outs) == 0 {
		return nil, nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	args := make([]any, 0, 1+5*len(outs))
	args = append(args, s.Now().UnixMilli())
	for _, o := range outs {
		args = append(args, o.Email, string(o.To), o.MessageID, o.Reason, o.List)
	}
	var rec *redis.Cmd
	err := s.scriptPipe(ctx, func(pipe redis.Pipeliner) {
		rec = recordScript.EvalSha(ctx, pipe, s.deliveryKeys(id), args...)
	})
	if err != nil {
		return nil, err
	}
	res, err := rec.StringSlice()
	if err != nil {
		return nil, unavailable(err)
	}
	return transitionResults(res), nil
}

// messageIDTTL is how long earlier versions kept a day's message-id index.
const messageIDTTL = 45 * 24 * time.Hour

// scriptPipe runs a pipeline that calls scripts by EVALSHA; after a Redis
// restart (or on a fresh one) the scripts are loaded and it runs again
// (twice at most: the scripts may vanish again in between).
// Scripts are idempotent per call only as a whole: a NOSCRIPT means the
// script did not run at all.
func (s *Store) scriptPipe(ctx context.Context, fill func(redis.Pipeliner)) error {
	for attempt := 0; ; attempt++ {
		pipe := s.rdb.Pipeline()
		fill(pipe)
		err := execPipe(ctx, pipe)
		if err == nil || attempt >= 2 || !isNoScript(err) {
			return err
		}
		for _, sc := range []*redis.Script{claimScript, recordScript} {
			if err := sc.Load(ctx, s.rdb).Err(); err != nil {
				return unavailable(err)
			}
		}
	}
}

func isNoScript(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.HasPrefix(e.Error(), "NOSCRIPT") {
			return true
		}
	}
	return strings.Contains(err.Error(), "NOSCRIPT")
}

// createScript: ARGV groups of four: email, state (queued or skipped),
// reason, list. A delivery is created only where
// there is none; per email it returns "+" when created, else the state
// found. A created state field is the bare state, without a time (the
// ledger shows such deliveries at the edition's publication): the time
// comes with the first move, the claim's. The first call for an edition
// without deliveries sets its default list (listLua).
var createScript = redis.NewScript(stateLua + listLua + `
local n = #ARGV / 4
local emails = {}
for i = 1, n do emails[i] = ARGV[4*i-3] end
if not dflt and not redis.call('HGET', KEYS[2], 'total') then
  for i = 1, n do
    if ARGV[4*i] ~= '' then
      dflt = ARGV[4*i]
      redis.call('SET', KEYS[9], dflt)
      break
    end
  end
end
local cur = redis.call('HMGET', KEYS[1], unpack(emails))
local st, lst, why, out = {}, {}, {}, {}
local ns, nl, nw = 0, 0, 0 -- counters, not #t (a search per use)
local dn, dl, made = {total = 0}, {}, {}
for i = 1, n do
  local e, to, r, l = emails[i], ARGV[4*i-2], ARGV[4*i-1], ARGV[4*i]
  local c = made[e] or (cur[i] and stateOf(cur[i]))
  if c then
    out[i] = c
  else
    st[ns+1] = e; st[ns+2] = to; ns = ns + 2
    if r ~= '' then why[nw+1] = e; why[nw+2] = r; nw = nw + 2 end
    dn.total = dn.total + 1
    dn[to] = (dn[to] or 0) + 1
    local f = listField(l)
    if f then lst[nl+1] = e; lst[nl+2] = f; nl = nl + 2 end
    if l ~= '' then
      local t = dl[l]
      if not t then t = {total = 0}; dl[l] = t end
      t.total = t.total + 1
      t[to] = (t[to] or 0) + 1
    end
    made[e] = to -- a repeated email in one call is created once
    out[i] = '+'
  end
end
if ns > 0 then
  redis.call('HSET', KEYS[1], unpack(st))
  for k, v in pairs(dn) do if v ~= 0 then redis.call('HINCRBY', KEYS[2], k, v) end end
  for l, t in pairs(dl) do
    for k, v in pairs(t) do redis.call('HINCRBY', KEYS[6], l .. '\t' .. k, v) end
  end
end
if nl > 0 then redis.call('HSET', KEYS[5], unpack(lst)) end
if nw > 0 then redis.call('HSET', KEYS[4], unpack(why)) end
return out
`)

// Create creates the deliveries of edition id that do not exist yet, in
// state t.To (queued, or skipped with t.Reason), attributed to t.List (From
// is ignored: creation happens only where there is no delivery), in one
// script call whose cost hardly grows with len(ts). Emails may repeat: the
// first creates. Results are Transition's.
func (s *Store) Create(ctx context.Context, id string, ts []newsletter.Transition) ([]newsletter.TransitionResult, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	out := make([]newsletter.TransitionResult, 0, len(ts))
	// Lua's unpack takes at most a few thousand values at once.
	for len(ts) > 0 {
		n := min(len(ts), 1000)
		part, err := s.create(ctx, id, ts[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
		ts = ts[n:]
	}
	return out, nil
}

func (s *Store) create(ctx context.Context, id string, ts []newsletter.Transition) ([]newsletter.TransitionResult, error) {
	for _, t := range ts {
		if t.To != newsletter.DeliveryQueued && t.To != newsletter.DeliverySkipped {
			return nil, newsletter.Errorf(newsletter.EINVALID, "delivery to %s in edition %s: a delivery is created queued or skipped, not %q", t.Email, id, t.To)
		}
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	args := make([]any, 0, 4*len(ts))
	for _, t := range ts {
		args = append(args, t.Email, string(t.To), t.Reason, t.List)
	}
	res, err := createScript.Run(ctx, s.rdb, s.deliveryKeys(id), args...).StringSlice()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]newsletter.TransitionResult, len(res))
	for i, r := range res {
		if r == "+" {
			out[i] = newsletter.TransitionResult{Done: true}
		} else {
			out[i] = newsletter.TransitionResult{Current: newsletter.DeliveryState(r)}
		}
	}
	return out, nil
}

// ClaimHolders is who holds the claims of edition id now: email → owner,
// for the deliveries that are sending under a claim of this version
// (earlier versions kept owners apart; their claims are not listed). It
// scans the edition page by page.
func (s *Store) ClaimHolders(ctx context.Context, id string) (map[string]string, error) {
	out := map[string]string{}
	err := s.scanHash(ctx, s.ed(id, "st"), ledgerPage, func(kv []string) error {
		for i := 0; i+1 < len(kv); i += 2 {
			st, upd := splitState(kv[i+1])
			if _, held := splitUpdated(upd); st == newsletter.DeliverySending && held != "" {
				owner, _, _ := strings.Cut(held, "\t")
				out[kv[i]] = owner
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

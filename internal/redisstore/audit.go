package redisstore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/redis/go-redis/v9"

	"newsletter"
)

// The audit log is one capped stream per installation, with a capped list
// of entry ids per target (an address's history without scanning the
// log). Both carry the hash tag {audit}: one script appends to both.

// AuditMax is about how many entries the log keeps (XADD MAXLEN ~).
const AuditMax = 100000

// auditPerTarget is how many entry ids a target's history keeps.
const auditPerTarget = 1000

func (s *Store) auditLog() string                { return s.prefix + "{audit}:log" }
func (s *Store) auditAbout(target string) string { return s.prefix + "{audit}:about:" + target }

// KEYS: log[, about]. ARGV: max, per target, then field, value pairs.
var appendAuditScript = redis.NewScript(`
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
if KEYS[2] then
  redis.call('LPUSH', KEYS[2], id)
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
end
return id`)

// AppendAudit adds e to the log and to its target's history; it returns
// the entry's id.
func (s *Store) AppendAudit(ctx context.Context, e newsletter.AuditEntry) (string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	keys := []string{s.auditLog()}
	if e.Target != "" {
		keys = append(keys, s.auditAbout(e.Target))
	}
	args := []any{AuditMax, auditPerTarget, "at", ms(e.At), "actor", e.Actor, "role", string(e.Role),
		"action", e.Action, "target", e.Target, "before", string(e.Before), "after", string(e.After)}
	id, err := appendAuditScript.Run(ctx, s.rdb, keys, args...).Text()
	return id, unavailable(err)
}

func auditFrom(m redis.XMessage) newsletter.AuditEntry {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	raw := func(k string) json.RawMessage {
		if v := str(k); v != "" {
			return json.RawMessage(v)
		}
		return nil
	}
	return newsletter.AuditEntry{ID: m.ID, At: parseTime(str("at")), Actor: str("actor"), Role: newsletter.Role(str("role")),
		Action: str("action"), Target: str("target"), Before: raw("before"), After: raw("after")}
}

func (f auditFilter) match(e newsletter.AuditEntry) bool {
	return (f.Actor == "" || e.Actor == f.Actor) && (f.Target == "" || e.Target == f.Target) &&
		(f.Action == "" || e.Action == f.Action || strings.HasSuffix(f.Action, ".") && strings.HasPrefix(e.Action, f.Action))
}

type auditFilter newsletter.AuditFilter

// auditScanMax bounds how many entries one AuditLog call reads: a filter
// that matches rarely gives a short page and a cursor, never a scan of the
// whole log.
const auditScanMax = 5000

// AuditLog returns up to limit entries matching f, newest first, starting
// after cursor (an entry id; "" for the newest).
func (s *Store) AuditLog(ctx context.Context, f newsletter.AuditFilter, limit int, cursor string) (*newsletter.AuditPage, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	page := &newsletter.AuditPage{Entries: []newsletter.AuditEntry{}}
	hi := "+"
	if cursor != "" {
		hi = "(" + cursor
	}
	batch := int64(max(limit, 100))
	for scanned := 0; scanned < auditScanMax; {
		msgs, err := s.rdb.XRevRangeN(ctx, s.auditLog(), hi, "-", batch).Result()
		if err != nil {
			return nil, unavailable(err)
		}
		for _, m := range msgs {
			scanned++
			hi = "(" + m.ID
			if e := auditFrom(m); auditFilter(f).match(e) {
				page.Entries = append(page.Entries, e)
				if len(page.Entries) == limit {
					page.Next = m.ID
					return page, nil
				}
			}
		}
		if int64(len(msgs)) < batch {
			return page, nil
		}
	}
	page.Next = strings.TrimPrefix(hi, "(")
	return page, nil
}

// AuditAbout returns the newest limit entries about target, newest first.
func (s *Store) AuditAbout(ctx context.Context, target string, limit int) ([]newsletter.AuditEntry, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	ids, err := s.rdb.LRange(ctx, s.auditAbout(target), 0, int64(limit)-1).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.XRange(ctx, s.auditLog(), id, id)
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, err
	}
	out := []newsletter.AuditEntry{}
	for _, c := range cmds {
		for _, m := range c.Val() { // trimmed from the log: gone
			out = append(out, auditFrom(m))
		}
	}
	return out, nil
}

// KEYS: log, about.
var forgetAuditScript = redis.NewScript(`
local ids = redis.call('LRANGE', KEYS[2], 0, -1)
for _, id in ipairs(ids) do redis.call('XDEL', KEYS[1], id) end
redis.call('DEL', KEYS[2])
return #ids`)

// ForgetAudit deletes every entry about target (an erased address's
// history) and returns how many there were.
func (s *Store) ForgetAudit(ctx context.Context, target string) (int, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := forgetAuditScript.Run(ctx, s.rdb, []string{s.auditLog(), s.auditAbout(target)}).Int()
	return n, unavailable(err)
}

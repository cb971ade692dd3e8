package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/address"
)

func (s *Store) unconfirmed(slug string) string { return s.prefix + "{l:" + slug + "}:unconfirmed" }
func (s *Store) left(slug string) string        { return s.prefix + "{l:" + slug + "}:left" }
func (s *Store) statusSet(st newsletter.SubscriberStatus) string {
	return s.prefix + "status:" + string(st)
}

// The status sets hold the addresses whose status is unsubscribed or
// blocklisted (active is everyone else). Counts read them, and so does the
// send step's re-check of an edition that needs no names (deliverableIn):
// so they must never say "mailable" while the status field says
// otherwise, not even when a write stops half-way (on a Redis Cluster a
// transaction is one per slot, and the sets and the subscriber are in
// different slots). A move to unsubscribed or blocklisted therefore joins
// its set first, in a round trip of its own (stopMail), and a move to
// active leaves the sets only once the field says active (allowMail).
// Cut short, either leaves the address not mailed, never mailed against
// its status.

var stopStatuses = []newsletter.SubscriberStatus{newsletter.SubscriberUnsubscribed, newsletter.SubscriberBlocklisted}

// stopMail puts email into the set of st (unsubscribed or blocklisted)
// before the move to st is written, and queues on pipe, the move's
// transaction, its leaving the other stop status's set.
func (s *Store) stopMail(ctx context.Context, pipe redis.Pipeliner, email string, st newsletter.SubscriberStatus) error {
	if err := s.rdb.SAdd(ctx, s.statusSet(st), email).Err(); err != nil {
		return unavailable(err)
	}
	for _, other := range stopStatuses {
		if other != st {
			pipe.SRem(ctx, s.statusSet(other), email)
		}
	}
	return nil
}

// allowMail takes emails out of the status sets once their status field
// says active.
func (s *Store) allowMail(ctx context.Context, emails ...string) error {
	if len(emails) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	for _, st := range stopStatuses {
		pipe.SRem(ctx, s.statusSet(st), toAny(emails)...)
	}
	return execPipe(ctx, pipe)
}

// SubscriberCounts counts subscribers per global status in one round trip.
func (s *Store) SubscriberCounts(ctx context.Context) (newsletter.SubscriberCounts, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	total := pipe.ZCard(ctx, s.key("subs"))
	un := pipe.SCard(ctx, s.statusSet(newsletter.SubscriberUnsubscribed))
	bl := pipe.SCard(ctx, s.statusSet(newsletter.SubscriberBlocklisted))
	sp := pipe.HLen(ctx, s.key("supp"))
	er := pipe.SCard(ctx, s.key("erased"))
	if err := execPipe(ctx, pipe); err != nil {
		return newsletter.SubscriberCounts{}, err
	}
	c := newsletter.SubscriberCounts{Total: total.Val(), Unsubscribed: un.Val(), Blocklisted: bl.Val(), Suppressed: sp.Val(), Erased: er.Val()}
	c.Active = c.Total - c.Unsubscribed - c.Blocklisted
	return c, nil
}

// UpdateSubscriber applies u to an existing subscriber.
func (s *Store) UpdateSubscriber(ctx context.Context, email string, u newsletter.SubscriberUpdate) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	cur, err := s.rdb.HGetAll(ctx, s.subKey(email)).Result()
	if err != nil {
		return unavailable(err)
	}
	if len(cur) == 0 {
		return notSubscriber(email)
	}
	fields := []any{}
	if u.Name != nil {
		fields = append(fields, "name", *u.Name)
	}
	if u.Organisation != nil {
		fields = append(fields, "organisation", *u.Organisation)
	}
	if len(u.Attributes) > 0 {
		attrs := map[string]string{}
		_ = json.Unmarshal([]byte(cur["attrs"]), &attrs)
		if attrs == nil {
			attrs = map[string]string{}
		}
		for k, v := range u.Attributes {
			if v == "" {
				delete(attrs, k)
			} else {
				attrs[k] = v
			}
		}
		b, _ := json.Marshal(attrs)
		fields = append(fields, "attrs", string(b))
	}
	pipe := s.tx()
	if u.Status != nil {
		switch *u.Status {
		case newsletter.SubscriberActive, newsletter.SubscriberUnsubscribed:
		case newsletter.SubscriberBlocklisted:
			return newsletter.Errorf(newsletter.EINVALID, "blocklisting needs a reason: use `newsletter subscribers block ADDR --reason R`")
		default:
			return newsletter.Errorf(newsletter.EINVALID, "status %q is unknown: use active or unsubscribed", *u.Status)
		}
		if cur["status"] == string(newsletter.SubscriberUnsubscribed) && *u.Status == newsletter.SubscriberActive {
			// An opt-out is undone only by the person's own confirmed
			// opt-in, never on someone else's word.
			return newsletter.Errorf(newsletter.ECONFLICT,
				"%s unsubscribed from everything (%s): only they can undo that, by subscribing again on the public form or on their preferences page (the link in any edition); their status stays unsubscribed",
				email, unsubscribedWhen(cur))
		}
		if cur["status"] == string(newsletter.SubscriberBlocklisted) && cur[statusBeforeBlock] == string(newsletter.SubscriberUnsubscribed) && *u.Status == newsletter.SubscriberActive {
			return newsletter.Errorf(newsletter.ECONFLICT,
				"%s had unsubscribed from everything before it was blocklisted: lift the block with status unsubscribed (`--status unsubscribed`); only they can undo the opt-out",
				email)
		}
		if cur["status"] == string(newsletter.SubscriberBlocklisted) && *u.Status != newsletter.SubscriberBlocklisted {
			pipe.HDel(ctx, s.subKey(email), statusBeforeBlock)
			s.logSuppression(ctx, pipe, email, "unblock", "status set to "+string(*u.Status)+" by admin")
		}
		fields = append(fields, "status", string(*u.Status))
		if *u.Status != newsletter.SubscriberActive {
			if err := s.stopMail(ctx, pipe, email, *u.Status); err != nil {
				return err
			}
		}
	}
	if len(fields) == 0 {
		return nil
	}
	fields = append(fields, "updated_at", ms(s.Now()))
	pipe.HSet(ctx, s.subKey(email), fields...)
	s.reindex(ctx, pipe, email, cur, merged(cur, fields))
	if err := execPipe(ctx, pipe); err != nil {
		return err
	}
	if u.Status != nil && *u.Status == newsletter.SubscriberActive {
		return s.allowMail(ctx, email)
	}
	return nil
}

// Block blocklists an address: it is never mailed and never re-subscribed
// by an import or by its own preferences without an admin lifting the
// block. An address that is not a subscriber yet is recorded as one, so
// the block holds when it is imported later.
func (s *Store) Block(ctx context.Context, email, reason string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	now := ms(s.Now())
	before, err := s.rdb.HGet(ctx, s.subKey(email), "status").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return unavailable(err)
	}
	pipe := s.tx()
	if err := s.stopMail(ctx, pipe, email, newsletter.SubscriberBlocklisted); err != nil {
		return err
	}
	pipe.HSetNX(ctx, s.subKey(email), "email", email)
	pipe.HSetNX(ctx, s.subKey(email), "created_at", now)
	pipe.HSet(ctx, s.subKey(email), "status", string(newsletter.SubscriberBlocklisted), "blocked_reason", reason, "blocked_at", now, "updated_at", now)
	switch before {
	case string(newsletter.SubscriberUnsubscribed):
		// The block must not erase the opt-out under it: lifting the block
		// returns the address to unsubscribed, not to active.
		pipe.HSet(ctx, s.subKey(email), statusBeforeBlock, before)
	case string(newsletter.SubscriberBlocklisted): // blocked again: what was under it stays
	default:
		pipe.HDel(ctx, s.subKey(email), statusBeforeBlock)
	}
	pipe.ZAdd(ctx, s.key("subs"), redis.Z{Member: email})
	s.reindex(ctx, pipe, email, nil, map[string]string{"email": email})
	s.logSuppression(ctx, pipe, email, "block", reason)
	return execPipe(ctx, pipe)
}

// RemoveMembership takes email off list entirely, as an admin's correction:
// unlike an unsubscribe it records no opt-out, so adding the address again
// later needs no override.
func (s *Store) RemoveMembership(ctx context.Context, email, list string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := s.rdb.HDel(ctx, s.subLists(email), list).Result()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return newsletter.Errorf(newsletter.ENOTFOUND, "%s is not on list %s: see `newsletter subscribers show %s`", email, list, email)
	}
	pipe := s.tx()
	pipe.SRem(ctx, s.members(list), email)
	pipe.SRem(ctx, s.unconfirmed(list), email)
	pipe.SRem(ctx, s.left(list), email)
	pipe.HSet(ctx, s.subKey(email), "updated_at", ms(s.Now()))
	return execPipe(ctx, pipe)
}

// Confirm turns an unconfirmed membership into a subscription: the address
// followed its confirmation link. It reports whether anything changed (a
// second click on the same link is harmless).
func (s *Store) Confirm(ctx context.Context, email, list string) (bool, error) {
	if _, err := s.GetList(ctx, list); err != nil {
		return false, err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	st := pipe.HGet(ctx, s.subKey(email), "status")
	m := pipe.HGet(ctx, s.subLists(email), list)
	er := pipe.SIsMember(ctx, s.key("erased"), address.Hash(email))
	pending := pipe.SIsMember(ctx, s.unconfirmed(list), email)
	if err := execPipe(ctx, pipe); err != nil {
		return false, err
	}
	switch {
	case st.Val() == "":
		return false, newsletter.Errorf(newsletter.ENOTFOUND, "there is no subscription to confirm for this address: subscribe again")
	case er.Val() && m.Val() != string(newsletter.MemberUnconfirmed):
		// Erased, and not asked since (only the person's own request on
		// the public form makes an unconfirmed membership afterwards).
		return false, newsletter.Errorf(newsletter.ENOTFOUND, "there is no subscription to confirm for this address: subscribe again")
	case st.Val() == string(newsletter.SubscriberBlocklisted):
		return false, newsletter.Errorf(newsletter.ECONFLICT, "this address is blocklisted: contact the sender")
	case m.Val() == string(newsletter.MemberSubscribed) && st.Val() == string(newsletter.SubscriberActive):
		return false, nil
	case m.Val() != string(newsletter.MemberUnconfirmed) && !pending.Val():
		// (A membership kept through an opt-out from everything is
		// "subscribed" and not pending: nothing they asked for.)
		return false, newsletter.Errorf(newsletter.ENOTFOUND, "there is no subscription to confirm for this address on list %s: subscribe again", list)
	}
	if st.Val() == string(newsletter.SubscriberUnsubscribed) {
		if err := s.leaveOthers(ctx, email, list); err != nil {
			return false, err
		}
	}
	w := s.tx()
	s.subscribeIn(ctx, w, email, list)
	w.HSet(ctx, s.subKey(email), "status", string(newsletter.SubscriberActive), "updated_at", ms(s.Now()))
	w.ZRem(ctx, s.key("unconfirmed-expiry"), list+"|"+email)
	if er.Val() {
		// Erased on request, back by their own confirmed request.
		w.SRem(ctx, s.key("erased"), address.Hash(email))
	}
	if err := execPipe(ctx, w); err != nil {
		return false, err
	}
	return true, s.allowMail(ctx, email)
}

// RequestMembership records a subscription request from the public form:
// the membership is unconfirmed until the address follows the emailed link,
// whatever the list's setting (anyone can type any address). It reports
// whether a confirmation email should be sent; it never says whether the
// address was known. Suppressed and blocklisted addresses and confirmed
// members get nothing; an erased address may ask again.
func (s *Store) RequestMembership(ctx context.Context, email, list string) (bool, error) {
	if _, err := s.GetList(ctx, list); err != nil {
		return false, err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	st := pipe.HGet(ctx, s.subKey(email), "status")
	m := pipe.HGet(ctx, s.subLists(email), list)
	sp := pipe.HExists(ctx, s.key("supp"), email)
	if err := execPipe(ctx, pipe); err != nil {
		return false, err
	}
	// An erased address may ask again: its record is gone, so the request
	// makes a new one as for a stranger, and the erasure holds (it is not
	// mailed) until the person confirms (Confirm); unconfirmed, the request
	// and the new record expire (ExpireUnconfirmed).
	if sp.Val() || st.Val() == string(newsletter.SubscriberBlocklisted) || m.Val() == string(newsletter.MemberSubscribed) && st.Val() == string(newsletter.SubscriberActive) {
		return false, nil
	}
	now := ms(s.Now())
	w := s.tx()
	// A request that is not yet confirmed never weakens a recorded opt-out:
	// for an address that left the list or unsubscribed from everything it
	// only marks a pending request (the unconfirmed set), and the
	// membership and status stay as the person left them until they follow
	// the confirmation link themselves.
	optedOut := m.Val() == string(newsletter.MemberUnsubscribed) || st.Val() == string(newsletter.SubscriberUnsubscribed)
	switch {
	case st.Val() == "":
		w.HSet(ctx, s.subKey(email), "email", email, "name", "", "organisation", "", "attrs", "null",
			"status", string(newsletter.SubscriberActive), "created_at", now, "source", "subscribe form")
		w.ZAdd(ctx, s.key("subs"), redis.Z{Member: email})
		s.reindex(ctx, w, email, nil, map[string]string{"email": email})
		w.HSet(ctx, s.subLists(email), list, string(newsletter.MemberUnconfirmed))
	case !optedOut:
		w.HSet(ctx, s.subLists(email), list, string(newsletter.MemberUnconfirmed))
	}
	w.SAdd(ctx, s.unconfirmed(list), email)
	// An unconfirmed request does not stay for ever: ExpireUnconfirmed
	// drops it (and a record the form created for it) after UnconfirmedTTL.
	if s.UnconfirmedTTL > 0 {
		w.ZAdd(ctx, s.key("unconfirmed-expiry"), redis.Z{Score: float64(s.Now().Add(s.UnconfirmedTTL).UnixMilli()), Member: list + "|" + email})
	}
	err := execPipe(ctx, w)
	return err == nil, err
}

// ExpireUnconfirmed drops the subscription requests from the public form
// that were not confirmed in time: the pending mark, an unconfirmed
// membership, and the subscriber record itself when the form created it
// and nothing else holds it. It returns how many requests it dropped.
func (s *Store) ExpireUnconfirmed(ctx context.Context, now time.Time) (int, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	due, err := s.rdb.ZRangeByScore(ctx, s.key("unconfirmed-expiry"), &redis.ZRangeBy{Min: "-inf", Max: itoa(now.UnixMilli()), Count: 1000}).Result()
	if err != nil {
		return 0, unavailable(err)
	}
	for _, m := range due {
		list, email, _ := strings.Cut(m, "|")
		if err := s.expireRequest(ctx, list, email); err != nil {
			return 0, err
		}
		if err := s.rdb.ZRem(ctx, s.key("unconfirmed-expiry"), m).Err(); err != nil {
			return 0, unavailable(err)
		}
	}
	return len(due), nil
}

func (s *Store) expireRequest(ctx context.Context, list, email string) error {
	pipe := s.rdb.Pipeline()
	st := pipe.HMGet(ctx, s.subKey(email), "status", "source")
	m := pipe.HGet(ctx, s.subLists(email), list)
	if err := execPipe(ctx, pipe); err != nil {
		return err
	}
	w := s.tx()
	w.SRem(ctx, s.unconfirmed(list), email)
	if m.Val() == string(newsletter.MemberUnconfirmed) {
		w.HDel(ctx, s.subLists(email), list)
	}
	if err := execPipe(ctx, w); err != nil {
		return err
	}
	v := st.Val()
	source, _ := v[1].(string)
	status, _ := v[0].(string)
	if source != "subscribe form" || status != string(newsletter.SubscriberActive) {
		return nil
	}
	n, err := s.rdb.HLen(ctx, s.subLists(email)).Result()
	if err != nil || n > 0 {
		return unavailable(err)
	}
	// Nothing but this request: the record goes, as if it never came.
	w = s.tx()
	w.Del(ctx, s.subKey(email), s.subLists(email))
	w.ZRem(ctx, s.key("subs"), email)
	s.reindex(ctx, w, email, map[string]string{"email": email}, nil)
	return execPipe(ctx, w)
}

// statusBeforeBlock is the subscriber field that keeps an opt-out a block
// was put over.
const statusBeforeBlock = "status_before_block"

// unsubscribedWhen says when and why a subscriber hash records its
// unsubscribe, for messages.
func unsubscribedWhen(h map[string]string) string {
	out := "no time recorded"
	if msv, err := strconv.ParseInt(h["unsubscribed_at"], 10, 64); err == nil {
		out = "on " + time.UnixMilli(msv).UTC().Format("2006-01-02")
	}
	if r := h["unsubscribe_reason"]; r != "" {
		out += ", " + r
	}
	return out
}

func notSubscriber(email string) error {
	return newsletter.Errorf(newsletter.ENOTFOUND, "subscriber %s does not exist: add it with `newsletter subscribers add %s --list SLUG`", email, email)
}

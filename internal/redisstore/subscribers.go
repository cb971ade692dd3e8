package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/address"
)

// ImportBatch adds or updates subscribers on opts.List in two round trips
// (one pipelined read, one pipelined write). Re-running the same batch
// changes nothing.
func (s *Store) ImportBatch(ctx context.Context, opts newsletter.ImportOptions, in []newsletter.SubscriberInput) ([]newsletter.RowResult, error) {
	if opts.Mode == "" {
		opts.Mode = newsletter.ImportAdd
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	type read struct {
		sub    *redis.MapStringStringCmd
		member *redis.StringCmd
		supp   *redis.StringCmd
		erased *redis.BoolCmd
	}
	reads := make([]read, len(in))
	pipe := s.rdb.Pipeline()
	for i, r := range in {
		reads[i] = read{
			sub:    pipe.HGetAll(ctx, s.subKey(r.Email)),
			member: pipe.HGet(ctx, s.subLists(r.Email), opts.List),
			supp:   pipe.HGet(ctx, s.key("supp"), r.Email),
			erased: pipe.SIsMember(ctx, s.key("erased"), address.Hash(r.Email)),
		}
	}
	subs := pipe.ZCard(ctx, s.key("subs"))
	if err := execPipe(ctx, pipe); err != nil {
		return nil, err
	}
	now := ms(s.Now())
	out := make([]newsletter.RowResult, len(in))
	var allowed []string // made active again by the override (allowMail)
	w := s.tx()
	if subs.Val() == 0 {
		// The first subscribers: the search index is complete from here on.
		w.SetNX(ctx, s.key("sx", "built"), "1", 0)
	}
	for i, r := range in {
		cur := reads[i].sub.Val()
		member := reads[i].member.Val()
		suppressed := reads[i].supp.Val()
		erased := reads[i].erased.Val()
		if !opts.Override {
			if reason := refuseReason(cur, member, suppressed, erased); reason != "" {
				out[i] = newsletter.RowResult{Outcome: newsletter.OutcomeRejected, Reason: reason}
				continue
			}
		}
		fields := []any{}
		outcome := newsletter.OutcomeUnchanged
		switch {
		case len(cur) == 0:
			attrs, _ := json.Marshal(r.Attributes)
			fields = append(fields, "email", r.Email, "name", r.Name, "organisation", r.Organisation,
				"attrs", string(attrs), "status", string(newsletter.SubscriberActive), "created_at", now)
			outcome = newsletter.OutcomeImported
		case opts.Mode == newsletter.ImportUpdate:
			if cur["name"] != r.Name && r.Name != "" {
				fields = append(fields, "name", r.Name)
			}
			if cur["organisation"] != r.Organisation && r.Organisation != "" {
				fields = append(fields, "organisation", r.Organisation)
			}
			if len(r.Attributes) > 0 {
				old := map[string]string{}
				_ = json.Unmarshal([]byte(cur["attrs"]), &old)
				merged := maps.Clone(old)
				if merged == nil {
					merged = map[string]string{}
				}
				maps.Copy(merged, r.Attributes)
				if !maps.Equal(old, merged) {
					b, _ := json.Marshal(merged)
					fields = append(fields, "attrs", string(b))
				}
			}
		}
		// An opt-out is undone only by the person: the override asks them
		// to confirm (below) and leaves the status as it is; a block put
		// over an opt-out is lifted back to that opt-out.
		optedOut := opts.Override && optedOut(cur, member)
		if opts.Override && cur["status"] == string(newsletter.SubscriberBlocklisted) {
			s.logSuppression(ctx, w, r.Email, "unblock", "import override by admin") // as UpdateSubscriber's
		}
		switch {
		case optedOut && cur["status"] == string(newsletter.SubscriberBlocklisted):
			if err := s.stopMail(ctx, w, r.Email, newsletter.SubscriberUnsubscribed); err != nil {
				return nil, err
			}
			fields = append(fields, "status", string(newsletter.SubscriberUnsubscribed))
			w.HDel(ctx, s.subKey(r.Email), statusBeforeBlock)
		case optedOut:
		case opts.Override && len(cur) > 0 && cur["status"] != string(newsletter.SubscriberActive):
			fields = append(fields, "status", string(newsletter.SubscriberActive))
			allowed = append(allowed, r.Email)
		}
		if len(fields) > 0 {
			fields = append(fields, "updated_at", now)
			w.HSet(ctx, s.subKey(r.Email), fields...)
			s.reindex(ctx, w, r.Email, cur, merged(cur, fields))
			if outcome == newsletter.OutcomeUnchanged {
				outcome = newsletter.OutcomeUpdated
			}
		}
		// Asked to confirm: the ones who opted out, on any list (mailed only
		// once they follow the link), and new members of a double opt-in
		// list. One already asked is not asked again by a re-import.
		confirm := optedOut || opts.DoubleOptIn && member != string(newsletter.MemberSubscribed) && member != string(newsletter.MemberUnconfirmed)
		switch {
		case confirm:
			s.askIn(ctx, w, r.Email, opts.List, member)
			if outcome == newsletter.OutcomeUnchanged {
				outcome = newsletter.OutcomeUpdated
			}
		case member == string(newsletter.MemberSubscribed), opts.DoubleOptIn:
			// A member already, or already asked: nothing changes, nothing is sent.
		default:
			w.HSet(ctx, s.subLists(r.Email), opts.List, string(newsletter.MemberSubscribed))
			w.SAdd(ctx, s.members(opts.List), r.Email)
			if member != "" { // without a membership it is in neither set
				w.SRem(ctx, s.unconfirmed(opts.List), r.Email)
				w.SRem(ctx, s.left(opts.List), r.Email)
			}
			if outcome == newsletter.OutcomeUnchanged {
				outcome = newsletter.OutcomeUpdated
			}
		}
		if len(cur) == 0 {
			w.ZAdd(ctx, s.key("subs"), redis.Z{Member: r.Email})
		}
		if opts.Override {
			if suppressed != "" {
				w.HDel(ctx, s.key("supp"), r.Email)
				s.logSuppression(ctx, w, r.Email, "unsuppress", "import override by admin")
			}
			if erased {
				w.SRem(ctx, s.key("erased"), address.Hash(r.Email))
			}
		}
		out[i] = newsletter.RowResult{Outcome: outcome, Confirm: confirm}
	}
	if err := execPipe(ctx, w); err != nil {
		return nil, err
	}
	if err := s.allowMail(ctx, allowed...); err != nil {
		return nil, err
	}
	return out, nil
}

// optedOut says whether the subscriber record cur, with membership member
// of the import's list, carries the person's own opt-out: unsubscribed, off
// this list, or blocklisted over an opt-out. Suppressions (bounces,
// complaints), erasure and a block alone are not that, and an override lifts
// them as the admin's decision.
func optedOut(cur map[string]string, member string) bool {
	switch {
	case len(cur) == 0:
		return false
	case cur["status"] == string(newsletter.SubscriberUnsubscribed), member == string(newsletter.MemberUnsubscribed):
		return true
	}
	return cur["status"] == string(newsletter.SubscriberBlocklisted) && cur[statusBeforeBlock] == string(newsletter.SubscriberUnsubscribed)
}

func refuseReason(cur map[string]string, member, suppressed string, erased bool) string {
	switch {
	case erased:
		return "address was erased on request; it is re-added only with an explicit override after new consent"
	case suppressed != "":
		var sp newsletter.Suppression
		_ = json.Unmarshal([]byte(suppressed), &sp)
		return fmt.Sprintf("address is suppressed (%s); an import never re-subscribes it: remove the suppression or pass the override", sp.Reason)
	case cur["status"] == string(newsletter.SubscriberUnsubscribed):
		return "address unsubscribed; an import never re-subscribes it: with the override they are asked to confirm by email, and subscribed once they do"
	case cur["status"] == string(newsletter.SubscriberBlocklisted):
		return "address is blocklisted; pass the override to re-admit it"
	case member == string(newsletter.MemberUnsubscribed):
		return "address left this list; an import never re-subscribes it: with the override they are asked to confirm by email, and subscribed once they do"
	}
	return ""
}

// GetSubscriber returns one subscriber with its memberships.
func (s *Store) GetSubscriber(ctx context.Context, email string) (*newsletter.Subscriber, map[string]newsletter.MembershipStatus, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	h := pipe.HGetAll(ctx, s.subKey(email))
	l := pipe.HGetAll(ctx, s.subLists(email))
	if err := execPipe(ctx, pipe); err != nil {
		return nil, nil, err
	}
	if len(h.Val()) == 0 {
		return nil, nil, newsletter.Errorf(newsletter.ENOTFOUND, "subscriber %s does not exist", email)
	}
	m := map[string]newsletter.MembershipStatus{}
	for k, v := range l.Val() {
		m[k] = newsletter.MembershipStatus(v)
	}
	return subscriberFrom(h.Val()), m, nil
}

func subscriberFrom(h map[string]string) *newsletter.Subscriber {
	sub := &newsletter.Subscriber{Email: h["email"], Name: h["name"], Organisation: h["organisation"],
		Status: newsletter.SubscriberStatus(h["status"]), CreatedAt: parseTime(h["created_at"]), UpdatedAt: parseTime(h["updated_at"])}
	if a := h["attrs"]; a != "" && a != "null" {
		_ = json.Unmarshal([]byte(a), &sub.Attributes)
	}
	return sub
}

// Unsubscribe records an unsubscribe. With list == "" the address leaves
// everything (status unsubscribed); otherwise it leaves that list only. It
// takes effect for sends already queued, because the send step checks again.
func (s *Store) Unsubscribe(ctx context.Context, email, list, reason string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	exists := pipe.Exists(ctx, s.subKey(email))
	st := pipe.HGet(ctx, s.subKey(email), "status")
	var lists *redis.MapStringStringCmd
	if list == "" {
		lists = pipe.HGetAll(ctx, s.subLists(email))
	}
	if err := execPipe(ctx, pipe); err != nil {
		return err
	}
	if exists.Val() == 0 {
		return newsletter.Errorf(newsletter.ENOTFOUND, "subscriber %s does not exist", email)
	}
	now := ms(s.Now())
	w := s.tx()
	if list != "" {
		s.leaveIn(ctx, w, email, list)
		w.HSet(ctx, s.subKey(email), "updated_at", now)
		return execPipe(ctx, w)
	}
	if st.Val() == string(newsletter.SubscriberBlocklisted) {
		return nil // a blocklisted address stays blocklisted: that is the stronger no
	}
	if err := s.stopMail(ctx, w, email, newsletter.SubscriberUnsubscribed); err != nil {
		return err
	}
	w.HSet(ctx, s.subKey(email), "status", string(newsletter.SubscriberUnsubscribed), "updated_at", now, "unsubscribed_at", now, "unsubscribe_reason", reason)
	// No to everything includes the requests not confirmed yet: a
	// confirmation link emailed before must not undo this opt-out. The
	// confirmed memberships stay under the status (leaveOthers).
	for l, m := range lists.Val() {
		if m == string(newsletter.MemberSubscribed) {
			s.withdrawIn(ctx, w, email, l)
		} else {
			s.leaveIn(ctx, w, email, l)
		}
	}
	return execPipe(ctx, w)
}

// SetMembership subscribes (true) or unsubscribes (false) email on list, as
// a partner does on the preferences page. Subscribing also makes a globally
// unsubscribed address active again: it is the person's own choice, proven
// by the signed link; its other lists from before stay left (leaveOthers).
// A blocklisted address stays blocklisted.
func (s *Store) SetMembership(ctx context.Context, email, list string, subscribed bool) error {
	if !subscribed {
		return s.Unsubscribe(ctx, email, list, "preferences")
	}
	if _, err := s.GetList(ctx, list); err != nil {
		return err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	st, err := s.rdb.HGet(ctx, s.subKey(email), "status").Result()
	if errors.Is(err, redis.Nil) {
		return newsletter.Errorf(newsletter.ENOTFOUND, "subscriber %s does not exist", email)
	}
	if err != nil {
		return unavailable(err)
	}
	if st == string(newsletter.SubscriberBlocklisted) {
		return newsletter.Errorf(newsletter.ECONFLICT, "%s is blocklisted by an administrator: ask them to lift the block", email)
	}
	if st == string(newsletter.SubscriberUnsubscribed) {
		if err := s.leaveOthers(ctx, email, list); err != nil {
			return err
		}
	}
	now := ms(s.Now())
	pipe := s.tx()
	s.subscribeIn(ctx, pipe, email, list)
	pipe.HSet(ctx, s.subKey(email), "status", string(newsletter.SubscriberActive), "updated_at", now)
	if err := execPipe(ctx, pipe); err != nil {
		return err
	}
	return s.allowMail(ctx, email)
}

// leaveOthers ends the memberships other than list that email had when it
// unsubscribed from everything: a person who opted out of all and then
// into one list asked for that list, not for the others it had before. It
// runs before the status becomes active (its own round trip), so a write
// cut short leaves them on fewer lists, never on more.
func (s *Store) leaveOthers(ctx context.Context, email, list string) error {
	ms, err := s.rdb.HGetAll(ctx, s.subLists(email)).Result()
	if err != nil {
		return unavailable(err)
	}
	pipe := s.tx()
	n := 0
	for l, m := range ms {
		if l != list && m == string(newsletter.MemberSubscribed) {
			s.leaveIn(ctx, pipe, email, l)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return execPipe(ctx, pipe)
}

// leaveIn records that email left list: the membership reads
// unsubscribed, the address is in the list's left set, and neither a
// member nor a pending request.
func (s *Store) leaveIn(ctx context.Context, pipe redis.Pipeliner, email, list string) {
	pipe.HSet(ctx, s.subLists(email), list, string(newsletter.MemberUnsubscribed))
	pipe.SRem(ctx, s.members(list), email)
	pipe.SAdd(ctx, s.left(list), email)
	s.withdrawIn(ctx, pipe, email, list)
}

// withdrawIn drops email's pending request for list (the mark Confirm
// accepts, and its expiry).
func (s *Store) withdrawIn(ctx context.Context, pipe redis.Pipeliner, email, list string) {
	pipe.SRem(ctx, s.unconfirmed(list), email)
	pipe.ZRem(ctx, s.key("unconfirmed-expiry"), list+"|"+email)
}

// askIn makes email's membership of list unconfirmed, for a confirmation
// email to ask them; member is the membership it had ("" for none).
func (s *Store) askIn(ctx context.Context, pipe redis.Pipeliner, email, list, member string) {
	pipe.HSet(ctx, s.subLists(email), list, string(newsletter.MemberUnconfirmed))
	pipe.SAdd(ctx, s.unconfirmed(list), email)
	if member != "" { // without a membership it is in neither set
		pipe.SRem(ctx, s.members(list), email)
		pipe.SRem(ctx, s.left(list), email)
	}
}

// subscribeIn makes email a confirmed member of list.
func (s *Store) subscribeIn(ctx context.Context, pipe redis.Pipeliner, email, list string) {
	pipe.HSet(ctx, s.subLists(email), list, string(newsletter.MemberSubscribed))
	pipe.SAdd(ctx, s.members(list), email)
	pipe.SRem(ctx, s.unconfirmed(list), email)
	pipe.SRem(ctx, s.left(list), email)
}

// Deliverable looks up emails in one pipelined round trip.
func (s *Store) Deliverable(ctx context.Context, emails []string) ([]newsletter.Recipient, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	read := s.deliverableIn(ctx, pipe, nil, true, emails)
	if err := execPipe(ctx, pipe); err != nil {
		return nil, err
	}
	return read(), nil
}

// deliverableIn queues Deliverable's reads on pipe; after Exec, the
// returned function gives the answers. With lists (an edition's), an
// address that is a member of none of them any more (it unsubscribed from
// the list only, or an admin took it off) is not deliverable either: "left
// the list". Without names (an edition whose greeting has no name) and
// with lists, the statuses come from the status sets, one command for all
// the emails, instead of each subscriber's hash, a command each: the sets
// never say "mailable" against the status field (stopMail), and
// membership of a list stands in for the subscriber's existence.
func (s *Store) deliverableIn(ctx context.Context, pipe redis.Pipeliner, lists []string, names bool, emails []string) func() []newsletter.Recipient {
	if len(emails) == 0 {
		return func() []newsletter.Recipient { return nil }
	}
	// The suppression list, the erased set and the status sets are one key
	// each: one command asks about every email; each subscriber is a key of
	// its own.
	bySets := !names && len(lists) > 0
	var asked []any
	if len(lists) > 0 {
		asked = toAny(emails)
	}
	var st []*redis.SliceCmd
	var stopped []*redis.BoolSliceCmd
	if bySets {
		for _, status := range stopStatuses {
			stopped = append(stopped, pipe.SMIsMember(ctx, s.statusSet(status), asked...))
		}
	} else {
		st = make([]*redis.SliceCmd, len(emails))
	}
	hashes := make([]any, len(emails))
	for i, e := range emails {
		if !bySets {
			st[i] = pipe.HMGet(ctx, s.subKey(e), "status", "name")
		}
		hashes[i] = address.Hash(e)
	}
	sp := pipe.HMGet(ctx, s.key("supp"), emails...)
	er := pipe.SMIsMember(ctx, s.key("erased"), hashes...)
	in := make([]*redis.BoolSliceCmd, len(lists))
	for j, l := range lists {
		in[j] = pipe.SMIsMember(ctx, s.members(l), asked...)
	}
	onList := func(i int) bool {
		if len(lists) == 0 {
			return true
		}
		for _, c := range in {
			if v := c.Val(); i < len(v) && v[i] {
				return true
			}
		}
		return false
	}
	return func() []newsletter.Recipient {
		out := make([]newsletter.Recipient, len(emails))
		// One answer per email, or the pipeline failed: indexed directly,
		// so that a short answer could never read as "not suppressed".
		supp, erased := sp.Val(), er.Val()
		for i := range emails {
			var status string
			if bySets {
				status = string(newsletter.SubscriberActive)
				for j, c := range stopped {
					if v := c.Val(); i >= len(v) || v[i] {
						status = string(stopStatuses[j]) // a short answer is no "active"
						break
					}
				}
			} else if v := st[i].Val(); len(v) == 2 {
				status, _ = v[0].(string)
				out[i].Name, _ = v[1].(string)
			}
			out[i].Hash = hashes[i].(string)
			switch {
			case erased[i]:
				out[i].Why = "erased"
				out[i].Name = ""
			case supp[i] != nil:
				out[i].Why = "suppressed"
			case status == "":
				out[i].Why = "not a subscriber"
			case status != string(newsletter.SubscriberActive):
				out[i].Why = status
			case !onList(i):
				out[i].Why = "left the list"
			}
		}
		return out
	}
}

// ScanMembers calls fn with batches of the emails subscribed to list. Memory
// does not grow with the list.
func (s *Store) ScanMembers(ctx context.Context, list string, batch int, fn func([]string) error) error {
	return s.ScanMembersFrom(ctx, list, 0, batch, func(emails []string, _ uint64) error { return fn(emails) })
}

// ScanMembersFrom is ScanMembers from a cursor an earlier scan of the list
// handed to fn (0: the start), with the cursor that continues after each
// batch (0 after the last one). A scan resumed from a cursor meets every
// email that was a member throughout at least once (Redis's SSCAN
// guarantee), but may meet some of the earlier batches again.
func (s *Store) ScanMembersFrom(ctx context.Context, list string, cursor uint64, batch int, fn func(emails []string, next uint64) error) error {
	for {
		c, cancel := s.ctx(ctx)
		emails, next, err := s.rdb.SScan(c, s.members(list), cursor, "", int64(batch)).Result()
		cancel()
		if err != nil {
			return unavailable(err)
		}
		if len(emails) > 0 || next == 0 {
			if err := fn(emails, next); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// loadSubscribers reads the subscriber and membership hashes of emails in
// one pipelined round trip; an unknown address gets empty maps.
func (s *Store) loadSubscribers(ctx context.Context, emails []string) (subs, lists []map[string]string, err error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	hs := make([]*redis.MapStringStringCmd, len(emails))
	ls := make([]*redis.MapStringStringCmd, len(emails))
	for i, e := range emails {
		hs[i] = pipe.HGetAll(c, s.subKey(e))
		ls[i] = pipe.HGetAll(c, s.subLists(e))
	}
	if err := execPipe(c, pipe); err != nil {
		return nil, nil, err
	}
	subs, lists = make([]map[string]string, len(emails)), make([]map[string]string, len(emails))
	for i := range emails {
		subs[i], lists[i] = hs[i].Val(), ls[i].Val()
	}
	return subs, lists, nil
}

// ScanSubscribers calls fn with batches of subscribers in address order,
// all of them (list == "") or one list's members.
func (s *Store) ScanSubscribers(ctx context.Context, list string, batch int, fn func([]*newsletter.Subscriber, []map[string]string) error) error {
	load := func(emails []string) error {
		hs, ls, err := s.loadSubscribers(ctx, emails)
		if err != nil {
			return err
		}
		subs := make([]*newsletter.Subscriber, 0, len(emails))
		lists := make([]map[string]string, 0, len(emails))
		for i := range emails {
			if len(hs[i]) == 0 {
				continue
			}
			subs = append(subs, subscriberFrom(hs[i]))
			lists = append(lists, ls[i])
		}
		return fn(subs, lists)
	}
	if list != "" {
		return s.ScanMembers(ctx, list, batch, load)
	}
	start := "-"
	for {
		c, cancel := s.ctx(ctx)
		emails, err := s.rdb.ZRangeByLex(c, s.key("subs"), &redis.ZRangeBy{Min: start, Max: "+", Count: int64(batch)}).Result()
		cancel()
		if err != nil {
			return unavailable(err)
		}
		if len(emails) == 0 {
			return nil
		}
		if err := load(emails); err != nil {
			return err
		}
		start = "(" + emails[len(emails)-1]
	}
}

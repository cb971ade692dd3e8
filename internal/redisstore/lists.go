package redisstore

import (
	"context"
	"fmt"
	"regexp"

	"github.com/redis/go-redis/v9"

	"newsletter"
)

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidSlug checks a list slug.
func ValidSlug(slug string) error {
	if !slugRE.MatchString(slug) {
		return newsletter.Errorf(newsletter.EINVALID,
			"list slug %q is not valid: use lower-case letters, digits and dashes, e.g. techniek-regio", slug)
	}
	return nil
}

// CreateList creates a list; an existing live slug is a conflict.
func (s *Store) CreateList(ctx context.Context, l newsletter.List) error {
	if err := ValidSlug(l.Slug); err != nil {
		return err
	}
	if l.Name == "" {
		l.Name = l.Slug
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	now := s.Now()
	added, err := s.rdb.ZAddNX(ctx, s.key("lists"), redis.Z{Score: float64(now.UnixMilli()), Member: l.Slug}).Result()
	if err != nil {
		return unavailable(err)
	}
	if added == 0 {
		return newsletter.Errorf(newsletter.ECONFLICT, "list %q already exists: pick another slug or use the existing list", l.Slug)
	}
	return unavailable(s.rdb.HSet(ctx, s.key("list", l.Slug),
		"slug", l.Slug, "name", l.Name, "description", l.Description,
		"double_opt_in", boolStr(l.DoubleOptIn), "public", boolStr(l.Public), "created_at", ms(now), "deleted_at", "").Err())
}

// GetList returns a live list or ErrNotFound.
func (s *Store) GetList(ctx context.Context, slug string) (*newsletter.List, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	h, err := s.rdb.HGetAll(ctx, s.key("list", slug)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	if len(h) == 0 || h["deleted_at"] != "" {
		return nil, newsletter.Errorf(newsletter.ENOTFOUND, "list %q does not exist: see `newsletter lists ls`, or create it with `newsletter lists create %s --name NAME`", slug, slug)
	}
	return listFrom(h), nil
}

func listFrom(h map[string]string) *newsletter.List {
	return &newsletter.List{Slug: h["slug"], Name: h["name"], Description: h["description"],
		DoubleOptIn: h["double_opt_in"] == "1", Public: h["public"] == "1", CreatedAt: parseTime(h["created_at"]), DeletedAt: parseTime(h["deleted_at"])}
}

// Lists returns the live lists with member counts, oldest first.
func (s *Store) Lists(ctx context.Context) ([]newsletter.ListInfo, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	slugs, err := s.rdb.ZRange(ctx, s.key("lists"), 0, -1).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	pipe := s.rdb.Pipeline()
	hs := make([]*redis.MapStringStringCmd, len(slugs))
	ns := make([][3]*redis.IntCmd, len(slugs))
	for i, sl := range slugs {
		hs[i] = pipe.HGetAll(ctx, s.key("list", sl))
		ns[i] = [3]*redis.IntCmd{pipe.SCard(ctx, s.members(sl)), pipe.SCard(ctx, s.unconfirmed(sl)), pipe.SCard(ctx, s.left(sl))}
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, err
	}
	not, err := s.notMailed(ctx, slugs)
	if err != nil {
		return nil, err
	}
	out := make([]newsletter.ListInfo, 0, len(slugs))
	for i := range slugs {
		c := newsletter.MembershipCounts{Subscribed: ns[i][0].Val() - not[i], Unconfirmed: ns[i][1].Val(), Unsubscribed: ns[i][2].Val(), NotMailed: not[i]}
		out = append(out, newsletter.ListInfo{List: *listFrom(hs[i].Val()), Members: c.Subscribed, Counts: c})
	}
	return out, nil
}

// UpdateList renames or re-describes a list; nil fields stay.
func (s *Store) UpdateList(ctx context.Context, slug string, name, description *string, doubleOptIn, public *bool) error {
	if _, err := s.GetList(ctx, slug); err != nil {
		return err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var args []any
	if name != nil {
		if *name == "" {
			return newsletter.Errorf(newsletter.EINVALID, "list name is empty: give a name")
		}
		args = append(args, "name", *name)
	}
	if description != nil {
		args = append(args, "description", *description)
	}
	if doubleOptIn != nil {
		args = append(args, "double_opt_in", boolStr(*doubleOptIn))
	}
	if public != nil {
		args = append(args, "public", boolStr(*public))
	}
	if len(args) == 0 {
		return nil
	}
	return unavailable(s.rdb.HSet(ctx, s.key("list", slug), args...).Err())
}

// DeleteList removes a list from use. Its record and its members' history
// stay (memberships become "list_deleted"), and nobody's subscription
// elsewhere changes.
func (s *Store) DeleteList(ctx context.Context, slug string) error {
	if _, err := s.GetList(ctx, slug); err != nil {
		return err
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := s.rdb.HSet(cctx, s.key("list", slug), "deleted_at", ms(s.Now())).Err(); err != nil {
		return unavailable(err)
	}
	if err := s.rdb.ZRem(cctx, s.key("lists"), slug).Err(); err != nil {
		return unavailable(err)
	}
	// Mark memberships in batches; the list's sets are renamed so the slug
	// can be reused without inheriting anyone. Only this list's field in
	// each member's memberships changes: no other subscription is touched.
	for _, set := range []string{s.members(slug), s.unconfirmed(slug)} {
		if err := s.markDeleted(ctx, set, slug); err != nil {
			return err
		}
	}
	stamp := fmt.Sprint(s.Now().UnixMilli())
	c3, cancel3 := s.ctx(ctx)
	defer cancel3()
	for _, part := range []string{"members", "unconfirmed", "left"} {
		to := s.prefix + "{l:" + slug + "}:deleted:" + stamp
		if part != "members" {
			to += ":" + part
		}
		err := s.rdb.Rename(c3, s.prefix+"{l:"+slug+"}:"+part, to).Err()
		if err != nil && !redis.HasErrorPrefix(err, "no such key") { // nothing to rename
			return unavailable(err)
		}
	}
	return nil
}

func (s *Store) markDeleted(ctx context.Context, set, slug string) error {
	var cursor uint64
	for {
		c2, cancel2 := s.ctx(ctx)
		emails, next, err := s.rdb.SScan(c2, set, cursor, "", 500).Result()
		if err != nil {
			cancel2()
			return unavailable(err)
		}
		pipe := s.rdb.Pipeline()
		for _, e := range emails {
			pipe.HSet(c2, s.subLists(e), slug, "list_deleted")
		}
		err = execPipe(c2, pipe)
		cancel2()
		if err != nil {
			return err
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// notMailed counts, per list, the members who would not be mailed: they
// unsubscribed from everything, are blocklisted or suppressed (bounces,
// complaints). It walks those addresses, not the lists: they are few next
// to the members, and each batch is one pipelined round trip.
func (s *Store) notMailed(ctx context.Context, slugs []string) ([]int64, error) {
	out := make([]int64, len(slugs))
	if len(slugs) == 0 {
		return out, nil
	}
	count := func(emails []string, skip func(i int) bool) error {
		c, cancel := s.ctx(ctx)
		defer cancel()
		pipe := s.rdb.Pipeline()
		in := make([]*redis.BoolSliceCmd, len(slugs))
		for j, sl := range slugs {
			in[j] = pipe.SMIsMember(c, s.members(sl), toAny(emails)...)
		}
		if err := execPipe(c, pipe); err != nil {
			return err
		}
		for j := range slugs {
			for i, yes := range in[j].Val() {
				if yes && !skip(i) {
					out[j]++
				}
			}
		}
		return nil
	}
	none := func(int) bool { return false }
	for _, st := range []newsletter.SubscriberStatus{newsletter.SubscriberUnsubscribed, newsletter.SubscriberBlocklisted} {
		if err := s.scanSet(ctx, s.statusSet(st), func(emails []string) error { return count(emails, none) }); err != nil {
			return nil, err
		}
	}
	// A suppressed address that is also unsubscribed or blocklisted was
	// counted above.
	err := s.scanHash(ctx, s.key("supp"), 500, func(kv []string) error {
		var emails []string
		for i := 0; i < len(kv); i += 2 {
			emails = append(emails, kv[i])
		}
		c, cancel := s.ctx(ctx)
		pipe := s.rdb.Pipeline()
		un := pipe.SMIsMember(c, s.statusSet(newsletter.SubscriberUnsubscribed), toAny(emails)...)
		bl := pipe.SMIsMember(c, s.statusSet(newsletter.SubscriberBlocklisted), toAny(emails)...)
		err := execPipe(c, pipe)
		cancel()
		if err != nil {
			return err
		}
		return count(emails, func(i int) bool { return un.Val()[i] || bl.Val()[i] })
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanSet calls fn with batches of the members of the set key.
func (s *Store) scanSet(ctx context.Context, key string, fn func([]string) error) error {
	var cursor uint64
	for {
		c, cancel := s.ctx(ctx)
		emails, next, err := s.rdb.SScan(c, key, cursor, "", 500).Result()
		cancel()
		if err != nil {
			return unavailable(err)
		}
		if len(emails) > 0 {
			if err := fn(emails); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// scanHash calls fn with the fields and values of the hash at key, count
// fields a step as a hint, as HSCAN gives them: field, value, field, ...
func (s *Store) scanHash(ctx context.Context, key string, count int64, fn func(kv []string) error) error {
	var cursor uint64
	for {
		c, cancel := s.ctx(ctx)
		kv, next, err := s.rdb.HScan(c, key, cursor, "", count).Result()
		cancel()
		if err != nil {
			return unavailable(err)
		}
		if len(kv) > 0 {
			if err := fn(kv); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, v := range ss {
		out[i] = v
	}
	return out
}

// InLists reports, per email, whether it is a member of any of lists, in
// one pipelined round trip.
func (s *Store) InLists(ctx context.Context, emails, lists []string) ([]bool, error) {
	out := make([]bool, len(emails))
	if len(emails) == 0 || len(lists) == 0 {
		return out, nil
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	in := make([]*redis.BoolSliceCmd, len(lists))
	for j, l := range lists {
		in[j] = pipe.SMIsMember(c, s.members(l), toAny(emails)...)
	}
	if err := execPipe(c, pipe); err != nil {
		return nil, err
	}
	for j := range lists {
		for i, yes := range in[j].Val() {
			out[i] = out[i] || yes
		}
	}
	return out, nil
}

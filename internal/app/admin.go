package app

import (
	"context"
	"fmt"
	"time"

	"newsletter"
	"newsletter/internal/address"
	"newsletter/internal/ratelimit"
	"newsletter/internal/redisstore"
	"newsletter/workers"
)

// AddInput is one subscriber an admin adds to a list.
type AddInput struct {
	Email        string            `json:"email"`
	Name         string            `json:"name,omitempty"`
	Organisation string            `json:"organisation,omitempty"`
	Attributes   map[string]string `json:"attributes,omitempty"`
	// Override re-admits an address that bounced, complained, was
	// blocklisted or erased: only with the person's new consent. An address
	// that opted out (unsubscribed, left the list) is instead asked to
	// confirm by email: only the person can undo their opt-out.
	Override bool `json:"override,omitempty"`
}

// AddResult says what adding did.
type AddResult struct {
	Email   string `json:"email"`
	List    string `json:"list"`
	Outcome string `json:"outcome"` // imported, updated, unchanged
	// Membership is the status on the list: subscribed, or unconfirmed
	// (double opt-in: a confirmation email was queued).
	Membership newsletter.MembershipStatus `json:"membership"`
}

// AddSubscriber adds (or updates) one subscriber on list, with the same
// rules as an import: an address that opted out is refused unless
// in.Override, and a double opt-in list asks the address to confirm.
func (a *App) AddSubscriber(ctx context.Context, list string, in AddInput) (*AddResult, error) {
	email, err := address.Normalize(in.Email)
	if err != nil {
		return nil, err
	}
	l, err := a.store.GetList(ctx, list)
	if err != nil {
		return nil, err
	}
	res, err := a.store.ImportBatch(ctx, newsletter.ImportOptions{List: list, Mode: newsletter.ImportUpdate, Override: in.Override, DoubleOptIn: l.DoubleOptIn},
		[]newsletter.SubscriberInput{{Email: email, Name: in.Name, Organisation: in.Organisation, Attributes: in.Attributes}})
	if err != nil {
		return nil, err
	}
	r := res[0]
	if r.Outcome == newsletter.OutcomeRejected {
		return nil, newsletter.Errorf(newsletter.ECONFLICT, "%s not added to %s: %s", email, list, r.Reason)
	}
	out := &AddResult{Email: email, List: list, Outcome: string(r.Outcome), Membership: newsletter.MemberSubscribed}
	_, ms, err := a.store.GetSubscriber(ctx, email)
	if err != nil {
		return nil, err
	}
	out.Membership = ms[list]
	a.audit(ctx, "subscriber.add", email, nil, out)
	if out.Membership == newsletter.MemberUnconfirmed {
		// Resending to an address that was already asked is fine: an admin
		// adding it again means "ask again".
		if err := a.RequestConfirmation(ctx, list, []string{email}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RequestConfirmation queues double opt-in confirmation emails for emails
// on list, through the same deliveries stream as editions.
func (a *App) RequestConfirmation(ctx context.Context, list string, emails []string) error {
	return a.queueNotices(ctx, workers.JobConfirm, list, emails)
}

// queueNotices puts service-email jobs of kind for emails on the
// deliveries stream, a chunk of recipients per job.
func (a *App) queueNotices(ctx context.Context, kind, list string, emails []string) error {
	chunk := a.Cfg.Chunk
	if chunk <= 0 {
		chunk = 50
	}
	for len(emails) > 0 {
		n := min(chunk, len(emails))
		m, err := workers.NewMessage(workers.DeliveryJob{Kind: kind, List: list, Recipients: append([]string(nil), emails[:n]...)})
		if err != nil {
			return err
		}
		if err := a.store.Append(ctx, workers.TopicDeliveries, m); err != nil {
			return fmt.Errorf("queue %s emails: %w", kind, err)
		}
		emails = emails[n:]
	}
	return nil
}

// ErrTooManyRequests: the public form was used more often than its quota
// allows (per client address or overall).
var ErrTooManyRequests = newsletter.Errorf(newsletter.ECONFLICT, "too many subscription requests: try again later")

// Subscribe handles the public subscribe form: the membership stays
// unconfirmed until the address follows the emailed link. It returns an
// error only for a bad address, an unknown list, a quota exceeded
// (ErrTooManyRequests) or an outage, never for what the store knows about
// the address (no enumeration). client is the requester's address, for
// the per-client quota.
//
// Against mail-bombing, one address gets at most one confirmation email
// per list within Cfg.ConfirmCooldown, however often it is posted.
func (a *App) Subscribe(ctx context.Context, list, rawEmail, client string) error {
	email, err := address.Normalize(rawEmail)
	if err != nil {
		return err
	}
	if err := a.allowForm(ctx, client); err != nil {
		return err
	}
	send, err := a.store.RequestMembership(ctx, email, list)
	if err != nil || !send {
		return err
	}
	if first, err := a.firstIn(ctx, "confirm-sent:"+list, email, a.Cfg.ConfirmCooldown); err != nil || !first {
		return err
	}
	return a.RequestConfirmation(ctx, list, []string{email})
}

// allowForm takes one request of client from the public forms' quotas:
// the client's own first, so that a client over its quota does not use
// up everyone's.
func (a *App) allowForm(ctx context.Context, client string) error {
	for _, q := range []struct {
		quota      *ratelimit.Quota
		key, scope string
	}{{a.formPerClient, client, "client"}, {a.formOverall, "all", "overall"}} {
		ok, err := q.quota.Allow(ctx, q.key)
		if err != nil {
			return err
		}
		if !ok {
			a.Logger.Warn("public form quota exceeded", "scope", q.scope)
			return ErrTooManyRequests
		}
	}
	return nil
}

// firstIn reports whether this is the first time within d that what
// happens for email (a service email sent, say); d <= 0 means every time.
// The mark holds the address's hash, never the address.
func (a *App) firstIn(ctx context.Context, what, email string, d time.Duration) (bool, error) {
	if d <= 0 {
		return true, nil
	}
	return a.store.MarkOnce(ctx, what+":"+address.Hash(email), d)
}

// SubscriberDetail is `subscribers show`.
type SubscriberDetail struct {
	Subscriber *newsletter.Subscriber                 `json:"subscriber"`
	Lists      map[string]newsletter.MembershipStatus `json:"lists"`
	Suppressed *newsletter.Suppression                `json:"suppression"`
}

// ShowSubscriber returns one subscriber with memberships and suppression.
func (a *App) ShowSubscriber(ctx context.Context, rawEmail string) (*SubscriberDetail, error) {
	email, err := address.Normalize(rawEmail)
	if err != nil {
		return nil, err
	}
	sub, lists, err := a.store.GetSubscriber(ctx, email)
	if err != nil {
		return nil, err
	}
	d := &SubscriberDetail{Subscriber: sub, Lists: lists}
	if sp, err := a.store.Suppression(ctx, email); err == nil {
		d.Suppressed = sp
	} else if newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		return nil, err
	}
	return d, nil
}

// Counts are `subscribers counts`: store-wide and per list.
type Counts struct {
	Subscribers newsletter.SubscriberCounts            `json:"subscribers"`
	Lists       map[string]newsletter.MembershipCounts `json:"lists"`
}

// Counts counts subscribers per status and memberships per list and status.
func (a *App) Counts(ctx context.Context) (*Counts, error) {
	sc, err := a.store.SubscriberCounts(ctx)
	if err != nil {
		return nil, err
	}
	ls, err := a.store.Lists(ctx)
	if err != nil {
		return nil, err
	}
	c := &Counts{Subscribers: sc, Lists: map[string]newsletter.MembershipCounts{}}
	for _, l := range ls {
		c.Lists[l.Slug] = l.Counts
	}
	return c, nil
}

// PersonalData is the AVG/GDPR access export of one address.
func (a *App) PersonalData(ctx context.Context, rawEmail string) (*redisstore.PersonalData, error) {
	email, err := address.Normalize(rawEmail)
	if err != nil {
		return nil, err
	}
	pd, err := a.store.PersonalData(ctx, email)
	return pd, a.audited(ctx, err, "subscriber.personal_data", email, nil, nil)
}

// SubscriberRecord is what an address's admin page shows besides
// ShowSubscriber: its deliveries, soft bounces and suppression log lines.
// It reads what PersonalData reads, but it is a look at the page, not an
// access export, so it is not in the audit log (the page's history would
// otherwise fill up with its own views).
func (a *App) SubscriberRecord(ctx context.Context, rawEmail string) (*redisstore.PersonalData, error) {
	email, err := address.Normalize(rawEmail)
	if err != nil {
		return nil, err
	}
	return a.store.PersonalData(ctx, email)
}

// Erase removes every personal datum of one address (AVG/GDPR), keeping
// only its hash so it is never mailed or re-imported silently. An address
// that is not stored is an error that changes nothing, unless block: then
// its hash is recorded all the same, to refuse it for good.
func (a *App) Erase(ctx context.Context, rawEmail string, block bool) (*redisstore.ErasureReport, error) {
	email, err := address.Normalize(rawEmail)
	if err != nil {
		return nil, err
	}
	// The address's history goes first: should erasing fail, it can be
	// run again.
	if _, err := a.store.ForgetAudit(ctx, email); err != nil {
		return nil, err
	}
	rep, err := a.store.Erase(ctx, email,
		[]string{workers.TopicEditionsPublished, workers.TopicDeliveries, workers.TopicSESEvents}, workers.TopicPoison, block)
	if err != nil {
		return nil, err
	}
	if !rep.Found && !block {
		return nil, newsletter.Errorf(newsletter.ENOTFOUND,
			"%s is not stored here, so nothing was erased (check the spelling); to refuse the address for good (never mailed, never imported), erase it with --block", email)
	}
	a.audit(ctx, "subscriber.erase", rep.Hash, nil, map[string]bool{"found": rep.Found, "block": block})
	a.Logger.Info("address erased", "hash", rep.Hash, "found", rep.Found, "pending_stream_entries", len(rep.PendingStreamEntries))
	return rep, nil
}

// SearchSubscribers finds subscribers by address, name or organisation,
// one page at a time.
func (a *App) SearchSubscribers(ctx context.Context, query string, limit int, cursor string) (*newsletter.SearchResult, error) {
	return a.store.Search(ctx, query, limit, cursor)
}

// UpdateSubscriber changes one subscriber's data or global status.
func (a *App) UpdateSubscriber(ctx context.Context, rawEmail string, u newsletter.SubscriberUpdate) error {
	email, err := address.Normalize(rawEmail)
	if err != nil {
		return err
	}
	if u.Name == nil && u.Organisation == nil && u.Status == nil && len(u.Attributes) == 0 {
		return newsletter.Errorf(newsletter.EINVALID, "nothing to change for %s: give a name, organisation, attributes or status", email)
	}
	return a.audited(ctx, a.store.UpdateSubscriber(ctx, email, u), "subscriber.update", email, nil, u)
}

// RemoveMembership takes an address off a list as an admin's correction
// (not an opt-out: adding it again later needs no override).
func (a *App) RemoveMembership(ctx context.Context, rawEmail, list string) error {
	email, err := address.Normalize(rawEmail)
	if err != nil {
		return err
	}
	if list == "" {
		return newsletter.Errorf(newsletter.EINVALID, "no list given: name the list to take %s off (to delete everything about the address, erase it)", email)
	}
	return a.audited(ctx, a.store.RemoveMembership(ctx, email, list), "subscriber.remove_membership", email, nil, map[string]string{"list": list})
}

// Block blocklists an address: never mailed, never re-imported without an
// override.
func (a *App) Block(ctx context.Context, rawEmail, reason string) error {
	email, err := address.Normalize(rawEmail)
	if err != nil {
		return err
	}
	if err := needReason("blocklisting an address", reason); err != nil {
		return err
	}
	return a.audited(ctx, a.store.Block(ctx, email, reason), "subscriber.block", email, nil, map[string]string{"reason": reason})
}

package app

import (
	"context"
	"sort"
	"strings"
	"time"
	"unicode"

	"newsletter"
	"newsletter/internal/address"
	"newsletter/workers"
)

// The use cases behind the public pages: partners arrive with a signed
// link and no account.

// Unsubscribe records a partner's opt-out from everything. An address the
// store does not know (erased meanwhile) is not an error: it is not mailed.
func (a *App) Unsubscribe(ctx context.Context, email, reason string) error {
	err := a.store.Unsubscribe(ctx, email, "", reason)
	if newsletter.ErrorCode(err) == newsletter.ENOTFOUND {
		return nil
	}
	return err
}

// PreferenceList is one list on a partner's preferences page.
type PreferenceList struct {
	Slug, Name, Description string
	DoubleOptIn             bool
	// State is the partner's membership: subscribed, unconfirmed (a
	// confirmation is pending), unsubscribed (left it) or "" (never on it).
	State newsletter.MembershipStatus
	// On: the partner receives this list now.
	On bool
}

// Preferences is what a partner sees on their preferences page.
type Preferences struct {
	Email string
	// Unsubscribed: the partner opted out of everything; no list is
	// mailed until they tick one again.
	Unsubscribed bool
	Lists        []PreferenceList
}

// Preferences returns the lists a partner may choose from: the public ones
// and the ones they are or were on, by name, with their state.
func (a *App) Preferences(ctx context.Context, email string) (*Preferences, error) {
	lists, err := a.store.Lists(ctx)
	if err != nil {
		return nil, err
	}
	sub, members, err := a.store.GetSubscriber(ctx, email)
	if err != nil {
		return nil, err
	}
	p := &Preferences{Email: email, Unsubscribed: sub.Status != newsletter.SubscriberActive}
	for _, l := range lists {
		st, known := members[l.Slug]
		if !l.Public && !known {
			continue
		}
		p.Lists = append(p.Lists, PreferenceList{Slug: l.Slug, Name: l.Name, Description: l.Description, DoubleOptIn: l.DoubleOptIn,
			State: st, On: st == newsletter.MemberSubscribed && sub.Status == newsletter.SubscriberActive})
	}
	sort.Slice(p.Lists, func(i, j int) bool { return p.Lists[i].Name < p.Lists[j].Name })
	return p, nil
}

// SavePreferences makes the partner's lists exactly want, among the lists
// their page offers (anything else in want is ignored): unticked lists are
// left, ticked ones subscribed, and a ticked double opt-in list the partner
// is not on yet gets a confirmation email instead. No list at all is an
// opt-out from everything.
func (a *App) SavePreferences(ctx context.Context, email string, want map[string]bool) (*Preferences, error) {
	cur, err := a.Preferences(ctx, email)
	if err != nil {
		return nil, err
	}
	any := false
	// Leave first: subscribing to a list makes a globally unsubscribed
	// address active again, and then no unticked list may still count.
	for _, l := range cur.Lists {
		if want[l.Slug] {
			any = true
			continue
		}
		if l.State == newsletter.MemberSubscribed || l.State == newsletter.MemberUnconfirmed {
			if err := a.store.SetMembership(ctx, email, l.Slug, false); err != nil {
				return nil, err
			}
		}
	}
	for _, l := range cur.Lists {
		switch {
		case !want[l.Slug] || l.On:
		case l.DoubleOptIn && l.State != newsletter.MemberSubscribed:
			send, err := a.store.RequestMembership(ctx, email, l.Slug)
			if err != nil {
				return nil, err
			}
			if send {
				if err := a.RequestConfirmation(ctx, l.Slug, []string{email}); err != nil {
					return nil, err
				}
			}
		default:
			if err := a.store.SetMembership(ctx, email, l.Slug, true); err != nil {
				return nil, err
			}
		}
	}
	if !any && !cur.Unsubscribed {
		if err := a.store.Unsubscribe(ctx, email, "", "preferences: no lists"); err != nil {
			return nil, err
		}
	}
	return a.Preferences(ctx, email)
}

// SendPreferencesLink emails a fresh preferences link to email, whose old
// link had expired. It answers the same whatever the store knows (an
// unknown or unmailable address gets nothing), at most one email an hour
// per address, within the public forms' quotas.
func (a *App) SendPreferencesLink(ctx context.Context, email, client string) error {
	if err := a.allowForm(ctx, client); err != nil {
		return err
	}
	info, err := a.store.Deliverable(ctx, []string{email})
	if err != nil {
		return err
	}
	if w := info[0].Why; w != "" && w != string(newsletter.SubscriberUnsubscribed) {
		return nil
	}
	if first, err := a.firstIn(ctx, "prefs-link-sent", email, time.Hour); err != nil || !first {
		return err
	}
	return a.queueNotices(ctx, workers.JobPreferencesLink, "", []string{email})
}

// ExpireUnconfirmed drops the public form's requests that were not
// confirmed within Cfg.UnconfirmedTTL (the workers call it every minute).
func (a *App) ExpireUnconfirmed(ctx context.Context) (int, error) {
	return a.store.ExpireUnconfirmed(ctx, a.Now())
}

// ConfirmSubscription is a partner's own confirmation of a double opt-in
// membership (the POST behind the emailed link).
func (a *App) ConfirmSubscription(ctx context.Context, email, list string) error {
	_, err := a.store.Confirm(ctx, email, list)
	return err
}

// Ping reports whether Redis answers.
func (a *App) Ping(ctx context.Context) error {
	if err := a.store.Client().Ping(ctx).Err(); err != nil {
		return newsletter.Errorf(newsletter.EUNAVAILABLE, "Redis is not reachable: %v", err)
	}
	return nil
}

// EditionLanguage is the language of edition id ("" when it cannot be
// told), for the pages its links lead to.
func (a *App) EditionLanguage(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	if en, ok, err := a.store.ArchiveEntryOf(ctx, id); err == nil && ok {
		if it, err := a.archiveItem(ctx, a.archiveCache(), en); err == nil {
			return it.Language
		}
	}
	e, err := a.store.GetEdition(ctx, id)
	if err != nil {
		return ""
	}
	return e.Language
}

// PublicLists are the lists the subscribe form offers, by name.
func (a *App) PublicLists(ctx context.Context) ([]newsletter.List, error) {
	all, err := a.store.Lists(ctx)
	if err != nil {
		return nil, err
	}
	var out []newsletter.List
	for _, l := range all {
		if l.Public {
			out = append(out, l.List)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// maxNameRunes bounds a name typed on the public form.
const maxNameRunes = 100

// SubscribeNamed is Subscribe with the name the partner typed (optional).
// The name is kept only for an address that has none yet: a stranger
// cannot rename someone else's record with the form.
func (a *App) SubscribeNamed(ctx context.Context, list, rawEmail, name, client string) error {
	if err := a.Subscribe(ctx, list, rawEmail, client); err != nil {
		return err
	}
	name = strings.Join(strings.FieldsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if r := []rune(name); len(r) > maxNameRunes {
		name = string(r[:maxNameRunes])
	}
	if name == "" {
		return nil
	}
	email, err := address.Normalize(rawEmail)
	if err != nil {
		return nil
	}
	sub, _, err := a.store.GetSubscriber(ctx, email)
	if err != nil || sub.Name != "" {
		return nil // not there (a blocked address, say) or named already
	}
	return a.store.UpdateSubscriber(ctx, email, newsletter.SubscriberUpdate{Name: &name})
}

// RequestPreferencesLink is SendPreferencesLink for an address typed on
// the public form (the bad-link page): it is checked first, and a
// malformed one is EINVALID.
func (a *App) RequestPreferencesLink(ctx context.Context, rawEmail, client string) error {
	email, err := address.Normalize(rawEmail)
	if err != nil {
		return err
	}
	return a.SendPreferencesLink(ctx, email, client)
}

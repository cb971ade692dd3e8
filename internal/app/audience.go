package app

import (
	"context"
	"slices"
	"time"

	"newsletter"
	"newsletter/internal/ses"
	"newsletter/workers"
)

// AudienceCount is who a publish to some lists would mail, counted the way
// the send step decides, without sending anything.
type AudienceCount struct {
	Lists []string `json:"lists"`
	// Recipients is the number of emails the publish would send.
	Recipients int64 `json:"recipients"`
	// Duplicates are memberships of an address already counted on an
	// earlier list.
	Duplicates int64 `json:"duplicates"`
	// Excluded counts the addresses that would not be mailed, by reason
	// (unsubscribed, blocklisted, suppressed, erased, not a subscriber).
	Excluded map[string]int64 `json:"excluded"`
	// PerList is each list's share of Recipients (an address on two lists
	// counts for the first).
	PerList map[string]int64 `json:"per_list"`
}

// Audience counts the recipients of a publish to lists as the send step
// would find them now (the fan-out queues every member; each address is
// checked just before its SES call): duplicates, unsubscribed, blocklisted
// and suppressed addresses removed. It streams the lists in pipelined
// batches (three round trips per 500 members).
func (a *App) Audience(ctx context.Context, lists []string) (*AudienceCount, error) {
	if len(lists) == 0 {
		return nil, newsletter.Errorf(newsletter.EINVALID, "no lists given: choose at least one list")
	}
	lists = slices.Compact(slices.Clone(lists))
	for _, l := range lists {
		if _, err := a.store.GetList(ctx, l); err != nil {
			return nil, err
		}
	}
	out := &AudienceCount{Lists: lists, Excluded: map[string]int64{}, PerList: map[string]int64{}}
	for i, list := range lists {
		out.PerList[list] = 0
		err := a.store.ScanMembers(ctx, list, 500, func(emails []string) error {
			dup, err := a.store.InLists(ctx, emails, lists[:i])
			if err != nil {
				return err
			}
			fresh := make([]string, 0, len(emails))
			for j, e := range emails {
				if dup[j] {
					out.Duplicates++
				} else {
					fresh = append(fresh, e)
				}
			}
			why, err := a.store.Deliverable(ctx, fresh)
			if err != nil {
				return err
			}
			for _, w := range why {
				if w.Why == "" {
					out.Recipients++
					out.PerList[list]++
				} else {
					out.Excluded[w.Why]++
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// QueueDepth is how many send jobs wait or are in progress (each carries
// up to Cfg.Chunk recipients).
func (a *App) QueueDepth(ctx context.Context) (int64, error) {
	return a.store.Backlog(ctx, workers.TopicDeliveries, workers.HandlerSend)
}

// quotaAge is how long the dashboard reuses SES's answer.
const quotaAge = time.Minute

// SESQuota is the SES account's rate and 24-hour quota use, asked of SES
// through SESAPI (set by the wiring of a process that talks to SES) at
// most once a minute. Without SESAPI it is EUNAVAILABLE.
func (a *App) SESQuota(ctx context.Context) (ses.Quota, error) {
	a.quotaMu.Lock()
	defer a.quotaMu.Unlock()
	if a.SESAPI == nil {
		return ses.Quota{}, newsletter.Errorf(newsletter.EUNAVAILABLE, "this process has no SES client: the quota is not known here")
	}
	if !a.quotaAt.IsZero() && a.Now().Sub(a.quotaAt) < quotaAge {
		return a.quota, nil
	}
	q, err := ses.GetQuota(ctx, a.SESAPI)
	if err != nil {
		return ses.Quota{}, newsletter.Errorf(newsletter.EUNAVAILABLE, "ask SES for the quota: %w", err)
	}
	a.quota, a.quotaAt = q, a.Now()
	return q, nil
}

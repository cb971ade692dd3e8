package workers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"newsletter"
	"newsletter/internal/render"
)

// listGetter is satisfied by the Redis store; a Store without it gets the
// slug as the list's name in the email.
type listGetter interface {
	GetList(ctx context.Context, slug string) (*newsletter.List, error)
}

// notice is one kind of service email (not an edition): who may get it
// and what it says. Nothing is recorded in any edition.
type notice struct {
	kind string
	// wants reports whether to still mail the address, given its
	// memberships; an address that became unmailable is never mailed.
	wants func(ms map[string]newsletter.MembershipStatus) bool
	email func(to string) (*render.ConfirmEmail, error)
	tags  map[string]string
	// toErased lets it reach an erased address whose wants holds: one
	// that asked again on the public form, to be asked to confirm.
	toErased bool
}

// runConfirm sends double opt-in confirmation emails. A member that
// confirmed meanwhile, or became unmailable, is not asked.
func (s *Send) runConfirm(ctx context.Context, job DeliveryJob) error {
	if job.List == "" || len(job.Recipients) == 0 {
		return newsletter.Permanent(errors.New("confirmation job without list or recipients"))
	}
	name := job.List
	if g, ok := s.Store.(listGetter); ok {
		l, err := g.GetList(ctx, job.List)
		switch {
		case newsletter.ErrorCode(err) == newsletter.ENOTFOUND:
			s.Logger.Info("confirmation emails dropped: list deleted", "list", job.List, "count", len(job.Recipients))
			return nil
		case err != nil:
			return err
		}
		name = l.Name
	}
	return s.runNotice(ctx, job, notice{kind: JobConfirm,
		wants: func(ms map[string]newsletter.MembershipStatus) bool {
			return ms[job.List] == newsletter.MemberUnconfirmed // confirmed, left or removed: never asked again
		},
		email: func(to string) (*render.ConfirmEmail, error) {
			return s.Renderer.Confirm(name, s.Links.Confirm(to, job.List))
		},
		tags:     map[string]string{"kind": JobConfirm, "list": job.List},
		toErased: true}) // only its own new request gives it an unconfirmed membership
}

// runPreferencesLink sends a fresh preferences link to addresses that
// asked for one (their old link had expired).
func (s *Send) runPreferencesLink(ctx context.Context, job DeliveryJob) error {
	if len(job.Recipients) == 0 {
		return newsletter.Permanent(errors.New("preferences-link job without recipients"))
	}
	return s.runNotice(ctx, job, notice{kind: JobPreferencesLink,
		wants: func(map[string]newsletter.MembershipStatus) bool { return true },
		email: func(to string) (*render.ConfirmEmail, error) {
			return s.Renderer.PreferencesLink(s.Links.Preferences(to))
		},
		tags: map[string]string{"kind": JobPreferencesLink}})
}

// runNotice mails n to the job's recipients that may still get it, each
// after a rate permit; passing failures are retried with backoff.
func (s *Send) runNotice(ctx context.Context, job DeliveryJob, n notice) error {
	if requeued, err := s.waitUntilDue(ctx, job); requeued || err != nil {
		return err
	}
	info, err := s.Store.Deliverable(ctx, job.Recipients)
	if err != nil {
		return err
	}
	var retry []string
	for i, to := range job.Recipients {
		switch info[i].Why {
		case "", string(newsletter.SubscriberUnsubscribed):
			// A globally unsubscribed address that asked may get it.
		case "erased":
			if !n.toErased {
				continue
			}
		default:
			continue
		}
		_, ms, err := s.Store.GetSubscriber(ctx, to)
		if newsletter.ErrorCode(err) == newsletter.ENOTFOUND {
			continue
		}
		if err != nil {
			return err
		}
		if !n.wants(ms) {
			continue
		}
		if err := s.noticeLimiter().Wait(ctx, 1); err != nil {
			return err
		}
		m, err := n.email(to)
		if err != nil {
			return newsletter.Permanent(err)
		}
		_, err = s.Sender.Send(ctx, &newsletter.Email{From: s.From, To: to, Subject: m.Subject, HTML: m.HTML, Text: m.Text,
			Headers: s.listHeaders(s.Links.Unsubscribe(to, "")), Tags: n.tags})
		switch {
		case err == nil:
		case newsletter.IsPermanent(err), errors.Is(err, newsletter.ErrUnknownOutcome):
			s.Logger.Warn("service email not sent", "kind", n.kind, "list", job.List, "err", err)
		default:
			retry = append(retry, to)
		}
	}
	if len(retry) == 0 {
		return nil
	}
	if job.Attempt+1 >= s.MaxAttempts {
		s.Logger.Error("service emails given up", "kind", n.kind, "list", job.List, "count", len(retry), "attempts", job.Attempt+1)
		return nil
	}
	backoff := min(time.Duration(1<<min(job.Attempt, 8))*time.Second, 5*time.Minute)
	m, err := NewMessage(DeliveryJob{Kind: job.Kind, List: job.List, Recipients: retry, Attempt: job.Attempt + 1, NotBefore: s.Now().Add(backoff)})
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.Store.Append(rctx, TopicDeliveries, m); err != nil {
		return fmt.Errorf("re-enqueue %d %s emails: %w", len(retry), n.kind, err)
	}
	return nil
}

func (s *Send) noticeLimiter() Limiter {
	if s.NoticeLimiter != nil {
		return s.NoticeLimiter
	}
	return s.Limiter
}

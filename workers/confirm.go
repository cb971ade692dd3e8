package workers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"newsletter"
)

// listGetter is satisfied by the Redis store; a Store without it gets the
// slug as the list's name in the email.
type listGetter interface {
	GetList(ctx context.Context, slug string) (*newsletter.List, error)
}

// runConfirm sends double opt-in confirmation emails. Nothing is recorded
// in any edition: the membership itself says whether it was confirmed. A
// member that confirmed meanwhile, or became unmailable, is not asked.
func (s *Send) runConfirm(ctx context.Context, job DeliveryJob) error {
	if job.List == "" || len(job.Recipients) == 0 {
		return newsletter.Permanent(errors.New("confirmation job without list or recipients"))
	}
	if d := job.NotBefore.Sub(s.Now()); d > 0 {
		if err := sleep(ctx, d); err != nil {
			return err
		}
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
	info, err := s.Store.Deliverable(ctx, job.Recipients)
	if err != nil {
		return err
	}
	var retry []string
	for i, to := range job.Recipients {
		switch info[i].Why {
		case "", string(newsletter.SubscriberUnsubscribed):
			// A globally unsubscribed address that asked again may confirm.
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
		if ms[job.List] != newsletter.MemberUnconfirmed {
			continue // confirmed, left or removed: never asked again
		}
		if err := s.Limiter.Wait(ctx, 1); err != nil {
			return err
		}
		m, err := s.Renderer.Confirm(name, s.Links.Confirm(to, job.List))
		if err != nil {
			return newsletter.Permanent(err)
		}
		_, err = s.Sender.Send(ctx, &newsletter.Email{From: s.From, To: to, Subject: m.Subject, HTML: m.HTML, Text: m.Text,
			Headers: s.listHeaders(s.Links.Unsubscribe(to, "")),
			Tags:    map[string]string{"kind": JobConfirm, "list": job.List}})
		switch {
		case err == nil:
		case newsletter.IsPermanent(err), errors.Is(err, newsletter.ErrUnknownOutcome):
			s.Logger.Warn("confirmation email not sent", "list", job.List, "err", err)
		default:
			retry = append(retry, to)
		}
	}
	if len(retry) == 0 {
		return nil
	}
	if job.Attempt+1 >= s.MaxAttempts {
		s.Logger.Error("confirmation emails given up", "list", job.List, "count", len(retry), "attempts", job.Attempt+1)
		return nil
	}
	backoff := min(time.Duration(1<<min(job.Attempt, 8))*time.Second, 5*time.Minute)
	m, err := NewMessage(DeliveryJob{Kind: JobConfirm, List: job.List, Recipients: retry, Attempt: job.Attempt + 1, NotBefore: s.Now().Add(backoff)})
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.Store.Append(rctx, TopicDeliveries, m); err != nil {
		return fmt.Errorf("re-enqueue %d confirmation emails for list %s: %w", len(retry), job.List, err)
	}
	return nil
}

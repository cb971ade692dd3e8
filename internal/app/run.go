package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"newsletter/internal/ses"
	"newsletter/workers"
)

// WorkOptions wire the workers.
type WorkOptions struct {
	Sender workers.Sender
	// Rate is emails per second across all workers (<= 0: unlimited).
	Rate     float64
	Consumer string
	// Account, when set, syncs suppressions with the SES account list.
	Account *ses.AccountSuppression
}

// RunWork runs the workers until ctx ends: the router, the scheduler and
// the stream trimmer.
func (a *App) RunWork(ctx context.Context, o WorkOptions) error {
	if o.Consumer == "" {
		o.Consumer = a.ConsumerName()
	}
	router, err := a.Router(o)
	if err != nil {
		return err
	}
	rc := a.routerConfig(o)
	// A restart under the same name takes back at once what its previous
	// run held (nothing of it is running any more).
	if n, err := workers.HandBack(ctx, rc); err != nil {
		return err
	} else if n > 0 {
		a.Logger.Info("jobs of this worker's previous run put back on the streams", "consumer", o.Consumer, "entries", n)
	}
	go a.every(ctx, time.Second, func(ctx context.Context) {
		if _, err := a.FireDue(ctx); err != nil {
			a.Logger.Error("scheduler", "err", err)
		}
	})
	go a.every(ctx, 250*time.Millisecond, a.moveDelayed)
	go a.every(ctx, time.Minute, func(ctx context.Context) {
		if n, err := a.ExpireUnconfirmed(ctx); err != nil {
			a.Logger.Error("expire unconfirmed requests", "err", err)
		} else if n > 0 {
			a.Logger.Info("unconfirmed subscription requests expired", "count", n)
		}
	})
	go a.every(ctx, time.Minute, func(ctx context.Context) {
		for _, t := range []string{workers.TopicEditionsPublished, workers.TopicDeliveries, workers.TopicSESEvents} {
			if n, err := a.store.Trim(ctx, t); err != nil {
				a.Logger.Error("trim stream", "topic", t, "err", err)
			} else if n > 0 {
				a.Logger.Debug("trimmed stream", "topic", t, "entries", n)
			}
		}
	})
	if o.Account != nil {
		go a.every(ctx, 10*time.Minute, func(ctx context.Context) {
			if n, err := a.PullAccountSuppressions(ctx, o.Account); err != nil {
				a.Logger.Error("pull SES account suppressions", "err", err)
			} else if n > 0 {
				a.Logger.Info("suppressed addresses from the SES account list", "count", n)
			}
		})
	}
	go func() {
		select {
		case <-router.Running():
			a.workersUp.Store(true)
		case <-ctx.Done():
		}
	}()
	a.Logger.Info("workers running", "consumer", o.Consumer, "rate_per_s", o.Rate, "concurrency", a.Cfg.SendConcurrency, "jobs", a.Cfg.SendSubscribers)
	runErr := router.Run(ctx)
	// Stopped (SIGTERM): handlers have finished and recorded their calls.
	// What this process read but did not start goes to the others now.
	hctx, cancel := context.WithTimeout(context.Background(), max(a.Cfg.ShutdownTimeout/4, time.Second))
	defer cancel()
	if n, err := workers.HandBack(hctx, rc); err != nil {
		a.Logger.Error("hand back jobs not started; they are taken over after the claim idle time", "err", err, "claim_idle", a.Cfg.ClaimIdle)
	} else {
		a.Logger.Info("workers stopped; jobs not started handed back", "consumer", o.Consumer, "entries", n)
	}
	if runErr != nil {
		return fmt.Errorf("workers: %w", runErr)
	}
	return nil
}

func (a *App) every(ctx context.Context, d time.Duration, fn func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// PullAccountSuppressions copies addresses SES suppressed at the account
// level (since the last pull, or the last 30 days) into our suppression
// list. It returns how many were new here.
func (a *App) PullAccountSuppressions(ctx context.Context, acct *ses.AccountSuppression) (int, error) {
	since := a.Now().Add(-30 * 24 * time.Hour)
	if v, err := a.store.GetMark(ctx, "ses-suppression-pull"); err == nil && v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			since = t.Add(-time.Minute)
		}
	}
	started := a.Now().UTC()
	n := 0
	err := acct.Since(ctx, since, func(email, reason string, at time.Time) error {
		if _, err := a.store.Suppression(ctx, email); err == nil {
			return nil
		}
		n++
		return a.store.Suppress(ctx, email, "ses-account-"+strings.ToLower(reason), "on the SES account suppression list since "+at.Format(time.RFC3339))
	})
	if err != nil {
		return n, err
	}
	return n, a.store.SetMark(ctx, "ses-suppression-pull", started.Format(time.RFC3339), 0)
}

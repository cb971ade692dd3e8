package app

// Operations: metrics, readiness and the store decorator that counts
// recorded outcomes.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"newsletter"
	"newsletter/internal/metrics"
	"newsletter/workers"
)

// Metrics returns this process's instruments, with the Redis collector
// registered when there is a store.
func (a *App) Metrics() *metrics.Metrics {
	a.metricsOnce.Do(func() {
		a.metrics = metrics.New()
		if a.store != nil {
			topics := []string{workers.TopicEditionsPublished, workers.TopicDeliveries, workers.TopicSESEvents, workers.TopicPoison}
			a.metrics.Register(func(ctx context.Context) (*metrics.Snapshot, error) {
				return a.store.OpsSnapshot(ctx, topics, workers.TopicPoison)
			})
		}
	})
	return a.metrics
}

// Readiness is the answer of /readyz: each check's line, and whether all
// passed.
type Readiness struct {
	OK    bool
	Lines []string
}

func (r Readiness) String() string { return strings.Join(r.Lines, "\n") + "\n" }

// Ready reports whether every check passed (metrics.Readiness).
func (r Readiness) Ready() bool { return r.OK }

// Readiness returns the /readyz check of a process that sends (work, on
// its internal metrics address: the answer names the causes) or not
// (serve, on the public address: the answer says only what is not ready,
// and the cause goes to the log).
func (a *App) Readiness(sends bool) func(context.Context) metrics.Readiness {
	return func(ctx context.Context) metrics.Readiness {
		r := a.Ready(ctx, sends)
		if !sends && !r.OK {
			a.Logger.Warn("not ready", "checks", strings.Join(r.Lines, "; "))
			for i, l := range r.Lines {
				if name, _, _ := strings.Cut(l, ":"); l != name+": ok" {
					r.Lines[i] = name + ": not ready (the cause is in the log)"
				}
			}
		}
		return r
	}
}

// Ready checks that Redis answers and will not evict; for a worker process
// also that its router has subscribed, and what the last SES call showed.
// An SES that is known to be unreachable keeps the worker ready: it
// retries, and the line says so; Redis is what it cannot do without.
func (a *App) Ready(ctx context.Context, worker bool) Readiness {
	r := Readiness{OK: true}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if a.store == nil {
		r.OK = false
		r.Lines = append(r.Lines, "redis: not configured")
	} else if err := a.store.CheckPolicy(ctx); err != nil {
		r.OK = false
		r.Lines = append(r.Lines, "redis: "+err.Error())
	} else {
		r.Lines = append(r.Lines, "redis: ok")
	}
	if worker {
		if a.workersUp.Load() {
			r.Lines = append(r.Lines, "workers: subscribed")
		} else {
			r.OK = false
			r.Lines = append(r.Lines, "workers: starting (not yet subscribed to the streams)")
		}
		at, err := a.Metrics().SESStatus()
		switch {
		case at.IsZero():
			r.Lines = append(r.Lines, "ses: ok at start (no send yet)")
		case err != nil:
			r.Lines = append(r.Lines, fmt.Sprintf("ses: unreachable at %s (%v); deliveries are retried", at.UTC().Format(time.RFC3339), err))
		default:
			r.Lines = append(r.Lines, "ses: answered at "+at.UTC().Format(time.RFC3339))
		}
	}
	return r
}

// countingStore counts every delivery transition the handlers record.
type countingStore struct {
	workers.Store
	m *metrics.Metrics
}

func (s countingStore) Transition(ctx context.Context, id string, ts []newsletter.Transition) ([]newsletter.TransitionResult, error) {
	res, err := s.Store.Transition(ctx, id, ts)
	if err == nil {
		s.m.CountTransitions(ts, res)
	}
	return res, err
}

// Record counts the outcomes of SES calls, recorded per call.
func (s countingStore) Record(ctx context.Context, id string, outs []newsletter.SendOutcome) ([]newsletter.TransitionResult, error) {
	res, err := s.Store.Record(ctx, id, outs)
	if err == nil {
		s.m.CountOutcomes(outs, res)
	}
	return res, err
}

// checkCredentials fails with what to set when the AWS SDK's chain finds
// no credentials: without this the first sign is a vague SES error.
func checkCredentials(ctx context.Context, cfg aws.Config) error {
	if cfg.Credentials == nil {
		return errNoCredentials(errors.New("no credentials provider"))
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return errNoCredentials(err)
	}
	return nil
}

func errNoCredentials(err error) error {
	return newsletter.Errorf(newsletter.EINVALID, "AWS credentials are missing (%v): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_REGION), or AWS_PROFILE with a profile in ~/.aws/credentials, or run with an IAM role (EC2 instance profile, ECS task role, EKS IRSA); the role needs ses:SendEmail (see docs/operations.md)", err)
}

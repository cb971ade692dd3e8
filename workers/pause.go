package workers

import (
	"context"
	"time"

	"newsletter"
)

// PauseRecheck is how long a job of a paused edition waits on the stream
// before it looks again: resuming takes effect within about this long.
const PauseRecheck = time.Second

// holdIfPaused puts a job of a paused edition back on the stream, due
// after PauseRecheck and with its attempt count unchanged (waiting is not
// a failure), and reports held: the caller is done with this copy. Test
// sends are not held.
func (s *Send) holdIfPaused(ctx context.Context, e *newsletter.Edition, job DeliveryJob) (held bool, err error) {
	if e.PausedAt.IsZero() || job.Test || e.State == newsletter.EditionCancelled {
		return false, nil
	}
	next := job
	next.NotBefore = s.Now().Add(PauseRecheck)
	m, err := NewMessage(next)
	if err != nil {
		return true, err
	}
	return true, s.Store.Append(ctx, TopicDeliveries, m)
}

package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"newsletter"
)

// FanOut turns one published edition into delivery jobs: the union of the
// target lists' members, without duplicates. It streams the lists in
// batches, so memory does not grow with list size, and it is safe to run
// again for the same message.
//
// It does not look at the members' status or at the suppression list: the
// send step re-checks every address just before its SES call (it must, as
// an address can unsubscribe or bounce between the two) and skips the
// undeliverable ones with their reason. Checking here as well cost as much
// Redis work again per recipient and decided nothing the claim does not.
type FanOut struct {
	Store Store
	// Batch is how many members are read and recorded per round trip.
	Batch int
	// Chunk is how many recipients one delivery job carries.
	Chunk  int
	Logger *slog.Logger
	// Now is the clock of the hand-on (nil: time.Now).
	Now func() time.Time
}

func (f *FanOut) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Handle is the Watermill handler.
func (f *FanOut) Handle(msg *message.Message) error {
	var p EditionPublished
	if err := decode(msg, &p); err != nil {
		return err
	}
	if p.EditionID == "" || len(p.Lists) == 0 {
		return newsletter.Permanent(fmt.Errorf("fan-out message %s has no edition or lists", msg.UUID))
	}
	ctx := msg.Context()
	var handOn time.Time
	if dl, ok := ctx.Deadline(); ok {
		// Stop at a batch boundary when three quarters of the handler's
		// time are gone, and hand the rest on, rather than be cut off and
		// retried (which spends the retry budget and waits its back-off).
		handOn = f.now().Add(time.Until(dl) * 3 / 4)
	}
	_, err := f.run(ctx, msg.UUID, p, handOn)
	if errors.Is(err, errHandOn) {
		// The same request again (its id names its progress mark), at the
		// end of the stream: it goes on from the cursor the mark holds.
		again := message.NewMessage(msg.UUID, msg.Payload)
		return f.Store.Append(context.WithoutCancel(ctx), TopicEditionsPublished, again)
	}
	return err
}

// errHandOn stops a fan-out that is to go on in another handler call.
var errHandOn = errors.New("fan-out handed on")

// resumePoint is where a fan-out whose mark reads v (left by an attempt
// that did not finish: "at <list> <cursor>", then the recipients it had
// met but not yet put on a job, a line each) goes on: the index into
// lists, the list's scan cursor and those recipients. Any other mark
// starts at the beginning.
func resumePoint(v string, lists []string) (int, uint64, []string) {
	head, rest, _ := strings.Cut(v, "\n")
	var li int
	var cursor uint64
	if n, err := fmt.Sscanf(head, "at %d %d", &li, &cursor); err != nil || n != 2 || li < 0 || li > len(lists) {
		return 0, 0, nil
	}
	var carried []string
	if rest != "" {
		carried = strings.Split(rest, "\n")
	}
	return li, cursor, carried
}

// Result counts what one fan-out did.
type Result struct {
	Queued int
	Seen   int // addresses already in the edition's recipient set
}

// Run performs the fan-out of p. runID identifies this publish request:
// a redelivered request resumes and re-enqueues recipients still queued
// (the send step's atomic claim makes a duplicate job harmless).
func (f *FanOut) Run(ctx context.Context, runID string, p EditionPublished) (Result, error) {
	return f.run(ctx, runID, p, time.Time{})
}

// run is Run; after handOn (unless zero) it stops at the end of a batch
// with errHandOn, its progress kept.
func (f *FanOut) run(ctx context.Context, runID string, p EditionPublished, handOn time.Time) (Result, error) {
	batch, chunk := f.Batch, f.Chunk
	if batch <= 0 {
		batch = 500
	}
	if chunk <= 0 {
		chunk = 50
	}
	var res Result
	mark := "fanout:" + p.EditionID + ":" + runID
	v, err := f.Store.GetMark(ctx, mark)
	if err != nil {
		return res, err
	}
	if v == "done" {
		return res, nil // already done; the ack was lost
	}
	first, err := f.Store.MarkOnce(ctx, mark, 30*24*time.Hour)
	if err != nil {
		return res, err
	}
	// An earlier attempt (its handler's deadline passed, its worker
	// stopped) left where it had got to: every batch before that cursor is
	// recorded and on the stream. A list too large for one handler call
	// is thus fanned out over several, never started over.
	startList, startCursor, carried := resumePoint(v, p.Lists)
	e, err := f.Store.GetEdition(ctx, p.EditionID)
	if err != nil {
		if newsletter.ErrorCode(err) == newsletter.ENOTFOUND {
			return res, newsletter.Permanent(err)
		}
		return res, err
	}
	if e.State == newsletter.EditionCancelled {
		return res, nil
	}
	// emit turns full chunks of pending recipients (all of them, at the end)
	// into jobs and appends them in one pipelined round trip.
	pending := append(make([]string, 0, 2*chunk), carried...)
	emit := func(all bool) error {
		var jobs []*message.Message
		for len(pending) >= chunk || (all && len(pending) > 0) {
			n := min(chunk, len(pending))
			m, err := NewMessage(DeliveryJob{EditionID: e.ID, Recipients: pending[:n]})
			if err != nil {
				return err
			}
			jobs = append(jobs, m)
			pending = pending[n:]
		}
		pending = append(make([]string, 0, 2*chunk), pending...)
		return f.Store.Append(ctx, TopicDeliveries, jobs...)
	}
	for li := startList; li < len(p.Lists); li++ {
		list := p.Lists[li]
		cursor := uint64(0)
		if li == startList {
			cursor = startCursor
		}
		ts := make([]newsletter.Transition, 0, batch)
		err := f.Store.ScanMembersFrom(ctx, list, cursor, batch, func(emails []string, next uint64) error {
			ts = ts[:0]
			for _, em := range emails {
				ts = append(ts, newsletter.Transition{Email: em, To: newsletter.DeliveryQueued, List: list})
			}
			rs, err := f.Store.Create(ctx, e.ID, ts)
			if err != nil {
				return err
			}
			for i, r := range rs {
				switch {
				case r.Done:
					res.Queued++
					pending = append(pending, emails[i])
				case !first && r.Current == newsletter.DeliveryQueued:
					// Resuming: this job may never have reached the stream.
					pending = append(pending, emails[i])
				default:
					res.Seen++
				}
			}
			if err := emit(false); err != nil {
				return err
			}
			// Where to go on from: the cursor after this batch, and the
			// recipients met but not yet on a job (less than a job's
			// worth), so that a resumed fan-out never skips a member.
			at, atCursor := li, next
			if next == 0 {
				at, atCursor = li+1, 0
			}
			progress := fmt.Sprintf("at %d %d", at, atCursor)
			if len(pending) > 0 {
				progress += "\n" + strings.Join(pending, "\n")
			}
			if err := f.Store.SetMark(ctx, mark, progress, 30*24*time.Hour); err != nil {
				return err
			}
			if !handOn.IsZero() && at < len(p.Lists) && f.now().After(handOn) {
				return errHandOn
			}
			return nil
		})
		if errors.Is(err, errHandOn) {
			f.Logger.Info("fan-out handed on", "edition_id", e.ID, "list", list, "queued", res.Queued)
			return res, err
		}
		if err != nil {
			return res, fmt.Errorf("fan out edition %s to list %s: %w", e.ID, list, err)
		}
	}
	if err := emit(true); err != nil {
		return res, err
	}
	if _, err := f.Store.UpdateEdition(ctx, e.ID, func(e *newsletter.Edition) error {
		if e.State == newsletter.EditionPublished {
			e.State = newsletter.EditionSending
		}
		return nil
	}); err != nil {
		return res, err
	}
	if err := f.Store.SetMark(ctx, mark, "done", 30*24*time.Hour); err != nil {
		return res, err
	}
	f.Logger.Info("fan-out done", "edition_id", e.ID, "lists", p.Lists, "queued", res.Queued, "already", res.Seen)
	return res, nil
}

package redisstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"newsletter"
)

// deliveryUpdated is the key where earlier versions kept each delivery's
// "last changed" time (a hash from address to Unix milliseconds; while a
// delivery was claimed, followed by a tab and who held the claim:
// "<ms>\t<owner>\t<lease ms>"). This version writes the time into the
// state field instead (see stateLua) and reads this hash only for
// deliveries whose state field has none.
func (s *Store) deliveryUpdated(id string) string { return s.ed(id, "at") }

// splitUpdated splits an update time ("<ms>" or "<ms>\t<owner>\t<lease
// ms>") into the time and who holds the delivery's claim ("<owner>\t<lease
// ms>"; "" when nobody does).
func splitUpdated(v string) (at, held string) {
	at, held, _ = strings.Cut(v, "\t")
	return at, held
}

// splitState splits a state field into the state and its update time
// (the update-time format of splitUpdated; "" when the field has none).
func splitState(v string) (newsletter.DeliveryState, string) {
	st, upd, _ := strings.Cut(v, "\t")
	return newsletter.DeliveryState(st), upd
}

// stateOf is the state of a state field.
func stateOf(v string) newsletter.DeliveryState {
	st, _ := splitState(v)
	return st
}

// ledgerPage is how many deliveries one HSCAN step asks for; the page's
// reasons, message ids and times come in one pipelined round trip.
const ledgerPage = 500

// ScanDeliveryRows calls each with every delivery of edition id, optionally
// only those in state ("" = all), page by page: memory does not grow with
// the number of recipients. The order is HSCAN's, which is stable for an
// edition that is not changing; a delivery that changes state during the
// scan is reported once, in one of its states.
func (s *Store) ScanDeliveryRows(ctx context.Context, id string, state newsletter.DeliveryState, each func(newsletter.DeliveryRow) error) error {
	// Deliveries the fan-out created and nobody moved yet have no update
	// time of their own: they were queued when the edition was published.
	var queuedAt time.Time
	if e, err := s.GetEdition(ctx, id); err == nil {
		queuedAt = e.PublishedAt.UTC()
	} else if newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		return err
	}
	return s.scanHash(ctx, s.ed(id, "st"), ledgerPage, func(kv []string) error {
		rows := make([]newsletter.DeliveryRow, 0, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			st, upd := splitState(kv[i+1])
			if state != "" && st != state {
				continue
			}
			rows = append(rows, newsletter.DeliveryRow{Email: kv[i], State: st, UpdatedAt: updatedAt(upd)})
		}
		if err := s.fillRows(ctx, id, rows, queuedAt); err != nil {
			return err
		}
		for _, r := range rows {
			if err := each(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// fillRows adds the reason, message id and, where the state field had
// none, the update time of rows in one pipelined round trip (from the
// update-time hash of earlier versions); a row without any gets queuedAt.
func (s *Store) fillRows(ctx context.Context, id string, rows []newsletter.DeliveryRow, queuedAt time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	emails := make([]string, len(rows))
	for i, r := range rows {
		emails[i] = r.Email
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	why := pipe.HMGet(c, s.ed(id, "why"), emails...)
	mid := pipe.HMGet(c, s.ed(id, "mid"), emails...)
	upd := pipe.HMGet(c, s.deliveryUpdated(id), emails...)
	if err := execPipe(c, pipe); err != nil {
		return err
	}
	for i := range rows {
		rows[i].Reason = str(why.Val(), i)
		rows[i].MessageID = str(mid.Val(), i)
		if rows[i].UpdatedAt.IsZero() {
			rows[i].UpdatedAt = updatedAt(str(upd.Val(), i))
		}
		if rows[i].UpdatedAt.IsZero() {
			rows[i].UpdatedAt = queuedAt
		}
	}
	return nil
}

func str(vs []any, i int) string {
	if i >= len(vs) {
		return ""
	}
	s, _ := vs[i].(string)
	return s
}

// updatedAt reads a stored time: Unix milliseconds, or RFC 3339 (so a
// layout written by another part stays readable).
func updatedAt(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	v, _ = splitUpdated(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(n).UTC()
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// NoteUnknownResolved adds n to the edition's count of deliveries that
// were unknown and got settled ("unknown_resolved" among its counters).
func (s *Store) NoteUnknownResolved(ctx context.Context, id string, n int64) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return unavailable(s.rdb.HIncrBy(ctx, s.ed(id, "n"), "unknown_resolved", n).Err())
}

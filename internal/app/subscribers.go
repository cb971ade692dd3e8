package app

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"

	"newsletter"
	"newsletter/internal/redisstore"
	"newsletter/internal/subscribercsv"
)

// Rejected is one refused import row.
type Rejected struct {
	Line   int    `json:"line"`
	Email  string `json:"email,omitempty"`
	Reason string `json:"reason"`
}

// ImportReport is the outcome of an import (the contract of
// `subscribers import --json`).
type ImportReport struct {
	List      string     `json:"list"`
	Imported  int        `json:"imported"`
	Updated   int        `json:"updated"`
	Unchanged int        `json:"unchanged"`
	Rejected  []Rejected `json:"rejected"`
	// ToConfirm counts new memberships of a double opt-in list: each was
	// sent a confirmation email and is not mailed until confirmed.
	ToConfirm int `json:"to_confirm"`
}

// Import streams a CSV file into list in batches: the file never sits whole
// in memory. Rejected rows are reported with their line numbers; the rest is
// imported. Running the same import again changes nothing.
func (a *App) Import(ctx context.Context, list string, r io.Reader, opts newsletter.ImportOptions) (*ImportReport, error) {
	l, err := a.store.GetList(ctx, list)
	if err != nil {
		return nil, err
	}
	opts.List = list
	opts.DoubleOptIn = l.DoubleOptIn
	rd, err := subscribercsv.NewReader(r)
	if err != nil {
		return nil, err
	}
	rep := &ImportReport{List: list, Rejected: []Rejected{}}
	const batch = 500
	in := make([]newsletter.SubscriberInput, 0, batch)
	lines := make([]int, 0, batch)
	flush := func() error {
		if len(in) == 0 {
			return nil
		}
		res, err := a.store.ImportBatch(ctx, opts, in)
		if err != nil {
			return err
		}
		var confirm []string
		for i, r := range res {
			if r.Confirm {
				confirm = append(confirm, in[i].Email)
			}
			switch r.Outcome {
			case newsletter.OutcomeImported:
				rep.Imported++
			case newsletter.OutcomeUpdated:
				rep.Updated++
			case newsletter.OutcomeUnchanged:
				rep.Unchanged++
			case newsletter.OutcomeRejected:
				rep.Rejected = append(rep.Rejected, Rejected{Line: lines[i], Email: in[i].Email, Reason: r.Reason})
			}
		}
		if err := a.RequestConfirmation(ctx, list, confirm); err != nil {
			return err
		}
		rep.ToConfirm += len(confirm)
		in, lines = in[:0], lines[:0]
		return nil
	}
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rep, err
		}
		if row.Err != nil {
			rep.Rejected = append(rep.Rejected, Rejected{Line: row.Line, Email: row.Email, Reason: row.Err.Error()})
			continue
		}
		in = append(in, newsletter.SubscriberInput{Email: row.Email, Name: row.Name, Organisation: row.Organisation, Attributes: row.Attributes})
		lines = append(lines, row.Line)
		if len(in) == batch {
			if err := flush(); err != nil {
				return rep, err
			}
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	sort.Slice(rep.Rejected, func(i, j int) bool { return rep.Rejected[i].Line < rep.Rejected[j].Line })
	a.audit(ctx, "list.import", list, nil, map[string]int{"imported": rep.Imported, "updated": rep.Updated, "unchanged": rep.Unchanged, "rejected": len(rep.Rejected)})
	return rep, nil
}

// Fold is how searches compare text: lower case, accents stripped
// ("Mariëtte" → "mariette").
func Fold(s string) string { return redisstore.Fold(s) }

// Export writes subscribers (all, or one list's) as CSV, safe to open in a
// spreadsheet; opts choose e.g. ";" and a byte-order mark for Dutch Excel.
func (a *App) Export(ctx context.Context, list string, w io.Writer, opts ...subscribercsv.WriterOption) error {
	if list != "" {
		if _, err := a.store.GetList(ctx, list); err != nil {
			return err
		}
	}
	cw := subscribercsv.NewWriter(w, []string{"email", "name", "organisation", "status", "lists", "attributes"}, opts...)
	err := a.store.ScanSubscribers(ctx, list, 500, func(subs []*newsletter.Subscriber, lists []map[string]string) error {
		for i, s := range subs {
			var ls []string
			for slug, st := range lists[i] {
				if st == string(newsletter.MemberSubscribed) {
					ls = append(ls, slug)
				}
			}
			sort.Strings(ls)
			var attrs []string
			for k, v := range s.Attributes {
				attrs = append(attrs, k+"="+v)
			}
			sort.Strings(attrs)
			if err := cw.Write([]string{s.Email, s.Name, s.Organisation, string(s.Status), strings.Join(ls, " "), strings.Join(attrs, "; ")}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return a.audited(ctx, cw.Flush(), "subscribers.export", list, nil, nil)
}

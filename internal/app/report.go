package app

import (
	"context"
	"sort"
)

// Rates are bounce and complaint rates over the emails SES accepted, the
// way SES measures them for account health.
type Rates struct {
	Accepted      int64   `json:"accepted"`
	Bounced       int64   `json:"bounced"`
	Complained    int64   `json:"complained"`
	BounceRate    float64 `json:"bounce_rate"`
	ComplaintRate float64 `json:"complaint_rate"`
}

func ratesOf(c map[string]int64) Rates {
	r := Rates{
		Accepted:   c["sent"] + c["delivered"] + c["bounced"] + c["complained"] + c["unknown"],
		Bounced:    c["bounced"],
		Complained: c["complained"],
	}
	if r.Accepted > 0 {
		r.BounceRate = float64(r.Bounced) / float64(r.Accepted)
		r.ComplaintRate = float64(r.Complained) / float64(r.Accepted)
	}
	return r
}

// EditionReport is one edition's delivery outcome, in all and per list.
type EditionReport struct {
	ID      string                      `json:"id"`
	Subject string                      `json:"subject"`
	Counts  map[string]int64            `json:"counts"`
	Rates   Rates                       `json:"rates"`
	Lists   map[string]map[string]int64 `json:"lists"`
}

// Report is the account-health view: every published edition, and each
// list's totals over them.
type Report struct {
	Editions []EditionReport             `json:"editions"`
	Lists    map[string]Rates            `json:"lists"`
	Counts   map[string]map[string]int64 `json:"list_counts"`
}

// BuildReport reports the last limit editions (0 = all).
func (a *App) BuildReport(ctx context.Context, limit int) (*Report, error) {
	eds, err := a.store.Editions(ctx, limit)
	if err != nil {
		return nil, err
	}
	rep := &Report{Editions: []EditionReport{}, Lists: map[string]Rates{}, Counts: map[string]map[string]int64{}}
	for _, e := range eds {
		if e.Hash == "" {
			continue
		}
		st, err := a.status(ctx, e)
		if err != nil {
			return nil, err
		}
		rep.Editions = append(rep.Editions, EditionReport{ID: e.ID, Subject: e.Subject, Counts: st.Counts, Rates: st.Rates, Lists: st.PerList})
		for list, counts := range st.PerList {
			if rep.Counts[list] == nil {
				rep.Counts[list] = map[string]int64{}
			}
			for st, n := range counts {
				rep.Counts[list][st] += n
			}
		}
	}
	for list, c := range rep.Counts {
		rep.Lists[list] = ratesOf(c)
	}
	sort.Slice(rep.Editions, func(i, j int) bool { return rep.Editions[i].ID > rep.Editions[j].ID })
	return rep, nil
}

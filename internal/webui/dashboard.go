package webui

import (
	"net/http"
	"sort"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/ses"
)

// The SES review thresholds, and how near a rate may come before the
// dashboard warns.
const (
	bounceLimit    = 0.05
	complaintLimit = 0.001
	warnShare      = 0.8
)

type dashEdition struct {
	app.EditionSummary
	Progress progress
	Rates    app.Rates
}

type warning struct {
	What, Name string // "edition" or "list", and its subject or slug
	Kind       string // "bounce" or "complaint"
	Rate       float64
}

type dashData struct {
	Drafts, Scheduled, Sending, Sent []dashEdition
	QueueDepth                       int64
	QueueKnown                       bool
	Rate                             float64
	Quota                            *ses.Quota
	QuotaUse                         float64
	Warnings                         []warning
}

// sentShown is how many sent editions the dashboard lists.
const sentShown = 5

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	eds, err := u.app.ListEditions(ctx, "")
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	d := dashData{Rate: u.app.Cfg.SESRate}
	for _, e := range eds {
		de := dashEdition{EditionSummary: e}
		switch newsletter.EditionState(e.State) {
		case newsletter.EditionDraft:
			d.Drafts = append(d.Drafts, de)
		case newsletter.EditionScheduled:
			d.Scheduled = append(d.Scheduled, de)
		case newsletter.EditionPublished, newsletter.EditionSending, newsletter.EditionSent:
			if e.State == string(newsletter.EditionSent) && len(d.Sent) >= sentShown {
				continue
			}
			st, err := u.app.EditionStatus(ctx, e.ID)
			if err != nil {
				u.failErr(w, p, err)
				return
			}
			de.Progress, de.Rates = progressOf(st), st.Rates
			if e.State == string(newsletter.EditionSent) {
				d.Sent = append(d.Sent, de)
			} else {
				d.Sending = append(d.Sending, de)
			}
		}
	}
	if q, err := u.app.SESQuota(ctx); err == nil {
		d.Quota = &q
		if q.Max24HourSend > 0 {
			d.QuotaUse = q.SentLast24Hours / q.Max24HourSend
		}
	}
	if n, err := u.app.QueueDepth(ctx); err == nil {
		d.QueueDepth, d.QueueKnown = n, true
	}
	if rep, err := u.app.BuildReport(ctx, 20); err == nil {
		for _, e := range rep.Editions {
			d.Warnings = append(d.Warnings, warningsOf("edition", e.Subject, e.Rates)...)
		}
		lists := make([]string, 0, len(rep.Lists))
		for l := range rep.Lists {
			lists = append(lists, l)
		}
		sort.Strings(lists)
		for _, l := range lists {
			d.Warnings = append(d.Warnings, warningsOf("list", l, rep.Lists[l])...)
		}
	}
	p.Title = p.T("dash.title")
	u.render(w, p, http.StatusOK, "dashboard", d)
}

func warningsOf(what, name string, r app.Rates) []warning {
	var out []warning
	if r.Accepted == 0 {
		return nil
	}
	if r.BounceRate >= bounceLimit*warnShare {
		out = append(out, warning{What: what, Name: name, Kind: "bounce", Rate: r.BounceRate})
	}
	if r.ComplaintRate >= complaintLimit*warnShare {
		out = append(out, warning{What: what, Name: name, Kind: "complaint", Rate: r.ComplaintRate})
	}
	return out
}

package webui

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"newsletter"
	"newsletter/internal/subscribercsv"
)

type ledgerData struct {
	E      *newsletter.Edition
	Rows   []newsletter.DeliveryRow
	Query  string
	State  string
	States []newsletter.DeliveryState
	More   bool
	Failed bool
}

// ledgerPage is how many rows the ledger page shows; the CSV has all.
const ledgerPage = 500

var errEnough = errors.New("enough rows")

// ledger is the recipient ledger: who got the edition, each delivery's
// state, reason and SES message id, searchable by address.
func (u *UI) ledger(w http.ResponseWriter, r *http.Request, p *page) {
	ctx, id := r.Context(), r.PathValue("id")
	e, err := u.app.GetEdition(ctx, id)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	d := ledgerData{E: e, Query: strings.TrimSpace(r.URL.Query().Get("q")), States: newsletter.DeliveryStates}
	state := newsletter.DeliveryState(r.URL.Query().Get("state"))
	if slices.Contains(newsletter.DeliveryStates, state) {
		d.State = string(state)
	} else {
		state = ""
	}
	q := strings.ToLower(d.Query)
	err = u.app.Deliveries(ctx, id, state, func(row newsletter.DeliveryRow) error {
		if row.State == newsletter.DeliveryFailed {
			d.Failed = true
		}
		if q != "" && !strings.Contains(row.Email, q) {
			return nil
		}
		if len(d.Rows) == ledgerPage {
			d.More = true
			if d.Failed || state != "" {
				return errEnough
			}
			return nil
		}
		d.Rows = append(d.Rows, row)
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		p.Error = p.errText(err)
	}
	p.Title = p.T("ledger.title")
	u.render(w, p, http.StatusOK, "ledger", d)
}

// ledgerCSV streams the whole ledger as CSV.
func (u *UI) ledgerCSV(w http.ResponseWriter, r *http.Request, p *page) {
	ctx, id := r.Context(), r.PathValue("id")
	if _, err := u.app.GetEdition(ctx, id); err != nil {
		u.failErr(w, p, err)
		return
	}
	opts := csvOptions(r)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+url.PathEscape(id)+`-deliveries.csv"`)
	cw := subscribercsv.NewWriter(w, []string{"email", "state", "reason", "message_id", "updated_at"}, opts...)
	rows := 0
	err := u.app.Deliveries(ctx, id, "", func(row newsletter.DeliveryRow) error {
		rows++
		at := ""
		if !row.UpdatedAt.IsZero() {
			at = row.UpdatedAt.In(u.o.Location).Format("2006-01-02 15:04:05")
		}
		return cw.Write([]string{row.Email, string(row.State), row.Reason, row.MessageID, at})
	})
	if err != nil && rows == 0 {
		// Nothing has left the buffer yet: say what went wrong instead.
		u.failErr(w, p, err)
		return
	}
	if err == nil {
		err = cw.Flush()
	}
	if err != nil {
		u.o.Logger.Error("ledger export", "edition_id", id, "err", err)
	}
}

// csvOptions: sep=semicolon gives Dutch Excel's ";" with a byte-order
// mark, anything else plain ",".
func csvOptions(r *http.Request) []subscribercsv.WriterOption {
	if r.URL.Query().Get("sep") == "semicolon" {
		return []subscribercsv.WriterOption{subscribercsv.WithSemicolons(), subscribercsv.WithBOM()}
	}
	return nil
}

func (u *UI) resendFailed(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	if _, err := u.app.ResendFailed(r.Context(), id); err != nil {
		u.failErr(w, p, err)
		return
	}
	back(w, r, editionPath(id)+"/deliveries", "resent")
}

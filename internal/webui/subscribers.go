package webui

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/redisstore"
)

type subscribersData struct {
	Query  string
	Result *newsletter.SearchResult
	Lists  []newsletter.ListInfo
}

// subscribersPage searches subscribers, ignoring case and accents, one
// page at a time.
func (u *UI) subscribersPage(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	d := subscribersData{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	var err error
	if d.Result, err = u.app.SearchSubscribers(ctx, d.Query, 50, r.URL.Query().Get("cursor")); err != nil {
		u.failErr(w, p, err)
		return
	}
	if d.Lists, err = u.app.Lists(ctx); err != nil {
		u.failErr(w, p, err)
		return
	}
	p.Title = p.T("subs.title")
	u.render(w, p, http.StatusOK, "subscribers", d)
}

// exportCSV streams subscribers (all, or one list's) as CSV.
func (u *UI) exportCSV(w http.ResponseWriter, r *http.Request, p *page) {
	list := r.URL.Query().Get("list")
	if list != "" {
		if _, err := u.app.GetList(r.Context(), list); err != nil {
			u.failErr(w, p, err)
			return
		}
	}
	name := "subscribers"
	if list != "" {
		name = list
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+url.PathEscape(name)+`.csv"`)
	if err := u.app.Export(r.Context(), list, w, csvOptions(r)...); err != nil {
		u.o.Logger.Error("subscriber export", "list", list, "err", err)
	}
}

type subscriberData struct {
	D       *app.SubscriberDetail
	P       *redisstore.PersonalData
	Lists   []string
	History []historyLine
}

// historyLimit is how many audit entries a subscriber's page shows.
const historyLimit = 50

// historyLine is one line of a subscriber's history: an audit entry (with
// who), or a suppression log line (Actor empty: the system, or a person
// before the audit log existed).
type historyLine struct {
	At                    time.Time
	Actor, Action, Detail string
	Before, After         string
}

func (u *UI) subscriberPage(w http.ResponseWriter, r *http.Request, p *page) {
	ctx, email := r.Context(), r.PathValue("email")
	det, err := u.app.ShowSubscriber(ctx, email)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	pd, err := u.app.SubscriberRecord(ctx, email)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	d := subscriberData{D: det, P: pd}
	for l := range det.Lists {
		d.Lists = append(d.Lists, l)
	}
	slices.Sort(d.Lists)
	// History: the changes people made (the audit log), and the
	// suppression log's lines about the address, which also hold what
	// the system did by itself (a hard bounce, a complaint).
	entries, err := u.app.AuditFor(ctx, det.Subscriber.Email, historyLimit)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	for _, e := range entries {
		d.History = append(d.History, historyLine{At: e.At, Actor: e.Actor, Action: e.Action,
			Before: auditValue(e.Before), After: auditValue(e.After)})
	}
	for _, raw := range pd.AuditLog {
		var m struct{ At, Action, Reason string }
		if json.Unmarshal(raw, &m) == nil {
			at, _ := time.Parse(time.RFC3339Nano, m.At)
			d.History = append(d.History, historyLine{At: at, Action: "suppression." + m.Action, Detail: m.Reason})
		}
	}
	slices.SortStableFunc(d.History, func(a, b historyLine) int { return b.At.Compare(a.At) })
	p.Title = det.Subscriber.Email
	u.render(w, p, http.StatusOK, "subscriber", d)
}

func (u *UI) updateSubscriber(w http.ResponseWriter, r *http.Request, p *page) {
	email := r.PathValue("email")
	name, org := oneLine(r.FormValue("name")), oneLine(r.FormValue("organisation"))
	if err := u.app.UpdateSubscriber(r.Context(), email, newsletter.SubscriberUpdate{Name: &name, Organisation: &org}); err != nil {
		u.failErr(w, p, err)
		return
	}
	back(w, r, subscriberPath(email), "saved")
}

func (u *UI) unsubscribe(w http.ResponseWriter, r *http.Request, p *page) {
	email := r.PathValue("email")
	var err error
	if list := r.FormValue("list"); list != "" {
		err = u.app.RemoveMembership(r.Context(), email, list)
	} else {
		err = u.app.Unsubscribe(r.Context(), email, "by an admin")
	}
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	back(w, r, subscriberPath(email), "unsubscribed")
}

func (u *UI) block(w http.ResponseWriter, r *http.Request, p *page) {
	email := r.PathValue("email")
	if err := u.app.Block(r.Context(), email, r.FormValue("reason")); err != nil {
		u.failErr(w, p, err)
		return
	}
	back(w, r, subscriberPath(email), "blocked")
}

func (u *UI) privacyExport(w http.ResponseWriter, r *http.Request, p *page) {
	email := r.PathValue("email")
	pd, err := u.app.PersonalData(r.Context(), email)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="personal-data.json"`)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(pd)
}

func (u *UI) confirmErase(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title = p.T("erase.title")
	u.render(w, p, http.StatusOK, "erase", r.PathValue("email"))
}

// erase removes every personal datum of the address once it is typed
// again; an address that is not stored is refused (app.Erase), not
// blocked for ever.
func (u *UI) erase(w http.ResponseWriter, r *http.Request, p *page) {
	email := r.PathValue("email")
	if !strings.EqualFold(strings.TrimSpace(r.FormValue("confirm")), email) {
		p.Title = p.T("erase.title")
		p.Error = p.T("erase.mismatch")
		u.render(w, p, http.StatusBadRequest, "erase", email)
		return
	}
	if _, err := u.app.Erase(r.Context(), email, false); err != nil {
		u.failErr(w, p, err)
		return
	}
	back(w, r, "/admin/subscribers", "erased")
}

type suppressionsData struct {
	Reason, Query string
	Reasons       []string
	Rows          []newsletter.Suppression
	More          bool
}

// suppressionsShown bounds the page; the filter narrows it.
const suppressionsShown = 500

func (u *UI) suppressionsPage(w http.ResponseWriter, r *http.Request, p *page) {
	all, err := u.app.Suppressions(r.Context())
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	d := suppressionsData{Reason: r.URL.Query().Get("reason"), Query: strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))}
	for _, s := range all {
		if !slices.Contains(d.Reasons, s.Reason) {
			d.Reasons = append(d.Reasons, s.Reason)
		}
		if (d.Reason == "" || s.Reason == d.Reason) && (d.Query == "" || strings.Contains(s.Email, d.Query) || strings.Contains(strings.ToLower(s.Detail), d.Query)) {
			if len(d.Rows) == suppressionsShown {
				d.More = true
				continue
			}
			d.Rows = append(d.Rows, s)
		}
	}
	slices.Sort(d.Reasons)
	slices.SortFunc(d.Rows, func(a, b newsletter.Suppression) int { return b.CreatedAt.Compare(a.CreatedAt) })
	p.Title = p.T("supp.title")
	u.render(w, p, http.StatusOK, "suppressions", d)
}

func (u *UI) unsuppress(w http.ResponseWriter, r *http.Request, p *page) {
	if err := u.app.Unsuppress(r.Context(), r.FormValue("email"), r.FormValue("reason")); err != nil {
		u.failErr(w, p, err)
		return
	}
	back(w, r, "/admin/suppressions", "unsuppressed")
}

// auditPageSize is how many entries one page of the audit log shows.
const auditPageSize = 50

type auditData struct {
	Filter  newsletter.AuditFilter
	Entries []auditLine
	Next    string // the query of the next (older) page; "" at the end
	Cursor  string // this page's cursor; "" for the newest
}

type auditLine struct {
	newsletter.AuditEntry
	BeforeText, AfterText string
}

// auditPage shows the audit log, newest first, filtered by actor, action
// and target, a page at a time (the app's cursor).
func (u *UI) auditPage(w http.ResponseWriter, r *http.Request, p *page) {
	q := r.URL.Query()
	d := auditData{Filter: newsletter.AuditFilter{Actor: strings.TrimSpace(q.Get("actor")),
		Action: strings.TrimSpace(q.Get("action")), Target: strings.TrimSpace(q.Get("target"))}, Cursor: q.Get("cursor")}
	pg, err := u.app.AuditLog(r.Context(), d.Filter, auditPageSize, d.Cursor)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	for _, e := range pg.Entries {
		d.Entries = append(d.Entries, auditLine{AuditEntry: e, BeforeText: auditValue(e.Before), AfterText: auditValue(e.After)})
	}
	if pg.Next != "" {
		next := url.Values{"cursor": {pg.Next}}
		for k, v := range map[string]string{"actor": d.Filter.Actor, "action": d.Filter.Action, "target": d.Filter.Target} {
			if v != "" {
				next.Set(k, v)
			}
		}
		d.Next = "/admin/audit?" + next.Encode()
	}
	p.Title = p.T("audit.title")
	u.render(w, p, http.StatusOK, "audit", d)
}

// auditValue is a before or after state as people read it: the JSON
// indented, "" for none. It is text: the template escapes it.
func auditValue(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	// Decoded and written again without Go's \u003c escapes: the page
	// shows < as <, and the template escapes it.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return string(raw)
	}
	// A change names the fields it leaves alone as null: leave them out.
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			if x == nil {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			return ""
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if enc.Encode(v) != nil {
		return string(raw)
	}
	return strings.TrimSpace(b.String())
}

// fold is the search folding of the app: lower case, no accents.
func fold(s string) string { return app.Fold(s) }

package webui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/edition"
	"newsletter/internal/httpserver"
)

type editionsData struct {
	Query, State string
	States       []string
	Editions     []app.EditionSummary
}

var editionStates = []string{"draft", "scheduled", "published", "sending", "sent", "cancelled"}

// shownStates are the states an edition's status can show: the stored
// ones, and paused and unresolved, which the status derives.
var shownStates = append(slices.Clone(editionStates), "paused", "unresolved")

func (u *UI) editionsPage(w http.ResponseWriter, r *http.Request, p *page) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	st := r.URL.Query().Get("state")
	if st != "" && !slices.Contains(editionStates, st) {
		st = ""
	}
	all, err := u.app.ListEditions(r.Context(), st)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	var eds []app.EditionSummary
	fq := fold(q)
	for _, e := range all {
		if fq == "" || strings.Contains(fold(e.Subject), fq) || strings.Contains(strings.ToLower(e.ID), fq) {
			eds = append(eds, e)
		}
	}
	p.Title = p.T("editions.title")
	u.render(w, p, http.StatusOK, "editions", editionsData{Query: q, State: st, States: editionStates, Editions: eds})
}

func (u *UI) newEditionPage(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title = p.T("new.title")
	u.render(w, p, http.StatusOK, "edition_new", nil)
}

// createEdition makes a draft from the form (subject, preheader, Markdown
// text) or from an uploaded file, through the same door as
// `editions create`.
func (u *UI) createEdition(w http.ResponseWriter, r *http.Request, p *page) {
	var name string
	var data []byte
	if f, hdr, err := r.FormFile("file"); err == nil {
		defer f.Close()
		if data, err = io.ReadAll(f); err != nil {
			u.fail(w, p, http.StatusBadRequest, p.T("err.upload"))
			return
		}
		name = filepath.Base(hdr.Filename)
	} else {
		subject := oneLine(r.FormValue("subject"))
		body := strings.ReplaceAll(r.FormValue("body"), "\r\n", "\n")
		if subject == "" || strings.TrimSpace(body) == "" {
			p.Title = p.T("new.title")
			p.Error = p.T("new.need")
			u.render(w, p, http.StatusBadRequest, "edition_new", nil)
			return
		}
		var b strings.Builder
		b.WriteString("---\nsubject: " + subject + "\n")
		if ph := oneLine(r.FormValue("preheader")); ph != "" {
			b.WriteString("preheader: " + ph + "\n")
		}
		lang := "nl"
		if r.FormValue("language") == "en" {
			lang = "en"
		}
		b.WriteString("language: " + lang + "\n---\n" + body + "\n")
		name, data = "edition.md", []byte(b.String())
	}
	e, _, err := u.app.CreateEdition(r.Context(), name, data)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	back(w, r, editionPath(e.ID), "created")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

type editionData struct {
	E        *newsletter.Edition
	Status   *app.Status
	Text     string
	Findings []edition.Finding
	Links    []edition.Link
	Lists    []newsletter.ListInfo
	Editable bool
	Progress progress
	Now      string // the earliest schedule time, for the form
	States   []newsletter.DeliveryState
	PerList  []listFigures
	BadLinks int
	Labels   string // JSON: the page's names of the edition states, for the live badge
}

// listFigures is one list's line of an edition's statistics.
type listFigures struct {
	List                                                    string
	Total, Sent, Bounced, Complained, Skipped, Failed, Open int64
}

func perList(st *app.Status) []listFigures {
	var out []listFigures
	for l, c := range st.PerList {
		f := listFigures{List: l, Sent: c["sent"] + c["delivered"], Bounced: c["bounced"], Complained: c["complained"],
			Skipped: c["skipped"], Failed: c["failed"] + c["unknown"], Open: c["queued"] + c["sending"]}
		f.Total = f.Sent + f.Bounced + f.Complained + f.Skipped + f.Failed + f.Open
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b listFigures) int { return strings.Compare(a.List, b.List) })
	return out
}

func (u *UI) editionPage(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	id := r.PathValue("id")
	st, err := u.app.EditionStatus(ctx, id)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	e := st.Edition
	d := editionData{E: e, Status: st, Findings: edition.CheckEdition(e), Links: edition.Links(e),
		Editable: e.Hash == "" && e.State != newsletter.EditionCancelled && p.Can("editions"),
		Progress: progressOf(st), Now: u.app.Now().In(u.o.Location).Format("2006-01-02T15:04"),
		States: newsletter.DeliveryStates, PerList: perList(st)}
	labels := map[string]string{}
	for _, st := range shownStates {
		labels[st] = p.State(st)
	}
	lb, _ := json.Marshal(labels)
	d.Labels = string(lb)
	for _, l := range d.Links {
		if l.Problem != "" {
			d.BadLinks++
		}
	}
	if _, text, _, err := u.app.Preview(ctx, id); err == nil {
		d.Text = string(text)
	} else {
		p.Error = p.errText(err)
	}
	if d.Lists, err = u.app.Lists(ctx); err != nil {
		u.failErr(w, p, err)
		return
	}
	p.Title = e.Subject
	u.render(w, p, http.StatusOK, "edition", d)
}

func draftChange(r *http.Request) app.DraftChange {
	var ch app.DraftChange
	for _, f := range []struct {
		name string
		to   **string
	}{{"subject", &ch.Subject}, {"preheader", &ch.Preheader}, {"body", &ch.Body}} {
		if _, ok := r.PostForm[f.name]; ok {
			v := r.PostForm.Get(f.name)
			*f.to = &v
		}
	}
	return ch
}

func (u *UI) saveEdition(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	if _, _, err := u.app.UpdateDraft(r.Context(), id, draftChange(r)); err != nil {
		u.failErr(w, p, err)
		return
	}
	back(w, r, editionPath(id), "saved")
}

// emailHTML is the edition's email as a partner gets it, for the preview
// frame. The frame is sandboxed: the email's own markup runs nothing.
func (u *UI) emailHTML(w http.ResponseWriter, r *http.Request, p *page) {
	html, _, _, err := u.app.Preview(r.Context(), r.PathValue("id"))
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(html)
}

// renderDraft answers the live preview: the email of the unsaved text,
// its plain text, and the findings, as JSON.
func (u *UI) renderDraft(w http.ResponseWriter, r *http.Request, p *page) {
	html, text, findings, links, err := u.app.PreviewDraft(r.Context(), r.PathValue("id"), draftChange(r))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(httpserver.StatusOf(err))
		_ = json.NewEncoder(w).Encode(map[string]string{"error": p.errText(err)})
		return
	}
	type finding struct {
		Where, Fix, Found, Suggested string
	}
	out := struct {
		HTML     string    `json:"html"`
		Text     string    `json:"text"`
		Findings []finding `json:"findings"`
		Links    []string  `json:"links"`
	}{HTML: string(html), Text: string(text), Findings: []finding{}, Links: []string{}}
	for _, f := range findings {
		out.Findings = append(out.Findings, finding{Where: p.T("finding.where", p.FieldName(f.Field), f.Line, f.Column),
			Fix: p.T("finding.fix", f.Found, f.Suggested), Found: f.Found, Suggested: f.Suggested})
	}
	for _, l := range links {
		if l.Problem != "" {
			out.Links = append(out.Links, l.URL+": "+l.Problem)
		}
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (u *UI) fixEdition(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	if _, err := u.app.FixEdition(r.Context(), id); err != nil {
		u.failErr(w, p, err)
		return
	}
	back(w, r, editionPath(id), "fixed")
}

func (u *UI) testSend(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	var to []string
	for _, a := range strings.FieldsFunc(r.FormValue("to"), func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' }) {
		to = append(to, a)
	}
	if len(to) == 0 {
		to = []string{p.Account.Email}
	}
	if err := u.app.TestSend(r.Context(), id, to); err != nil {
		u.failErr(w, p, err)
		return
	}
	back(w, r, editionPath(id), "tested")
}

type publishData struct {
	E        *newsletter.Edition
	Audience *app.AudienceCount
	Lists    []newsletter.ListInfo
	At       time.Time
	AtInput  string
	Excluded int64
}

// publishRequest reads the lists and the optional time of a publish form.
func (u *UI) publishRequest(r *http.Request, p *page) (lists []string, at time.Time, atInput string, err error) {
	_ = r.ParseForm()
	for _, l := range r.Form["lists"] {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(lists, l) {
			lists = append(lists, l)
		}
	}
	if len(lists) == 0 {
		return nil, at, "", fmt.Errorf("%s", p.T("publish.nolists"))
	}
	if atInput = strings.TrimSpace(r.Form.Get("at")); atInput != "" {
		at, err = time.ParseInLocation("2006-01-02T15:04", atInput, u.o.Location)
		if err != nil {
			return nil, at, "", fmt.Errorf("%s", p.T("publish.badtime", atInput))
		}
	}
	return lists, at, atInput, nil
}

// confirmPublish states what a publish would do: the lists and the
// number of recipients after duplicates, unsubscribed and suppressed
// addresses are removed.
func (u *UI) confirmPublish(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	id := r.PathValue("id")
	e, err := u.app.GetEdition(ctx, id)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	lists, at, atInput, err := u.publishRequest(r, p)
	if err != nil {
		u.fail(w, p, http.StatusBadRequest, err.Error())
		return
	}
	aud, err := u.app.Audience(ctx, lists)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	infos, err := u.app.Lists(ctx)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	var chosen []newsletter.ListInfo
	for _, l := range infos {
		if slices.Contains(lists, l.Slug) {
			chosen = append(chosen, l)
		}
	}
	d := publishData{E: e, Audience: aud, Lists: chosen, At: at, AtInput: atInput}
	for _, n := range aud.Excluded {
		d.Excluded += n
	}
	p.Title = p.T("publish.title")
	u.render(w, p, http.StatusOK, "publish", d)
}

func (u *UI) publish(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	lists, at, _, err := u.publishRequest(r, p)
	if err != nil {
		u.fail(w, p, http.StatusBadRequest, err.Error())
		return
	}
	e, err := u.app.GetEdition(r.Context(), id)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	// The confirmation said "now": a scheduled edition goes now too.
	now := at.IsZero() && e.State == newsletter.EditionScheduled
	res, err := u.app.Publish(r.Context(), id, lists, app.PublishOptions{At: at, Now: now})
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	msg := "published"
	if res.Scheduled {
		msg = "scheduled"
	}
	back(w, r, editionPath(id), msg)
}

// control pauses, resumes or cancels an edition.
func (u *UI) control(what string) func(w http.ResponseWriter, r *http.Request, p *page) {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		ctx, id := r.Context(), r.PathValue("id")
		var err error
		switch what {
		case "pause":
			_, err = u.app.PauseEdition(ctx, id)
		case "resume":
			_, err = u.app.ResumeEdition(ctx, id)
		default:
			_, err = u.app.Cancel(ctx, id)
		}
		if err != nil {
			u.failErr(w, p, err)
			return
		}
		back(w, r, editionPath(id), map[string]string{"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[what])
	}
}

// progress is an edition's sending progress.
type progress struct {
	State   string           `json:"state"`
	Total   int64            `json:"total"`
	Done    int64            `json:"done"`
	Percent int              `json:"percent"`
	Counts  map[string]int64 `json:"counts"`
}

func progressOf(st *app.Status) progress {
	pr := progress{State: st.State, Counts: map[string]int64{}}
	for _, s := range newsletter.DeliveryStates {
		n := st.Counts[string(s)]
		pr.Counts[string(s)] = n
		pr.Total += n
		if s != newsletter.DeliveryQueued && s != newsletter.DeliverySending {
			pr.Done += n
		}
	}
	switch {
	case pr.Total > 0:
		pr.Percent = int(pr.Done * 100 / pr.Total)
	case st.State == string(newsletter.EditionSent):
		pr.Percent = 100
	}
	return pr
}

// progressEvery is how often the progress stream reports.
const progressEvery = 500 * time.Millisecond

// progress streams an edition's progress as Server-Sent Events until it
// is sent or cancelled, or the page goes away.
func (u *UI) progress(w http.ResponseWriter, r *http.Request, p *page) {
	ctx, id := r.Context(), r.PathValue("id")
	if _, err := u.app.EditionStatus(ctx, id); err != nil {
		u.failErr(w, p, err)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		done, err := u.sendProgress(ctx, w, id)
		if err != nil || rc.Flush() != nil || done {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (u *UI) sendProgress(ctx context.Context, w io.Writer, id string) (bool, error) {
	st, err := u.app.EditionStatus(ctx, id)
	if err != nil {
		return true, err
	}
	pr := progressOf(st)
	b, _ := json.Marshal(pr)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "event: progress\ndata: %s\n\n", b)
	_, err = w.Write(buf.Bytes())
	final := pr.State == string(newsletter.EditionSent) || pr.State == string(newsletter.EditionCancelled) || pr.State == string(newsletter.EditionDraft)
	return final, err
}

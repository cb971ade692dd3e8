package webui

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"io"
	"net/http"
	"strconv"
	"strings"

	"newsletter"
	"newsletter/internal/app"
)

func (u *UI) listsPage(w http.ResponseWriter, r *http.Request, p *page) {
	ls, err := u.app.Lists(r.Context())
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	p.Title = p.T("lists.title")
	u.render(w, p, http.StatusOK, "lists", ls)
}

func (u *UI) createList(w http.ResponseWriter, r *http.Request, p *page) {
	l := newsletter.List{Slug: strings.TrimSpace(r.FormValue("slug")), Name: oneLine(r.FormValue("name")),
		Description: strings.TrimSpace(r.FormValue("description")), DoubleOptIn: r.FormValue("double_opt_in") != "", Public: r.FormValue("public") != ""}
	if l.Name == "" {
		l.Name = l.Slug
	}
	if _, err := u.app.CreateList(r.Context(), l); err != nil {
		u.failErr(w, p, err)
		return
	}
	back(w, r, listPath(l.Slug), "listcreated")
}

type listData struct {
	L       newsletter.ListInfo
	Members *newsletter.SearchResult
	Cursor  string
}

// listPage shows a list with its counts and, for admins, a page of its
// members.
func (u *UI) listPage(w http.ResponseWriter, r *http.Request, p *page) {
	ctx, slug := r.Context(), r.PathValue("slug")
	ls, err := u.app.Lists(ctx)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	d := listData{}
	found := false
	for _, l := range ls {
		if l.Slug == slug {
			d.L, found = l, true
		}
	}
	if !found {
		_, err := u.app.GetList(ctx, slug)
		if err == nil {
			err = newsletter.Errorf(newsletter.ENOTFOUND, "list %s does not exist", slug)
		}
		u.failErr(w, p, err)
		return
	}
	if p.Can("subscribers") {
		d.Cursor = r.URL.Query().Get("cursor")
		if d.Members, err = u.app.ListMembers(ctx, slug, d.Cursor, 50); err != nil {
			u.failErr(w, p, err)
			return
		}
	}
	p.Title = d.L.Name
	u.render(w, p, http.StatusOK, "list", d)
}

func (u *UI) updateList(w http.ResponseWriter, r *http.Request, p *page) {
	slug := r.PathValue("slug")
	name, desc := oneLine(r.FormValue("name")), strings.TrimSpace(r.FormValue("description"))
	dbl, pub := r.FormValue("double_opt_in") != "", r.FormValue("public") != ""
	if _, err := u.app.UpdateList(r.Context(), slug, app.ListChange{Name: &name, Description: &desc, DoubleOptIn: &dbl, Public: &pub}); err != nil {
		u.failErr(w, p, err)
		return
	}
	back(w, r, listPath(slug), "saved")
}

func (u *UI) confirmDeleteList(w http.ResponseWriter, r *http.Request, p *page) {
	l, err := u.app.GetList(r.Context(), r.PathValue("slug"))
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	p.Title = p.T("listdel.title")
	u.render(w, p, http.StatusOK, "list_delete", l)
}

func (u *UI) deleteList(w http.ResponseWriter, r *http.Request, p *page) {
	slug := r.PathValue("slug")
	l, err := u.app.GetList(r.Context(), slug)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	if strings.TrimSpace(r.FormValue("confirm")) != slug {
		p.Title = p.T("listdel.title")
		p.Error = p.T("listdel.mismatch", slug)
		u.render(w, p, http.StatusBadRequest, "list_delete", l)
		return
	}
	if err := u.app.DeleteList(r.Context(), slug); err != nil {
		u.failErr(w, p, err)
		return
	}
	back(w, r, "/admin/lists", "listdeleted")
}

func (u *UI) importPage(w http.ResponseWriter, r *http.Request, p *page) {
	l, err := u.app.GetList(r.Context(), r.PathValue("slug"))
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	p.Title = p.T("import.title", l.Name)
	u.render(w, p, http.StatusOK, "import", importData{L: l})
}

// The fields a column may be mapped to; "keep" imports it under its own
// header (email, name, organisation are recognised, others are
// attributes).
var columnTargets = []string{"keep", "email", "name", "organisation"}

type importData struct {
	L       *newsletter.List
	Columns []string
	Rows    [][]string
	Targets []string
	Data    string
	Report  *app.ImportReport
}

// importPost is the two steps of an upload: with a file, the column
// mapping preview; with the mapped data, the import and its per-row
// report.
func (u *UI) importPost(w http.ResponseWriter, r *http.Request, p *page) {
	ctx, slug := r.Context(), r.PathValue("slug")
	l, err := u.app.GetList(ctx, slug)
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	p.Title = p.T("import.title", l.Name)
	d := importData{L: l, Targets: columnTargets}
	if f, _, err := r.FormFile("file"); err == nil {
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			u.fail(w, p, http.StatusBadRequest, p.T("err.upload"))
			return
		}
		d.Columns, d.Rows = sample(data, 5)
		if len(d.Columns) == 0 {
			p.Error = p.T("import.empty")
			u.render(w, p, http.StatusBadRequest, "import", d)
			return
		}
		d.Data = base64.StdEncoding.EncodeToString(data)
		u.render(w, p, http.StatusOK, "import_preview", d)
		return
	}
	data, err := base64.StdEncoding.DecodeString(r.FormValue("data"))
	if err != nil || len(data) == 0 {
		p.Error = p.T("import.nofile")
		u.render(w, p, http.StatusBadRequest, "import", d)
		return
	}
	cols, _ := sample(data, 0)
	mapped := make([]string, len(cols))
	changed := false
	for i, c := range cols {
		mapped[i] = c
		if t := r.FormValue("col" + strconv.Itoa(i)); t != "" && t != "keep" {
			mapped[i], changed = t, true
		}
	}
	if changed {
		data = withHeader(data, mapped)
	}
	rep, err := u.app.Import(ctx, slug, bytes.NewReader(data), newsletter.ImportOptions{Mode: newsletter.ImportAdd})
	if err != nil {
		u.failErr(w, p, err)
		return
	}
	d.Report = rep
	u.render(w, p, http.StatusOK, "import_report", d)
}

// separatorOf guesses the separator of a CSV header line the way the
// importer does: ';' (Dutch Excel), tab or ','.
func separatorOf(line string) rune {
	best, n := ',', strings.Count(line, ",")
	for _, c := range []rune{';', '\t'} {
		if k := strings.Count(line, string(c)); k > n {
			best, n = c, k
		}
	}
	return best
}

// sample reads the header and up to n rows of a CSV file for the preview.
func sample(data []byte, n int) (header []string, rows [][]string) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	first, _, _ := strings.Cut(string(data), "\n")
	cr := csv.NewReader(bufio.NewReader(bytes.NewReader(data)))
	cr.Comma = separatorOf(first)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return nil, nil
	}
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	for len(rows) < n {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		rows = append(rows, rec)
	}
	return header, rows
}

// withHeader replaces the first line of a CSV file by header: the rest
// stays byte for byte, so the report's line numbers are the file's.
func withHeader(data []byte, header []string) []byte {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	first, rest, found := bytes.Cut(data, []byte("\n"))
	sep := string(separatorOf(string(first)))
	var b bytes.Buffer
	for i, h := range header {
		if i > 0 {
			b.WriteString(sep)
		}
		if strings.ContainsAny(h, sep+"\"\r\n") {
			h = `"` + strings.ReplaceAll(h, `"`, `""`) + `"`
		}
		b.WriteString(h)
	}
	if bytes.HasSuffix(first, []byte("\r")) {
		b.WriteString("\r")
	}
	if found {
		b.WriteString("\n")
		b.Write(rest)
	}
	return b.Bytes()
}

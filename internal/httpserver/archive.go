package httpserver

import (
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/feeds"

	"newsletter/internal/app"
)

var _ = template.Must(pages.New("archive").Parse(`{{template "top" .}}<h1>{{.Title}}</h1>
{{with .Archive}}{{if .Items}}<ul class="items">{{range .Items}}<li><h2 lang="{{.Lang}}"><a href="/archive/{{.ID}}">{{.Subject}}</a></h2>
<p class="muted"><time datetime="{{.ISO}}">{{.Date}}</time>{{with .Author}} · {{.}}{{end}}</p>{{if .Excerpt}}<p lang="{{.Lang}}">{{.Excerpt}}</p>{{end}}</li>{{end}}</ul>
{{- if gt .Pages 1}}<nav class="pager"><span>{{if .NewerURL}}<a href="{{.NewerURL}}">← {{$.T.T "archive.newer"}}</a>{{end}}</span><span class="muted">{{$.T.T "archive.page" .Page .Pages}}</span><span>{{if .OlderURL}}<a href="{{.OlderURL}}">{{$.T.T "archive.older"}} →</a>{{end}}</span></nav>{{end}}
{{- else}}<p>{{$.T.T "archive.empty"}}</p>{{end}}{{end}}
<p><a href="/subscribe{{.LangQuery}}">{{.T.T "archive.subscribe"}}</a></p>
<p class="muted"><a href="/archive/feed.atom">{{.T.T "archive.feed"}}</a></p>
{{template "bottom" .}}`))

// archiveView is one page of the archive index as the template shows it.
type archiveView struct {
	Items              []archiveItem
	Page, Pages        int
	NewerURL, OlderURL string
}

type archiveItem struct {
	ID, Subject, Excerpt, Author, Date, ISO string
	Lang                                    string // the edition's, which the item is written in
}

func (s *Server) archiveIndex(w http.ResponseWriter, r *http.Request) {
	lang := requestLang(r, "")
	page := 1
	if p := r.URL.Query().Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			s.notFound(w, r)
			return
		}
		page = n
	}
	idx, err := s.App.ArchiveIndexPage(r.Context(), page, app.ArchivePerPage)
	if err != nil {
		s.publicFailure(w, r, lang, err, "notfound.title", "notfound.text")
		return
	}
	d := s.page(r, lang)
	d.Title, d.Feed = d.T.T("archive.title"), true
	v := &archiveView{Page: idx.Page, Pages: idx.Pages}
	pageURL := func(n int) string {
		u := "/archive/?page=" + strconv.Itoa(n)
		if d.LangQuery != "" {
			u += "&lang=" + string(lang)
		}
		return u
	}
	if idx.Page > 1 {
		v.NewerURL = pageURL(idx.Page - 1)
	}
	if idx.Page < idx.Pages {
		v.OlderURL = pageURL(idx.Page + 1)
	}
	for _, it := range idx.Items {
		v.Items = append(v.Items, archiveItem{ID: it.ID, Subject: it.Subject, Excerpt: it.Excerpt, Author: it.Author,
			Lang: it.Language, Date: lang.Date(it.PublishedAt), ISO: it.PublishedAt.UTC().Format("2006-01-02")})
	}
	d.Archive = v
	w.Header().Set("Cache-Control", "public, max-age=60")
	s.renderCached(w, "archive", d)
}

// renderCached is render for pages anyone may cache for a while.
func (s *Server) renderCached(w http.ResponseWriter, name string, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", string(d.Lang))
	if err := pages.ExecuteTemplate(w, name, d); err != nil {
		s.Logger.Error("render page", "page", name, "err", err)
	}
}

func (s *Server) archiveEdition(w http.ResponseWriter, r *http.Request) {
	page, err := s.App.ArchivePage(r.Context(), r.PathValue("id"))
	if err != nil {
		s.publicFailure(w, r, requestLang(r, ""), err, "notfound.title", "notfound.text")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'")
	_, _ = w.Write(page)
}

// feedSize is how many editions the feed carries: the newest.
const feedSize = 20

func (s *Server) archiveFeed(w http.ResponseWriter, r *http.Request) {
	idx, err := s.App.ArchiveIndexPage(r.Context(), 1, feedSize)
	if err != nil {
		s.publicFailure(w, r, requestLang(r, ""), err, "notfound.title", "notfound.text")
		return
	}
	f := &feeds.Feed{Title: s.App.Cfg.BrandName, Link: &feeds.Link{Href: s.App.Links.ArchiveURL()},
		Id: s.App.Links.ArchiveURL(), Created: time.Unix(0, 0).UTC()}
	for _, e := range idx.Items {
		if e.PublishedAt.After(f.Updated) {
			f.Updated = e.PublishedAt
		}
		f.Items = append(f.Items, &feeds.Item{Title: e.Subject, Id: s.App.Links.WebVersion(e.ID),
			Link: &feeds.Link{Href: s.App.Links.WebVersion(e.ID)}, Description: e.Excerpt,
			Author: &feeds.Author{Name: e.Author}, Created: e.PublishedAt, Updated: e.PublishedAt})
	}
	// The excerpt is the editor's plain text: publish it as text, never
	// as HTML that a feed reader would interpret.
	af := (&feeds.Atom{Feed: f}).AtomFeed()
	for _, e := range af.Entries {
		if e.Summary != nil {
			e.Summary.Type = "text"
		}
	}
	atom, err := feeds.ToXML(af)
	if err != nil {
		s.publicFailure(w, r, requestLang(r, ""), err, "notfound.title", "notfound.text")
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write([]byte(atom))
}

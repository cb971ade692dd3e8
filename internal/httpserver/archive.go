package httpserver

import (
	"html/template"
	"net/http"
	"time"

	"github.com/gorilla/feeds"
)

var archiveIndexTmpl = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Brand}}: archief</title><link rel="alternate" type="application/atom+xml" href="/archive/feed.atom" title="{{.Brand}}">
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}li{margin:.5rem 0}.muted{color:#666}</style></head>
<body><h1>{{.Brand}}: eerdere nieuwsbrieven</h1>
{{if .Editions}}<ul>{{range .Editions}}<li><a href="/archive/{{.ID}}">{{.Subject}}</a> <span class="muted">{{.PublishedAt.Format "2 January 2006"}}</span></li>{{end}}</ul>
{{else}}<p>Nog geen edities verschenen.</p>{{end}}
<p class="muted"><a href="/archive/feed.atom">Atom-feed</a></p></body></html>`))

func (s *Server) archiveIndex(w http.ResponseWriter, r *http.Request) {
	eds, err := s.App.ArchivedEditions(r.Context())
	if err != nil {
		s.publicFailure(w, r, err, pageNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = archiveIndexTmpl.Execute(w, map[string]any{"Brand": s.App.Cfg.BrandName, "Editions": eds})
}

func (s *Server) archiveEdition(w http.ResponseWriter, r *http.Request) {
	page, err := s.App.ArchivePage(r.Context(), r.PathValue("id"))
	if err != nil {
		s.publicFailure(w, r, err, pageNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'")
	_, _ = w.Write(page)
}

func (s *Server) archiveFeed(w http.ResponseWriter, r *http.Request) {
	eds, err := s.App.ArchivedEditions(r.Context())
	if err != nil {
		s.publicFailure(w, r, err, pageNotFound)
		return
	}
	f := &feeds.Feed{Title: s.App.Cfg.BrandName, Link: &feeds.Link{Href: s.App.Links.ArchiveURL()},
		Id: s.App.Links.ArchiveURL(), Created: time.Unix(0, 0).UTC()}
	for _, e := range eds {
		if e.PublishedAt.After(f.Updated) {
			f.Updated = e.PublishedAt
		}
		f.Items = append(f.Items, &feeds.Item{Title: e.Subject, Id: s.App.Links.WebVersion(e.ID),
			Link: &feeds.Link{Href: s.App.Links.WebVersion(e.ID)}, Description: e.Preheader,
			Author: &feeds.Author{Name: e.Author}, Created: e.PublishedAt, Updated: e.PublishedAt})
	}
	// The preheader is the editor's plain text: publish it as text, never
	// as HTML that a feed reader would interpret.
	af := (&feeds.Atom{Feed: f}).AtomFeed()
	for _, e := range af.Entries {
		if e.Summary != nil {
			e.Summary.Type = "text"
		}
	}
	atom, err := feeds.ToXML(af)
	if err != nil {
		s.publicFailure(w, r, err, pageNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	_, _ = w.Write([]byte(atom))
}

package webui

import (
	"html/template"
	"io/fs"
	"path"
	"strings"
)

// parsePages parses each page template together with the layout.
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"join":   strings.Join,
		"add":    func(a, b int) int { return a + b },
		"i64":    func(n int) int64 { return int64(n) },
		"i64f":   func(f float64) int64 { return int64(f) },
		"escape": escapePath,
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", f))
	}
	return pages
}

package sesfake

import (
	"html/template"
	"net/http"
	"slices"
	"strings"
)

// Links are relative so the outbox also works mounted under a prefix with
// http.StripPrefix.
var outboxTmpl = template.Must(template.New("list").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outbox ({{len .}})</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}
td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}</style>
</head><body>
<h1>Outbox</h1>
<p>{{len .}} email(s) accepted by the embedded SES endpoint, newest first.</p>
<table><tr><th>Received</th><th>To</th><th>Subject</th><th></th></tr>
{{range .}}<tr><td>{{.ReceivedAt.Format "2006-01-02 15:04:05"}}</td><td>{{range $i, $a := .Recipients}}{{if $i}}, {{end}}{{$a}}{{end}}</td>
<td><a href="{{.MessageID}}">{{.Subject}}</a></td><td><a href="{{.MessageID}}.eml">.eml</a></td></tr>
{{else}}<tr><td colspan="4">No emails yet.</td></tr>
{{end}}</table></body></html>
`))

var messageTmpl = template.Must(template.New("message").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Subject}}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}
td,th{padding:.2em .8em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
pre{white-space:pre-wrap;background:#f6f6f6;padding:1em}iframe{width:100%;height:70vh;border:1px solid #ccc}</style>
</head><body>
<p><a href="./">← Outbox</a> · <a href="{{.MessageID}}.eml">Download .eml</a></p>
<h1>{{.Subject}}</h1>
<table>
<tr><th>MessageId</th><td>{{.MessageID}}</td></tr>
<tr><th>Received</th><td>{{.ReceivedAt.Format "2006-01-02 15:04:05 MST"}}</td></tr>
{{if .Bcc}}<tr><th>Bcc</th><td>{{range $i, $a := .Bcc}}{{if $i}}, {{end}}{{$a}}{{end}}</td></tr>{{end}}
{{if .ConfigurationSet}}<tr><th>Configuration set</th><td>{{.ConfigurationSet}}</td></tr>{{end}}
{{range $k, $v := .Tags}}<tr><th>Tag {{$k}}</th><td>{{$v}}</td></tr>{{end}}
{{if .Suppressed}}<tr><th>Suppressed</th><td>{{range $i, $a := .Suppressed}}{{if $i}}, {{end}}{{$a}}{{end}} (not delivered)</td></tr>{{end}}
</table>
<h2>Headers</h2>
<table>{{range .AllHeaders}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>{{end}}</table>
{{if .HTML}}<h2>HTML</h2>
<iframe sandbox="" referrerpolicy="no-referrer" srcdoc="{{.HTML}}"></iframe>{{end}}
{{if .Text}}<h2>Text</h2>
<pre>{{.Text}}</pre>{{end}}
</body></html>
`))

func (s *Server) outboxList(w http.ResponseWriter, r *http.Request) {
	msgs := s.Messages()
	slices.Reverse(msgs)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := outboxTmpl.Execute(w, msgs); err != nil {
		s.log.Warn("render outbox", "err", err)
	}
}

func (s *Server) outboxItem(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	id, eml := strings.CutSuffix(name, ".eml")
	m, ok := s.Message(id)
	if !ok {
		http.Error(w, "no email with MessageId "+id+" in the outbox", http.StatusNotFound)
		return
	}
	if eml {
		w.Header().Set("Content-Type", "message/rfc822")
		w.Header().Set("Content-Disposition", `attachment; filename="`+m.MessageID+`.eml"`)
		w.Write(m.Raw)
		return
	}
	// The email's HTML runs in a sandboxed srcdoc frame, which inherits this
	// policy: no scripts, no forms, remote images allowed so layouts look right.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; frame-src 'self'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	data := struct {
		Message
		AllHeaders []Header
	}{m, rawHeaders(m.Raw)}
	if err := messageTmpl.Execute(w, data); err != nil {
		s.log.Warn("render outbox message", "message_id", m.MessageID, "err", err)
	}
}

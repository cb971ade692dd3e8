// Package httpserver is the HTTP edge of the newsletter: public pages for
// partners (unsubscribe with RFC 8058 one-click, preferences, the web
// archive and its Atom feed), the SES webhook, the sign-in pages, and the
// admin API, previews and pages behind accounts and roles (routes.go holds
// the one route table, auth.go who may do what). Application errors become
// HTTP statuses here and nowhere else.
package httpserver

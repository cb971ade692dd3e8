// Package httpserver is the HTTP edge of the newsletter: public pages for
// partners (unsubscribe with RFC 8058 one-click, preferences, the web
// archive and its Atom feed), the SES webhook, and the token-authenticated
// admin API and previews. Application errors become HTTP statuses here and
// nowhere else.
package httpserver

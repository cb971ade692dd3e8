// Package webui is the web interface for editors and admins under /admin/:
// server-rendered pages (html/template, assets embedded) on the
// application's use cases, in Dutch or English per account. Who is signed
// in comes from internal/webctx, put there by the authentication
// middleware of internal/httpserver; every page and action checks the
// account's role.
package webui

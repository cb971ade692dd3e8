package httpserver

import (
	"net/http"
	"strconv"

	"newsletter"
	"newsletter/internal/webctx"
)

// auditLog is GET /api/v1/audit?actor=&action=&target=&limit=&cursor=.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, newsletter.Errorf(newsletter.EINVALID, "limit %q is not a positive number: use e.g. limit=50", v))
			return
		}
		limit = n
	}
	page, err := s.App.AuditLog(r.Context(), newsletter.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target")}, limit, q.Get("cursor"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// me is GET /api/v1/me: the account the request acts as.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	sess, _ := webctx.From(r.Context())
	writeJSON(w, http.StatusOK, sess.Account)
}

package httpserver

import (
	"net/http"
	"strconv"

	"newsletter"
	"newsletter/internal/address"
	"newsletter/internal/app"
)

// adminAPI registers the list and subscriber routes. Lists and counts
// are no personal data (viewers see them); subscribers are.
func (s *Server) adminAPI(h func(string, newsletter.Permission, http.HandlerFunc)) {
	h("GET /api/v1/lists", newsletter.PermRead, s.listLists)
	h("POST /api/v1/lists", newsletter.PermSubscribers, s.createList)
	h("PATCH /api/v1/lists/{slug}", newsletter.PermSubscribers, s.updateList)
	h("DELETE /api/v1/lists/{slug}", newsletter.PermSubscribers, s.deleteList)
	h("POST /api/v1/lists/{slug}/import", newsletter.PermSubscribers, s.importCSV)
	h("GET /api/v1/subscribers/export", newsletter.PermSubscribers, s.exportCSV)
	h("GET /api/v1/subscribers/{email}", newsletter.PermSubscribers, s.getSubscriber)
	h("GET /api/v1/subscribers", newsletter.PermSubscribers, s.searchSubscribers)
	h("POST /api/v1/subscribers", newsletter.PermSubscribers, s.addSubscriber)
	h("GET /api/v1/subscribers/counts", newsletter.PermRead, s.subscriberCounts)
	h("PATCH /api/v1/subscribers/{email}", newsletter.PermSubscribers, s.updateSubscriber)
	h("DELETE /api/v1/subscribers/{email}", newsletter.PermSubscribers, s.eraseSubscriber)
	h("DELETE /api/v1/subscribers/{email}/lists/{slug}", newsletter.PermSubscribers, s.removeMembership)
	h("POST /api/v1/subscribers/{email}/block", newsletter.PermSubscribers, s.blockSubscriber)
	h("GET /api/v1/subscribers/{email}/personal-data", newsletter.PermSubscribers, s.personalData)
}

func (s *Server) searchSubscribers(w http.ResponseWriter, r *http.Request) {
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
	res, err := s.App.SearchSubscribers(r.Context(), q.Get("q"), limit, q.Get("cursor"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) addSubscriber(w http.ResponseWriter, r *http.Request) {
	var in struct {
		app.AddInput
		List string `json:"list"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, err)
		return
	}
	if in.List == "" {
		writeError(w, newsletter.Errorf(newsletter.EINVALID, "no list given: add \"list\": \"SLUG\" to the body (GET /api/v1/lists shows them)"))
		return
	}
	res, err := s.App.AddSubscriber(r.Context(), in.List, in.AddInput)
	if err != nil {
		writeError(w, err)
		return
	}
	status := http.StatusOK
	if res.Outcome == string(newsletter.OutcomeImported) {
		status = http.StatusCreated
	}
	writeJSON(w, status, res)
}

func (s *Server) subscriberCounts(w http.ResponseWriter, r *http.Request) {
	c, err := s.App.Counts(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) updateSubscriber(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name         *string                      `json:"name"`
		Organisation *string                      `json:"organisation"`
		Attributes   map[string]string            `json:"attributes"`
		Status       *newsletter.SubscriberStatus `json:"status"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, err)
		return
	}
	if err := s.App.UpdateSubscriber(r.Context(), r.PathValue("email"), newsletter.SubscriberUpdate{Name: in.Name, Organisation: in.Organisation, Attributes: in.Attributes, Status: in.Status}); err != nil {
		writeError(w, err)
		return
	}
	s.getSubscriber(w, r)
}

func (s *Server) removeMembership(w http.ResponseWriter, r *http.Request) {
	if err := s.App.RemoveMembership(r.Context(), r.PathValue("email"), r.PathValue("slug")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) blockSubscriber(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, err)
		return
	}
	if err := s.App.Block(r.Context(), r.PathValue("email"), in.Reason); err != nil {
		writeError(w, err)
		return
	}
	s.getSubscriber(w, r)
}

func (s *Server) personalData(w http.ResponseWriter, r *http.Request) {
	pd, err := s.App.PersonalData(r.Context(), r.PathValue("email"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, pd)
}

func (s *Server) eraseSubscriber(w http.ResponseWriter, r *http.Request) {
	rep, err := s.App.Erase(r.Context(), r.PathValue("email"), r.URL.Query().Get("block") == "true")
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) listLists(w http.ResponseWriter, r *http.Request) {
	ls, err := s.App.Lists(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lists": ls})
}

func (s *Server) createList(w http.ResponseWriter, r *http.Request) {
	var l newsletter.List
	if err := decodeJSON(w, r, &l); err != nil {
		writeError(w, err)
		return
	}
	got, err := s.App.CreateList(r.Context(), l)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, got)
}

func (s *Server) updateList(w http.ResponseWriter, r *http.Request) {
	var in app.ListChange
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, err)
		return
	}
	l, err := s.App.UpdateList(r.Context(), r.PathValue("slug"), in)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) deleteList(w http.ResponseWriter, r *http.Request) {
	if err := s.App.DeleteList(r.Context(), r.PathValue("slug")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) importCSV(w http.ResponseWriter, r *http.Request) {
	opts := newsletter.ImportOptions{Mode: newsletter.ImportMode(r.URL.Query().Get("mode")), Override: r.URL.Query().Get("override") == "true"}
	if opts.Mode != "" && opts.Mode != newsletter.ImportAdd && opts.Mode != newsletter.ImportUpdate {
		writeError(w, newsletter.Errorf(newsletter.EINVALID, "mode %q is unknown: use add or update", opts.Mode))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 512<<20)
	rep, err := s.App.Import(r.Context(), r.PathValue("slug"), r.Body, opts)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) exportCSV(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="subscribers.csv"`)
	if err := s.App.Export(r.Context(), r.URL.Query().Get("list"), w); err != nil {
		s.Logger.Error("export", "err", err)
	}
}

func (s *Server) getSubscriber(w http.ResponseWriter, r *http.Request) {
	email, err := address.Normalize(r.PathValue("email"))
	if err != nil {
		writeError(w, err)
		return
	}
	d, err := s.App.ShowSubscriber(r.Context(), email)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

package httpserver

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"

	"newsletter"
)

// deliveryAPI: pause and resume, the recipient ledger, dead letters.
func (s *Server) deliveryAPI(h func(string, newsletter.Permission, http.HandlerFunc)) {
	h("POST /api/v1/editions/{id}/pause", newsletter.PermEditions, s.pause)
	h("POST /api/v1/editions/{id}/resume", newsletter.PermEditions, s.resume)
	// The ledger: editors follow their edition's deliveries; viewers see
	// figures only, not who got it.
	h("GET /api/v1/editions/{id}/deliveries", newsletter.PermEditions, s.deliveries)
	// Dead jobs carry addresses, and a replay sends email: an admin's call.
	h("GET /api/v1/deadletters", newsletter.PermSubscribers, s.deadLetters)
	h("GET /api/v1/deadletters/{id}", newsletter.PermSubscribers, s.deadLetter)
	h("POST /api/v1/deadletters/{id}/replay", newsletter.PermSubscribers, s.replayDeadLetter)
}

func (s *Server) deadLetters(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, newsletter.Errorf(newsletter.EINVALID, "limit %q is not a number from 1 to 1000", v))
			return
		}
		limit = n
	}
	ds, err := s.App.DeadLetters(r.Context(), r.URL.Query().Get("before"), limit)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deadletters": nonNil(ds)})
}

func (s *Server) deadLetter(w http.ResponseWriter, r *http.Request) {
	d, err := s.App.DeadLetter(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) replayDeadLetter(w http.ResponseWriter, r *http.Request) {
	d, err := s.App.ReplayDeadLetter(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"id": d.ID, "replayed": true, "stream": d.Stream})
}

func (s *Server) pause(w http.ResponseWriter, r *http.Request) {
	e, err := s.App.PauseEdition(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) resume(w http.ResponseWriter, r *http.Request) {
	e, err := s.App.ResumeEdition(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// deliveries streams {"deliveries": [...]}: the status line goes out with
// the first row, so an error before it is a proper error answer; one after
// it cuts the body short (invalid JSON), never a complete-looking list.
func (s *Server) deliveries(w http.ResponseWriter, r *http.Request) {
	out := bufio.NewWriterSize(w, 32<<10)
	enc := json.NewEncoder(out)
	n := 0
	start := func() {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		out.WriteString(`{"deliveries":[`)
	}
	err := s.App.Deliveries(r.Context(), r.PathValue("id"), newsletter.DeliveryState(r.URL.Query().Get("state")), func(d newsletter.DeliveryRow) error {
		if n == 0 {
			start()
		} else {
			out.WriteString(",")
		}
		n++
		return enc.Encode(d)
	})
	if err != nil {
		if n == 0 {
			writeError(w, err)
			return
		}
		_ = out.Flush()
		panic(http.ErrAbortHandler) // the client sees a cut connection
	}
	if n == 0 {
		start()
	}
	out.WriteString("]}\n")
	_ = out.Flush()
}

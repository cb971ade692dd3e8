package httpserver

import (
	"bufio"
	"encoding/json"
	"net/http"

	"newsletter"
)

// deliveryAPI: pause and resume, the recipient ledger, dead letters.
func (s *Server) deliveryAPI(h func(string, http.HandlerFunc)) {
	h("POST /api/v1/editions/{id}/pause", s.pause)
	h("POST /api/v1/editions/{id}/resume", s.resume)
	h("GET /api/v1/editions/{id}/deliveries", s.deliveries)
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

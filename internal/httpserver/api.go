package httpserver

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"newsletter"
	"newsletter/internal/app"
)

// api registers the API's routes through h, each with the permission it
// needs (see newsletter.Role.Can).
func (s *Server) api(h func(string, newsletter.Permission, http.HandlerFunc)) {
	s.adminAPI(h)
	s.deliveryAPI(h)
	h("GET /api/v1/editions", newsletter.PermRead, s.listEditions)
	h("POST /api/v1/editions", newsletter.PermEditions, s.createEdition)
	h("GET /api/v1/editions/{id}", newsletter.PermRead, s.editionStatus)
	h("POST /api/v1/editions/{id}/publish", newsletter.PermEditions, s.publish)
	h("POST /api/v1/editions/{id}/test", newsletter.PermEditions, s.testSend)
	h("POST /api/v1/editions/{id}/cancel", newsletter.PermEditions, s.cancel)
	// It may send someone a second copy: an admin's decision.
	h("POST /api/v1/editions/{id}/resend-unknown", newsletter.PermSubscribers, s.resendUnknown)
	h("GET /admin/editions/{id}/preview", newsletter.PermRead, s.preview)
	h("GET /api/v1/report", newsletter.PermRead, s.report)
	h("GET /api/v1/suppressions", newsletter.PermSubscribers, s.listSuppressions)
	h("POST /api/v1/suppressions", newsletter.PermSubscribers, s.addSuppression)
	h("DELETE /api/v1/suppressions/{email}", newsletter.PermSubscribers, s.removeSuppression)
	h("GET /api/v1/audit", newsletter.PermAccounts, s.auditLog)
	h("GET /api/v1/me", newsletter.PermRead, s.me)
}

func (s *Server) listEditions(w http.ResponseWriter, r *http.Request) {
	eds, err := s.App.ListEditions(r.Context(), r.URL.Query().Get("state"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"editions": eds})
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return newsletter.Errorf(newsletter.EINVALID, "request body is not the expected JSON: %v", err)
	}
	return nil
}

func (s *Server) createEdition(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "edition.md"
		if strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			name = "edition.txt"
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
	if err != nil {
		writeError(w, newsletter.Errorf(newsletter.EINVALID, "edition body is too large or unreadable: %v", err))
		return
	}
	e, findings, err := s.App.CreateEdition(r.Context(), name, data)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": e.ID, "subject": e.Subject, "findings": nonNil(findings)})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) editionStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.App.EditionStatus(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Lists                 []string  `json:"lists"`
		AllowEncodingFindings bool      `json:"allow_encoding_findings"`
		At                    time.Time `json:"at"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, err)
		return
	}
	res, err := s.App.Publish(r.Context(), r.PathValue("id"), in.Lists, app.PublishOptions{AllowEncodingFindings: in.AllowEncodingFindings, At: in.At})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

func (s *Server) testSend(w http.ResponseWriter, r *http.Request) {
	var in struct {
		To []string `json:"to"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, err)
		return
	}
	if err := s.App.TestSend(r.Context(), r.PathValue("id"), in.To); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"queued": len(in.To)})
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	e, err := s.App.Cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	html, text, _, err := s.App.Preview(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	if r.URL.Query().Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(text)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'")
	_, _ = w.Write(html)
}

func (s *Server) listSuppressions(w http.ResponseWriter, r *http.Request) {
	sp, err := s.App.Suppressions(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"suppressions": nonNil(sp)})
}

func (s *Server) addSuppression(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email  string `json:"email"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, err)
		return
	}
	email, err := s.App.Suppress(r.Context(), in.Email, in.Reason)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"email": email})
}

func (s *Server) removeSuppression(w http.ResponseWriter, r *http.Request) {
	if err := s.App.Unsuppress(r.Context(), r.PathValue("email"), r.URL.Query().Get("reason")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	rep, err := s.App.BuildReport(r.Context(), 0)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) resendUnknown(w http.ResponseWriter, r *http.Request) {
	res, err := s.App.ResendUnknownOpts(r.Context(), r.PathValue("id"), r.URL.Query().Get("force") == "true")
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

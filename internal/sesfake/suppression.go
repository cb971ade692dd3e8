package sesfake

import (
	"encoding/json"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
)

// suppression is one entry of the account-level suppression list.
type suppression struct {
	Address   string
	Reason    string // BOUNCE or COMPLAINT
	UpdatedAt time.Time
}

// epoch is how restJson1 encodes timestamps by default: seconds, with fraction.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (s *Server) putSuppressed(w http.ResponseWriter, r *http.Request) {
	var req struct{ EmailAddress, Reason string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException", "invalid JSON body: "+err.Error())
		return
	}
	if req.EmailAddress == "" {
		writeError(w, http.StatusBadRequest, "BadRequestException", "EmailAddress is required")
		return
	}
	if _, err := mail.ParseAddress(req.EmailAddress); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException", "invalid EmailAddress: "+err.Error())
		return
	}
	if req.Reason != "BOUNCE" && req.Reason != "COMPLAINT" {
		writeError(w, http.StatusBadRequest, "BadRequestException", "Reason must be BOUNCE or COMPLAINT")
		return
	}
	addr := bareAddress(req.EmailAddress)
	s.mu.Lock()
	s.suppressed[addr] = suppression{Address: addr, Reason: req.Reason, UpdatedAt: s.o.Now()}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) lookupSuppressed(w http.ResponseWriter, r *http.Request) (suppression, bool) {
	addr := bareAddress(r.PathValue("email"))
	s.mu.Lock()
	e, ok := s.suppressed[addr]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "NotFoundException", "Email address "+addr+" does not exist on your suppression list.")
	}
	return e, ok
}

func (s *Server) getSuppressed(w http.ResponseWriter, r *http.Request) {
	e, ok := s.lookupSuppressed(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"SuppressedDestination": map[string]any{
		"EmailAddress":   e.Address,
		"Reason":         e.Reason,
		"LastUpdateTime": epoch(e.UpdatedAt),
	}})
}

func (s *Server) deleteSuppressed(w http.ResponseWriter, r *http.Request) {
	e, ok := s.lookupSuppressed(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	delete(s.suppressed, e.Address)
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// listSuppressed supports the Reason, StartDate, EndDate, PageSize and
// NextToken query parameters; the token is an offset into the sorted list.
func (s *Server) listSuppressed(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var start, end time.Time
	for _, p := range []struct {
		key string
		t   *time.Time
	}{{"StartDate", &start}, {"EndDate", &end}} {
		if v := q.Get(p.key); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, "BadRequestException", p.key+" must be an ISO 8601 timestamp")
				return
			}
			*p.t = t
		}
	}
	pageSize := 1000
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "BadRequestException", "PageSize must be 1..1000")
			return
		}
		pageSize = n
	}
	offset := 0
	if v := q.Get("NextToken"); v != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(v, "sesfake-"))
		if err != nil || n < 0 || !strings.HasPrefix(v, "sesfake-") {
			writeError(w, http.StatusBadRequest, "InvalidNextTokenException", "The NextToken is not valid.")
			return
		}
		offset = n
	}
	reasons := q["Reason"]

	s.mu.Lock()
	var all []suppression
	for _, e := range s.suppressed {
		if len(reasons) > 0 && !slices.Contains(reasons, e.Reason) {
			continue
		}
		if (!start.IsZero() && e.UpdatedAt.Before(start)) || (!end.IsZero() && e.UpdatedAt.After(end)) {
			continue
		}
		all = append(all, e)
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b suppression) int { return strings.Compare(a.Address, b.Address) })

	out := map[string]any{}
	summaries := []map[string]any{}
	for i := offset; i < len(all) && i < offset+pageSize; i++ {
		summaries = append(summaries, map[string]any{
			"EmailAddress":   all[i].Address,
			"Reason":         all[i].Reason,
			"LastUpdateTime": epoch(all[i].UpdatedAt),
		})
	}
	out["SuppressedDestinationSummaries"] = summaries
	if offset+pageSize < len(all) {
		out["NextToken"] = "sesfake-" + strconv.Itoa(offset+pageSize)
	}
	writeJSON(w, http.StatusOK, out)
}

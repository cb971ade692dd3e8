package httpserver_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"newsletter/internal/httpserver"
)

// The subscribe form's answer is held until the answer floor, whatever the
// store knew of the address, and not a byte leaves before: its timing
// cannot tell a known address from a new one. (The floor is an hour here;
// the stub sleep only records it, so the test waits for nothing.)
func TestSubscribeAnswerIsPaddedToTheFloor(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	mustList(t, a, "nieuws", "bekend@example.org")
	var slept []time.Duration
	var rec *httptest.ResponseRecorder
	s := &httpserver.Server{App: a, Logger: discard, AnswerFloor: time.Hour,
		Sleep: func(d time.Duration) {
			if rec.Body.Len() != 0 || rec.Code != http.StatusOK {
				t.Error("the answer left before the floor")
			}
			slept = append(slept, d)
		}}
	h := s.Handler()
	bodies := map[string]string{}
	for _, who := range []string{"bekend@example.org", "nieuw@example.org"} {
		rec = httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/subscribe", strings.NewReader(url.Values{"list": {"nieuws"}, "email": {who}}.Encode()))
		form(req)
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", who, rec.Code)
		}
		bodies[who] = rec.Body.String()
	}
	if len(slept) != 2 || slept[0] < 59*time.Minute || slept[1] < 59*time.Minute {
		t.Errorf("padding %v, want both answers held to the floor", slept)
	}
	if bodies["bekend@example.org"] != bodies["nieuw@example.org"] {
		t.Error("the answers differ between a known and a new address")
	}
}

package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"newsletter"
	"newsletter/workers"
)

// A damaged link's page offers a fresh one by email. The answer is the
// same for a known, an unknown and a malformed address; only the known
// one gets an email.
func TestBadLinkOffersAFreshOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	const who = "bekend@example.org"
	publicList(t, a, "nieuws", false)
	mustImport(t, a, "nieuws", csvOf([]string{who}), newsletter.ImportOptions{})
	c := &http.Client{}
	resp, page := get(t, c, a.Cfg.BaseURL+"/p/kapot-gesneden-link")
	if resp.StatusCode != http.StatusBadRequest || !contains(page, `action="/new-link"`, "nieuwsbrief@example.org") {
		t.Fatalf("bad link page: %d %s", resp.StatusCode, page)
	}
	var answers []string
	for _, addr := range []string{who, "onbekend@example.org", "geen adres"} {
		resp, body := postForm(t, c, a.Cfg.BaseURL+"/new-link", url.Values{"email": {addr}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("new-link %q: %d %s", addr, resp.StatusCode, body)
		}
		answers = append(answers, body)
	}
	if answers[0] != answers[1] || answers[1] != answers[2] {
		t.Errorf("the answers differ with the address:\n%s\n---\n%s\n---\n%s", answers[0], answers[1], answers[2])
	}
	h.waitIdle()
	sent := map[string]int{}
	for _, m := range h.SES.Messages() {
		if m.Tags["kind"] == workers.JobPreferencesLink {
			sent[m.To[0]]++
		}
	}
	if len(sent) != 1 || sent[who] != 1 {
		t.Errorf("fresh-link emails %v, want one to %s", sent, who)
	}
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

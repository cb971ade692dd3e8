package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/app"
)

func csvOf(emails []string) string {
	var b strings.Builder
	b.WriteString("email,name,organisation\n")
	for i, e := range emails {
		fmt.Fprintf(&b, "%s,Partner %d,Organisatie %d\n", e, i, i)
	}
	return b.String()
}

// Two overlapping lists (1,000 each, 300 shared, some unsubscribed): every
// active unique address receives exactly one correct email.
func TestPublishOverlappingLists(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.App
	for _, slug := range []string{"bedrijven", "onderwijs"} {
		if err := a.Store().CreateList(ctx, newsletter.List{Slug: slug, Name: slug}); err != nil {
			t.Fatal(err)
		}
	}
	addr := func(i int) string { return fmt.Sprintf("partner%04d@example.org", i) }
	var listA, listB []string
	for i := 0; i < 1000; i++ {
		listA = append(listA, addr(i))
	}
	for i := 700; i < 1700; i++ { // 700..999 shared
		listB = append(listB, addr(i))
	}
	for slug, emails := range map[string][]string{"bedrijven": listA, "onderwijs": listB} {
		rep, err := a.Import(ctx, slug, strings.NewReader(csvOf(emails)), newsletter.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rejected) != 0 {
			t.Fatalf("rejected: %+v", rep.Rejected[:1])
		}
	}
	// 40 unsubscribe globally, 10 of them shared; 5 leave list A only but
	// stay on list B (they must still get it, once).
	unsub := map[string]bool{}
	for i := 0; i < 40; i++ {
		e := addr(i*40 + 5) // spreads over both lists and the shared range
		unsub[e] = true
		if err := a.Store().Unsubscribe(ctx, e, "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	for i := 900; i < 905; i++ {
		if unsub[addr(i)] {
			continue
		}
		if err := a.Store().Unsubscribe(ctx, addr(i), "bedrijven", "test"); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{}
	for i := 0; i < 1700; i++ {
		if !unsub[addr(i)] {
			want[addr(i)] = true
		}
	}

	data, err := os.ReadFile("testdata/dutch.md")
	if err != nil {
		t.Fatal(err)
	}
	e, findings, err := a.CreateEdition(ctx, "dutch.md", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 0 {
		t.Fatalf("unexpected encoding findings: %+v", findings)
	}
	if _, err := a.Publish(ctx, e.ID, []string{"bedrijven", "onderwijs"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	st := h.waitSent(e.ID)
	if got := st.Counts["sent"]; got != int64(len(want)) {
		t.Errorf("sent = %d, want %d (counts %v)", got, len(want), st.Counts)
	}

	msgs := h.SES.Messages()
	seen := map[string]int{}
	const subject = "Nieuwsbrief: samen doen én leren – “café” coördinatie naïef"
	for _, m := range msgs {
		if len(m.To) != 1 {
			t.Fatalf("message to %v: want exactly one recipient", m.To)
		}
		seen[m.To[0]]++
		if m.Subject != subject {
			t.Fatalf("subject %q, want %q", m.Subject, subject)
		}
	}
	if len(msgs) != len(want) {
		t.Errorf("SES received %d emails, want %d", len(msgs), len(want))
	}
	for e, n := range seen {
		if n != 1 {
			t.Errorf("%s received %d emails", e, n)
		}
		if !want[e] {
			t.Errorf("%s received an email but is unsubscribed or unknown", e)
		}
	}
	for e := range want {
		if seen[e] == 0 {
			t.Errorf("%s received nothing", e)
		}
	}

	m := msgs[0]
	for _, s := range []string{"coördinatie", "naïeve", "“uitstekend”", "Met vriendelijke groet", "Fleur de Wit"} {
		if !strings.Contains(m.HTML, s) {
			t.Errorf("HTML lacks %q", s)
		}
		if !strings.Contains(m.Text, s) {
			t.Errorf("text lacks %q", s)
		}
	}
	if got := m.Header("List-Unsubscribe-Post"); len(got) != 1 || got[0] != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %v", got)
	}
	if got := m.Header("List-Id"); len(got) != 1 || !strings.Contains(got[0], "example.org") {
		t.Errorf("List-Id = %v", got)
	}
	lu := m.Header("List-Unsubscribe")
	if len(lu) != 1 || !strings.HasPrefix(lu[0], "<"+h.HTTP.URL+"/u/") {
		t.Fatalf("List-Unsubscribe = %v", lu)
	}

	// The one-click unsubscribe works: POST without cookies or JavaScript.
	u := strings.Trim(lu[0], "<>")
	resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("one-click POST: %d %s", resp.StatusCode, body)
	}
	sub, _, err := a.Store().GetSubscriber(ctx, m.To[0])
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != newsletter.SubscriberUnsubscribed {
		t.Errorf("after one-click: status %s, want unsubscribed", sub.Status)
	}
	// A tampered token is refused and changes nothing.
	tampered := u[:len(u)-3] + "AAA"
	resp, err = http.Post(tampered, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("tampered one-click: %d, want 400", resp.StatusCode)
	}

	// Publishing again sends nobody a second copy.
	before := h.SES.Count()
	res, err := a.Publish(ctx, e.ID, []string{"bedrijven", "onderwijs"}, app.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.NewLists) != 0 {
		t.Errorf("second publish reports new lists %v", res.NewLists)
	}
	h.waitIdle()
	if after := h.SES.Count(); after != before {
		t.Errorf("second publish sent %d more emails", after-before)
	}
}

package ses_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/sesfake"
)

func bulkEmail(to ...string) *newsletter.BulkEmail {
	m := &newsletter.BulkEmail{From: "Nieuwsbrief <nieuwsbrief@example.org>", Subject: "Hallo {{name_text}}",
		HTML: "<p>Beste {{name_html}}</p>", Text: "Beste {{name_text}}", Headers: [][2]string{{"List-Id", "<n.example.org>"}}}
	for _, a := range to {
		m.Entries = append(m.Entries, newsletter.BulkEntry{To: a,
			Data:    []byte(`{"name_html":"A &amp; B","name_text":"A & B"}`),
			Headers: [][2]string{{"List-Unsubscribe", "<https://example.org/u/" + a + ">"}, {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}},
			Tags:    map[string]string{"edition_id": "e1", "delivery": strings.NewReplacer("@", "_", ".", "-").Replace(a)}})
	}
	return m
}

// One SendBulkEmail through the real SDK to the embedded endpoint: every
// entry gets its own outcome, classified for the state machine, and what
// SES sends carries the entry's own values, headers and tags.
func TestSendBulkPerEntryOutcomes(t *testing.T) {
	fake := sesfake.New(sesfake.Options{EnforceDailyQuota: true, Max24HourSend: 3})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fake.SetFaults(sesfake.Faults{Reject: map[string]string{"rejected@example.org": "Address blacklisted."}})
	s := sender(srv.URL, 5*time.Second)
	res, err := s.SendBulk(context.Background(), bulkEmail("a@example.org", "rejected@example.org", "b@example.org", "c@example.org", "d@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].MessageID == "" || res[2].Err != nil || res[3].Err != nil {
		t.Errorf("accepted entries: %+v", res)
	}
	if !newsletter.IsPermanent(res[1].Err) || !strings.Contains(res[1].Err.Error(), "MESSAGE_REJECTED") {
		t.Errorf("rejected entry: %v, want a permanent MESSAGE_REJECTED", res[1].Err)
	}
	if !errors.Is(res[4].Err, newsletter.ErrDailyQuota) {
		t.Errorf("entry beyond the daily quota of 3: %v, want ErrDailyQuota", res[4].Err)
	}
	m, ok := fake.Message(res[0].MessageID)
	if !ok {
		t.Fatal("the accepted entry is not in the fake's store")
	}
	if m.Subject != "Hallo A & B" || m.HTML != "<p>Beste A &amp; B</p>" || m.Text != "Beste A & B" {
		t.Errorf("rendered entry: subject %q html %q text %q", m.Subject, m.HTML, m.Text)
	}
	if got := m.Header("List-Unsubscribe"); len(got) != 1 || got[0] != "<https://example.org/u/a@example.org>" {
		t.Errorf("List-Unsubscribe = %v, want the entry's own", got)
	}
	if got := m.Header("List-Id"); len(got) != 1 {
		t.Errorf("List-Id = %v, want the template's default header", got)
	}
	if m.Tags["delivery"] != "a_example-org" || m.Tags["edition_id"] != "e1" {
		t.Errorf("tags %v", m.Tags)
	}

	fake.SetFaults(sesfake.Faults{EntryStatus: map[string]float64{"TRANSIENT_FAILURE": 1}})
	res, err = s.SendBulk(context.Background(), bulkEmail("e@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	if e := res[0].Err; e == nil || newsletter.IsPermanent(e) || errors.Is(e, newsletter.ErrUnknownOutcome) || errors.Is(e, newsletter.ErrDailyQuota) {
		t.Errorf("TRANSIENT_FAILURE: %v, want a passing error (retry this recipient)", e)
	}
}

// A bulk call whose reply is lost leaves every entry unknown; one SES
// refused as a whole is retryable for all.
func TestSendBulkCallFailures(t *testing.T) {
	fake := sesfake.New(sesfake.Options{})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fake.SetFaults(sesfake.Faults{Latency: time.Second})
	_, err := sender(srv.URL, 100*time.Millisecond).SendBulk(context.Background(), bulkEmail("a@example.org"))
	if !errors.Is(err, newsletter.ErrUnknownOutcome) {
		t.Errorf("no reply in time: %v, want ErrUnknownOutcome", err)
	}
	fake.SetFaults(sesfake.Faults{ThrottleRate: 1})
	_, err = sender(srv.URL, time.Second).SendBulk(context.Background(), bulkEmail("a@example.org"))
	if err == nil || newsletter.IsPermanent(err) || errors.Is(err, newsletter.ErrUnknownOutcome) {
		t.Errorf("throttled call: %v, want a passing error", err)
	}
}

package workers_test

import (
	"strings"
	"testing"
	"time"

	"newsletter"
	"newsletter/workers"
)

// unknownDelivery makes a delivery of a fresh edition that is unknown: its
// SES call was cut off.
func (e *env) unknownDelivery(email string) string {
	e.t.Helper()
	id := e.store.NewEditionID()
	if err := e.store.CreateEdition(e.ctx, &newsletter.Edition{ID: id, Subject: "S", Body: "b", Language: "nl", State: newsletter.EditionSending}); err != nil {
		e.t.Fatal(err)
	}
	_, err := e.store.Transition(e.ctx, id, []newsletter.Transition{
		{Email: email, To: newsletter.DeliveryQueued},
		{Email: email, From: []newsletter.DeliveryState{newsletter.DeliveryQueued}, To: newsletter.DeliverySending},
		{Email: email, From: []newsletter.DeliveryState{newsletter.DeliverySending}, To: newsletter.DeliveryUnknown, Reason: "reply lost"},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func sendEvent(t *testing.T, editionID, to, messageID string, tags map[string]string) map[string]any {
	t.Helper()
	all := map[string]string{"edition_id": editionID, "kind": "newsletter"}
	for k, v := range tags {
		all[k] = v
	}
	return map[string]any{"eventType": "Send", "mail": mailObject(sentEmail{To: to, MessageID: messageID, Tags: all}, time.Now()), "send": map[string]any{}}
}

// SES's Send event for an unknown delivery settles it: sent, with the
// message id, counted as resolved; the same event again changes nothing.
func TestSendEventSettlesUnknown(t *testing.T) {
	e := newEnv(t)
	id := e.unknownDelivery("a@example.org")
	ev := sendEvent(t, id, "a@example.org", "mid-1", map[string]string{workers.TagRecipient: workers.RecipientTag("a@example.org")})
	for range 2 {
		if err := e.track.Handle(sesEvent(t, ev)); err != nil {
			t.Fatal(err)
		}
	}
	d := e.delivery(id, "a@example.org")
	if d.State != newsletter.DeliverySent || d.MessageID != "mid-1" {
		t.Errorf("delivery %s with message id %q, want sent with mid-1", d.State, d.MessageID)
	}
	c, err := e.store.Counts(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c["unknown"] != 0 || c["sent"] != 1 || c["unknown_resolved"] != 1 {
		t.Errorf("counts %v, want sent 1, unknown 0, unknown_resolved 1", c)
	}
	if ed, em, err := e.store.LookupMessageID(e.ctx, "mid-1", []string{"a@example.org"}); err != nil || ed != id || em != "a@example.org" {
		t.Errorf("message id index: %s %s %v", ed, em, err)
	}
}

// A Send event whose recipient tag names someone else does not settle the
// delivery: only the email for this recipient does.
func TestSendEventWithOtherRecipientTagIgnored(t *testing.T) {
	e := newEnv(t)
	id := e.unknownDelivery("a@example.org")
	ev := sendEvent(t, id, "a@example.org", "mid-2", map[string]string{workers.TagRecipient: workers.RecipientTag("b@example.org")})
	if err := e.track.Handle(sesEvent(t, ev)); err != nil {
		t.Fatal(err)
	}
	if d := e.delivery(id, "a@example.org"); d.State != newsletter.DeliveryUnknown {
		t.Errorf("delivery %s, want still unknown", d.State)
	}
}

// A Rendering Failure makes the delivery failed, with SES's reason.
func TestRenderingFailureFailsWithReason(t *testing.T) {
	e := newEnv(t)
	id := e.unknownDelivery("a@example.org")
	ev := sendEvent(t, id, "a@example.org", "mid-3", nil)
	ev["eventType"] = "Rendering Failure"
	delete(ev, "send")
	ev["failure"] = map[string]any{"errorMessage": "Attribute 'name' is not present in the rendering data.", "templateName": "t"}
	if err := e.track.Handle(sesEvent(t, ev)); err != nil {
		t.Fatal(err)
	}
	d := e.delivery(id, "a@example.org")
	if d.State != newsletter.DeliveryFailed || !strings.Contains(d.Reason, "Attribute 'name' is not present") {
		t.Errorf("delivery %s (%q), want failed with the rendering error", d.State, d.Reason)
	}
}

package cli_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/redisstore"
	"newsletter/internal/redistest"
)

// The ledger prints one row per recipient with email, state, reason,
// message id and update time, as JSON (one object with a deliveries array)
// or CSV, across more than one page of the store's scan.
func TestEditionDeliveriesLedger(t *testing.T) {
	r := newRun(t)
	id := strings.TrimSpace(r.ok("editions", "create", "--file", r.file("e.md", "---\nsubject: Ledger\n---\nTekst.\n")))
	store := redisstore.New(redistest.Client(t), r.prefix)
	ctx := context.Background()
	const n = 1234
	var ts []newsletter.Transition
	for i := range n {
		em := fmt.Sprintf("p%04d@example.org", i)
		ts = append(ts, newsletter.Transition{Email: em, To: newsletter.DeliveryQueued})
		if i%2 == 0 {
			ts = append(ts, newsletter.Transition{Email: em, From: []newsletter.DeliveryState{newsletter.DeliveryQueued}, To: newsletter.DeliverySent, MessageID: "mid-" + em})
		} else {
			ts = append(ts, newsletter.Transition{Email: em, From: []newsletter.DeliveryState{newsletter.DeliveryQueued}, To: newsletter.DeliveryFailed, Reason: "refused, \"quoted\""})
		}
	}
	if _, err := store.Transition(ctx, id, ts); err != nil {
		t.Fatal(err)
	}

	var doc struct {
		Deliveries []newsletter.DeliveryRow `json:"deliveries"`
	}
	if err := json.Unmarshal([]byte(r.ok("editions", "deliveries", id, "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range doc.Deliveries {
		if seen[d.Email] {
			t.Errorf("%s listed twice", d.Email)
		}
		seen[d.Email] = true
		if d.UpdatedAt.IsZero() {
			t.Errorf("%s has no updated_at", d.Email)
		}
		switch d.State {
		case newsletter.DeliverySent:
			if d.MessageID != "mid-"+d.Email {
				t.Errorf("%s: message id %q", d.Email, d.MessageID)
			}
		case newsletter.DeliveryFailed:
			if d.Reason != `refused, "quoted"` {
				t.Errorf("%s: reason %q", d.Email, d.Reason)
			}
		default:
			t.Errorf("%s: state %s", d.Email, d.State)
		}
	}
	if len(seen) != n {
		t.Errorf("%d rows, want %d", len(seen), n)
	}

	rows, err := csv.NewReader(strings.NewReader(r.ok("editions", "deliveries", id, "--csv", "--state", "failed"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "email,state,reason,message_id,updated_at" || len(rows) != 1+n/2 {
		t.Fatalf("csv header %v and %d rows, want the header and %d", rows[0], len(rows)-1, n/2)
	}
	for _, row := range rows[1:] {
		if row[1] != "failed" || row[2] != `refused, "quoted"` {
			t.Errorf("csv row %v", row)
		}
	}

	if out := r.ok("editions", "deliveries", id, "--json", "--state", "bounced"); strings.TrimSpace(out) != `{"deliveries":[]}` {
		t.Errorf("no bounced: %q", out)
	}
	for _, bad := range [][]string{
		{"editions", "deliveries", id, "--state", "gone"},
		{"editions", "deliveries", id, "--json", "--csv"},
		{"editions", "deliveries", "nope"},
	} {
		if _, _, err := r.do(bad...); err == nil {
			t.Errorf("newsletter %s: no error", strings.Join(bad, " "))
		} else if !strings.Contains(err.Error(), ":") {
			t.Errorf("newsletter %s: %v does not say what to do", strings.Join(bad, " "), err)
		}
	}
}

// With nothing parked, deadletters ls says so; show of an id that is not
// one names the form ids take.
func TestDeadlettersEmptyAndBadID(t *testing.T) {
	r := newRun(t)
	if out := r.ok("deadletters", "ls", "--json"); !strings.Contains(out, `"deadletters": []`) {
		t.Errorf("ls --json: %s", out)
	}
	if _, _, err := r.do("deadletters", "show", "banana"); err == nil || !strings.Contains(err.Error(), "1733100000000-0") {
		t.Errorf("show banana: %v", err)
	}
	if _, _, err := r.do("deadletters", "replay", "1-0"); err == nil || !strings.Contains(err.Error(), "no dead letter") {
		t.Errorf("replay 1-0: %v", err)
	}
}

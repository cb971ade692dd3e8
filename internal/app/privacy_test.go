package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"newsletter"
)

// Export and erase match whole, normalised addresses: with
// jan@example.org suppressed, an@example.org's export has none of jan's
// audit lines, and erasing an@example.org leaves them alone.
func TestPrivacyMatchesExactAddresses(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "nieuws", false)
	mustImport(t, a, "nieuws", csvOf([]string{"an@example.org", "jan@example.org", "an@example.org.uk"}), newsletter.ImportOptions{})
	if _, err := a.Suppress(ctx, "jan@example.org", "asked by phone"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Suppress(ctx, "an@example.org.uk", "bounced by hand"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Suppress(ctx, "an@example.org", "own request"); err != nil {
		t.Fatal(err)
	}
	pd, err := a.PersonalData(ctx, "An@Example.org")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range pd.AuditLog {
		if strings.Contains(string(line), "jan@") || strings.Contains(string(line), ".uk") {
			t.Errorf("an@example.org's export holds another person's line: %s", line)
		}
	}
	if len(pd.AuditLog) != 1 {
		t.Errorf("%d audit lines for an@example.org, want its own 1", len(pd.AuditLog))
	}
	if _, err := a.Erase(ctx, "an@example.org", false); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"jan@example.org", "an@example.org.uk"} {
		pd, err := a.PersonalData(ctx, who)
		if err != nil {
			t.Fatal(err)
		}
		if len(pd.AuditLog) != 1 || !strings.Contains(string(pd.AuditLog[0]), who) {
			t.Errorf("erasing an@example.org changed %s's audit line: %s", who, pd.AuditLog)
		}
		if d, err := a.ShowSubscriber(ctx, who); err != nil || d.Subscriber == nil {
			t.Errorf("erasing an@example.org touched %s: %v", who, err)
		}
	}
}

// Erasing an address that is not stored says so and changes nothing (a
// typo must not refuse an address for ever); --block records it anyway.
func TestEraseOfUnknownAddress(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "nieuws", false)
	_, err := a.Erase(ctx, "nooit@example.org", false)
	if newsletter.ErrorCode(err) != newsletter.ENOTFOUND || !strings.Contains(err.Error(), "--block") {
		t.Fatalf("erase of an unknown address: %v", err)
	}
	if rep := mustImport(t, a, "nieuws", csvOf([]string{"nooit@example.org"}), newsletter.ImportOptions{}); rep.Imported != 1 {
		t.Fatalf("after a refused erase the address cannot be imported: %+v", rep)
	}
	if _, err := a.Erase(ctx, "ander@example.org", true); err != nil {
		t.Fatalf("erase --block: %v", err)
	}
	if rep := mustImport(t, a, "nieuws", csvOf([]string{"ander@example.org"}), newsletter.ImportOptions{}); rep.Imported != 0 || len(rep.Rejected) != 1 {
		t.Errorf("an address erased with --block was imported: %+v", rep)
	}
}

// A person who was erased can come back only by asking on the public form
// and confirming: until then the erasure holds (never mailed, never
// imported), an unconfirmed request expires with the record it made, and
// once confirmed they are a member like anyone else.
func TestErasedComeBackOnlyByConfirming(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	a.Store().UnconfirmedTTL = 7 * 24 * time.Hour
	publicList(t, a, "nieuws", false)
	const who, other = "terug@example.org", "nietterug@example.org"
	mustImport(t, a, "nieuws", csvOf([]string{who, other}), newsletter.ImportOptions{})
	for _, p := range []string{who, other} {
		if _, err := a.Erase(ctx, p, false); err != nil {
			t.Fatal(err)
		}
		if err := a.Subscribe(ctx, "nieuws", p, "192.0.2.5"); err != nil {
			t.Fatal(err)
		}
	}
	if n := confirmJobs(t, a, "nieuws"); n != 2 {
		t.Errorf("%d confirmation emails for two erased people who asked again, want 2", n)
	}
	held := func(p, when string) {
		t.Helper()
		info, err := a.Store().Deliverable(ctx, []string{p})
		if err != nil {
			t.Fatal(err)
		}
		if info[0].Why != "erased" || isMember(t, a, "nieuws", p) {
			t.Errorf("%s %s: why %q, member %v; want the erasure to hold", p, when, info[0].Why, isMember(t, a, "nieuws", p))
		}
	}
	held(who, "before confirming")
	if rep := mustImport(t, a, "nieuws", csvOf([]string{who}), newsletter.ImportOptions{}); len(rep.Rejected) != 1 {
		t.Errorf("an import before they confirmed: %+v, want it refused", rep)
	}
	if ok, err := a.Store().Confirm(ctx, who, "nieuws"); !ok || err != nil {
		t.Fatalf("confirming: %v, %v", ok, err)
	}
	if info, _ := a.Store().Deliverable(ctx, []string{who}); info[0].Why != "" || !isMember(t, a, "nieuws", who) {
		t.Errorf("after confirming: why %q, member %v; want mailable", info[0].Why, isMember(t, a, "nieuws", who))
	}
	// The other never confirms: the request and its record expire, the
	// erasure stays.
	if _, err := a.Store().ExpireUnconfirmed(ctx, time.Now().Add(8*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Store().GetSubscriber(ctx, other); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("the unconfirmed record of an erased person stays: %v", err)
	}
	held(other, "after the request expired")
	if _, err := a.Store().Confirm(ctx, other, "nieuws"); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("confirming after the request expired: %v, want not found", err)
	}
}

package app_test

import (
	"context"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/app"
)

// Audience counts what the fan-out would send: an address on two lists
// once, and nobody who unsubscribed, is blocklisted or suppressed.
func TestAudienceCountsWithoutSending(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "scholen", false)
	mustList(t, a, "bedrijven", false)
	mustImport(t, a, "scholen", csvOf([]string{"a@example.org", "b@example.org", "c@example.org", "d@example.org"}), newsletter.ImportOptions{})
	mustImport(t, a, "bedrijven", csvOf([]string{"b@example.org", "c@example.org", "e@example.org", "f@example.org"}), newsletter.ImportOptions{})
	if err := a.Unsubscribe(ctx, "d@example.org", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Suppress(ctx, "e@example.org", "bounced in a test"); err != nil {
		t.Fatal(err)
	}
	if err := a.Block(ctx, "c@example.org", "spam trap"); err != nil {
		t.Fatal(err)
	}
	got, err := a.Audience(ctx, []string{"scholen", "bedrijven"})
	if err != nil {
		t.Fatal(err)
	}
	// a, b (once), f.
	if got.Recipients != 3 || got.Duplicates != 2 {
		t.Errorf("recipients %d duplicates %d, want 3 and 2: %+v", got.Recipients, got.Duplicates, got)
	}
	if got.PerList["scholen"] != 2 || got.PerList["bedrijven"] != 1 {
		t.Errorf("per list %v", got.PerList)
	}
	if got.Excluded["unsubscribed"] != 1 || got.Excluded["suppressed"] != 1 || got.Excluded["blocklisted"] != 1 {
		t.Errorf("excluded %v", got.Excluded)
	}
	if n, err := a.QueueDepth(ctx); err != nil || n != 0 {
		t.Errorf("counting queued jobs: %d %v (nothing may be queued)", n, err)
	}
	if _, err := a.Audience(ctx, []string{"nope"}); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("unknown list: %v", err)
	}
	if _, err := a.Audience(ctx, nil); newsletter.ErrorCode(err) != newsletter.EINVALID {
		t.Errorf("no lists: %v", err)
	}
}

// A list's "subscribed" count is who would really be mailed: complained
// (suppressed), unsubscribed and blocklisted members are counted apart.
func TestListCountsWhoIsMailed(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "open", false)
	mustImport(t, a, "open", csvOf([]string{"a@example.org", "b@example.org", "c@example.org", "d@example.org", "e@example.org"}), newsletter.ImportOptions{})
	if _, err := a.Suppress(ctx, "b@example.org", "complaint"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Suppress(ctx, "c@example.org", "bounce"); err != nil {
		t.Fatal(err)
	}
	if err := a.Unsubscribe(ctx, "c@example.org", "test"); err != nil { // suppressed and unsubscribed: once
		t.Fatal(err)
	}
	if err := a.Block(ctx, "d@example.org", "test"); err != nil {
		t.Fatal(err)
	}
	ls, err := a.Lists(ctx)
	if err != nil {
		t.Fatal(err)
	}
	aud, err := a.Audience(ctx, []string{"open"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ls[0]; got.Counts.Subscribed != 2 || got.Counts.NotMailed != 3 || got.Members != 2 {
		t.Errorf("counts %+v members %d, want 2 mailed and 3 not", got.Counts, got.Members)
	}
	if ls[0].Counts.Subscribed != aud.Recipients {
		t.Errorf("the list says %d are mailed, a publish would mail %d", ls[0].Counts.Subscribed, aud.Recipients)
	}
}

// Search ignores accents and case, finds organisations and attributes,
// and an erased address leaves nothing in the index.
func TestSearchFoldsAccentsAndAttributes(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "open", false)
	mustImport(t, a, "open", "email,name,organisation,regio\n"+
		"m@example.org,Mariëtte Dubbeldam,Gemeente Zwolle,Overijssel\n"+
		"j@example.org,Jan Ökter,Café De Brug,Gelderland\n"+
		"k@example.org,Karel,ROC Twente,Overijssel\n", newsletter.ImportOptions{})
	find := func(q string) []string {
		t.Helper()
		res, err := a.SearchSubscribers(ctx, q, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, h := range res.Subscribers {
			out = append(out, h.Email)
		}
		return out
	}
	for q, want := range map[string]string{
		"mariette": "m@example.org", "MARIËTTE": "m@example.org", "dubbel": "m@example.org",
		"cafe": "j@example.org", "okter": "j@example.org", "gelderland": "j@example.org",
		"roc twente": "k@example.org", "zwolle gemeente": "m@example.org",
	} {
		if got := find(q); len(got) != 1 || got[0] != want {
			t.Errorf("search %q: %v, want %s", q, got, want)
		}
	}
	if got := find("overijssel"); len(got) != 2 {
		t.Errorf("search by attribute: %v", got)
	}
	// A renamed subscriber is found under the new name only.
	name := "Marieke"
	if err := a.UpdateSubscriber(ctx, "m@example.org", newsletter.SubscriberUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if got := find("mariette"); len(got) != 0 {
		t.Errorf("old name still found: %v", got)
	}
	if got := find("marieke"); len(got) != 1 {
		t.Errorf("new name not found: %v", got)
	}
	if _, err := a.Erase(ctx, "j@example.org", false); err != nil {
		t.Fatal(err)
	}
	members, err := a.Store().Client().ZRange(ctx, a.Store().Prefix()+"sx", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if strings.Contains(m, "j@example.org") {
			t.Errorf("erased address still in the search index: %q", m)
		}
	}
}

// A store written before the index existed gets it on the first search.
func TestSearchIndexBuiltForOldData(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "open", false)
	mustImport(t, a, "open", "email,name\nm@example.org,Mariëtte\n", newsletter.ImportOptions{})
	rdb, p := a.Store().Client(), a.Store().Prefix()
	for _, k := range []string{p + "sx", p + "sx:built"} { // one by one: on a cluster they live in other slots
		if err := rdb.Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	b := openAppWithPrefix(t, p) // a fresh process: nothing cached
	res, err := b.SearchSubscribers(ctx, "mariette", 10, "")
	if err != nil || len(res.Subscribers) != 1 {
		t.Fatalf("search after the index was lost: %+v %v", res, err)
	}
}

// A draft's subject, preheader and text can be changed until it is sent;
// what cannot be rendered is refused, and a sent edition stays as it was.
func TestUpdateDraft(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	e, _, err := a.CreateEdition(ctx, "x.md", []byte("---\nsubject: Eerst\n---\nTekst\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, body := "Nieuw onderwerp", "Hallo ├ęn tot ziens"
	got, findings, err := a.UpdateDraft(ctx, e.ID, app.DraftChange{Subject: &s, Body: &body})
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != s || got.Body != body || len(findings) != 1 || findings[0].Suggested != "é" {
		t.Errorf("draft %+v findings %+v", got, findings)
	}
	html, _, pf, _, err := a.PreviewDraft(ctx, e.ID, app.DraftChange{Body: new("Nog niet bewaard")})
	if err != nil || !strings.Contains(string(html), "Nog niet bewaard") || len(pf) != 0 {
		t.Errorf("preview of unsaved text: %v %v", pf, err)
	}
	if stored, _ := a.GetEdition(ctx, e.ID); stored.Body != body {
		t.Errorf("a preview stored the text: %q", stored.Body)
	}
	empty := " "
	if _, _, err := a.UpdateDraft(ctx, e.ID, app.DraftChange{Subject: &empty}); newsletter.ErrorCode(err) != newsletter.EINVALID {
		t.Errorf("empty subject: %v", err)
	}
	if _, err := a.Cancel(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.UpdateDraft(ctx, e.ID, app.DraftChange{Subject: &s}); newsletter.ErrorCode(err) != newsletter.ECONFLICT {
		t.Errorf("changing a cancelled edition: %v", err)
	}
}

// "Send again to the failed ones" queues exactly the failed deliveries,
// once.
func TestResendFailed(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "open", false)
	e, _, err := a.CreateEdition(ctx, "x.md", []byte("---\nsubject: Mislukt\n---\nTekst\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Store().Freeze(ctx, e.ID, []string{"open"}); err != nil {
		t.Fatal(err)
	}
	q := []newsletter.DeliveryState{newsletter.DeliveryQueued}
	if _, err := a.Store().Transition(ctx, e.ID, []newsletter.Transition{
		{Email: "f@example.org", To: newsletter.DeliveryQueued},
		{Email: "f@example.org", From: q, To: newsletter.DeliveryFailed, Reason: "rejected"},
		{Email: "s@example.org", To: newsletter.DeliveryQueued},
		{Email: "s@example.org", From: q, To: newsletter.DeliverySent},
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := a.QueueDepth(ctx)
	n, err := a.ResendFailed(ctx, e.ID)
	if err != nil || n != 1 {
		t.Fatalf("resend failed: %d %v, want 1", n, err)
	}
	if d, _ := a.Store().GetDelivery(ctx, e.ID, "f@example.org"); d.State != newsletter.DeliveryQueued {
		t.Errorf("the failed delivery is %s, want queued", d.State)
	}
	if d, _ := a.Store().GetDelivery(ctx, e.ID, "s@example.org"); d.State != newsletter.DeliverySent {
		t.Errorf("the sent delivery is %s", d.State)
	}
	if after, _ := a.QueueDepth(ctx); after != before+1 {
		t.Errorf("queue depth %d → %d, want one job more", before, after)
	}
	if n, _ := a.ResendFailed(ctx, e.ID); n != 0 {
		t.Errorf("a second resend queued %d", n)
	}
}

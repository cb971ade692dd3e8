package app_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/workers"
)

// RFC 8058 lets mail providers send the one-click POST as
// multipart/form-data as well as urlencoded: both unsubscribe.
func TestOneClickMultipartFormData(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	ctx := context.Background()
	mustList(t, a, "open", false)
	const who = "marieke@example.org"
	mustImport(t, a, "open", csvOf([]string{who}), newsletter.ImportOptions{})
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("List-Unsubscribe", "One-Click"); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, a.Links.Unsubscribe(who, "ed1"), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("multipart one-click POST: %d", resp.StatusCode)
	}
	if sub, _, _ := a.Store().GetSubscriber(ctx, who); sub.Status != newsletter.SubscriberUnsubscribed {
		t.Errorf("status %s after a multipart one-click, want unsubscribed", sub.Status)
	}
}

// The Atom feed carries the editor's preheader as text: a feed reader must
// not interpret it as HTML.
func TestAtomFeedSummaryIsText(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.App
	seedList(t, a, "algemeen", "lezer@example.org")
	e, _, err := a.CreateEdition(ctx, "feed.md", []byte("---\nsubject: Feed\npreheader: <img src=x onerror=alert(1)> & meer\n---\nTekst.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Publish(ctx, e.ID, []string{"algemeen"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitSent(e.ID)
	resp, err := http.Get(h.HTTP.URL + "/archive/feed.atom")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var feed struct {
		Entries []struct {
			Summary struct {
				Type string `xml:"type,attr"`
				Text string `xml:",chardata"`
			} `xml:"summary"`
		} `xml:"entry"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&feed); err != nil {
		t.Fatal(err)
	}
	if len(feed.Entries) != 1 {
		t.Fatalf("%d entries", len(feed.Entries))
	}
	s := feed.Entries[0].Summary
	if s.Type != "text" || s.Text != "<img src=x onerror=alert(1)> & meer" {
		t.Errorf("summary type %q text %q, want the preheader as text", s.Type, s.Text)
	}
}

func publicList(t *testing.T, a *app.App, slug string, doi bool) {
	t.Helper()
	if _, err := a.CreateList(context.Background(), newsletter.List{Slug: slug, Name: "Lijst " + slug, Public: true, DoubleOptIn: doi}); err != nil {
		t.Fatal(err)
	}
}

// Unsubscribed from everything by one click, a partner ticks two of their
// three lists: exactly those two are subscribed, the third stays left.
func TestPreferencesSubscribeExactlyTheTickedLists(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	ctx := context.Background()
	const who = "petra@example.org"
	for _, l := range []string{"a", "b", "c"} {
		publicList(t, a, l, false)
		mustImport(t, a, l, csvOf([]string{who}), newsletter.ImportOptions{})
	}
	c := &http.Client{}
	if resp, _ := postForm(t, c, a.Links.Unsubscribe(who, "ed1"), url.Values{"List-Unsubscribe": {"One-Click"}}); resp.StatusCode != 200 {
		t.Fatalf("one-click: %d", resp.StatusCode)
	}
	resp, body := postForm(t, c, a.Links.Preferences(who), url.Values{"list": {"a", "b"}})
	if resp.StatusCode != 200 {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	ms := memberships(t, a, who)
	if ms["a"] != newsletter.MemberSubscribed || ms["b"] != newsletter.MemberSubscribed || ms["c"] != newsletter.MemberUnsubscribed {
		t.Errorf("memberships after ticking a and b: %v", ms)
	}
	if isMember(t, a, "c", who) {
		t.Error("c, left unticked, is subscribed again")
	}
	if strings.Count(body, "checked") != 2 || strings.Contains(body, `value="c" checked`) {
		t.Errorf("the saved page shows the wrong lists ticked")
	}
	if sub, _, _ := a.Store().GetSubscriber(ctx, who); sub.Status != newsletter.SubscriberActive {
		t.Errorf("status %s, want active (the partner chose lists again)", sub.Status)
	}
}

// Anyone can post an address to /subscribe: that never weakens the
// person's recorded opt-out. Only their own confirmation does.
func TestAnonymousSubscribeKeepsOptOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	ctx := context.Background()
	const who = "kees@example.org"
	publicList(t, a, "nieuws", false)
	publicList(t, a, "agenda", false)
	mustImport(t, a, "nieuws", csvOf([]string{who}), newsletter.ImportOptions{})
	mustImport(t, a, "agenda", csvOf([]string{who}), newsletter.ImportOptions{})
	c := &http.Client{}
	postForm(t, c, a.Links.Preferences(who), url.Values{"list": {"agenda"}}) // leaves nieuws
	if ms := memberships(t, a, who); ms["nieuws"] != newsletter.MemberUnsubscribed {
		t.Fatalf("after leaving: %v", ms)
	}
	if rep := mustImport(t, a, "nieuws", csvOf([]string{who}), newsletter.ImportOptions{}); rep.Updated+rep.Imported != 0 {
		t.Fatalf("an import re-subscribed a partner who left: %+v", rep)
	}
	resp, _ := postForm(t, c, h.HTTP.URL+"/subscribe", url.Values{"list": {"nieuws"}, "email": {who}})
	if resp.StatusCode != 200 {
		t.Fatalf("subscribe form: %d", resp.StatusCode)
	}
	if ms := memberships(t, a, who); ms["nieuws"] != newsletter.MemberUnsubscribed {
		t.Errorf("an anonymous request changed the opt-out to %q", ms["nieuws"])
	}
	if rep := mustImport(t, a, "nieuws", csvOf([]string{who}), newsletter.ImportOptions{}); rep.Updated+rep.Imported != 0 || len(rep.Rejected) != 1 {
		t.Errorf("after an anonymous request an import re-subscribed: %+v", rep)
	}
	if isMember(t, a, "nieuws", who) {
		t.Error("mailed again without confirming")
	}
	// The person follows the emailed link and confirms: now they are back.
	if resp, _ := postForm(t, c, a.Links.Confirm(who, "nieuws"), url.Values{"confirm": {"1"}}); resp.StatusCode != 200 {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	if ms := memberships(t, a, who); ms["nieuws"] != newsletter.MemberSubscribed || !isMember(t, a, "nieuws", who) {
		t.Errorf("after the person's own confirmation: %v", ms)
	}
	_ = ctx
}

// The preferences page offers the public lists and the partner's own,
// never an internal list they are not on, and a forged tick of one
// subscribes nothing.
func TestPreferencesOfferPublicAndOwnListsOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	const who = "anouk@example.org"
	publicList(t, a, "openbaar", false)
	mustList(t, a, "bestuur", false) // internal, anouk is on it
	mustList(t, a, "intern", false)  // internal, anouk is not
	mustImport(t, a, "bestuur", csvOf([]string{who}), newsletter.ImportOptions{})
	c := &http.Client{}
	_, body := get(t, c, a.Links.Preferences(who))
	if !strings.Contains(body, `value="openbaar"`) || !strings.Contains(body, `value="bestuur"`) || strings.Contains(body, `value="intern"`) {
		t.Fatalf("offered lists wrong: %s", body)
	}
	postForm(t, c, a.Links.Preferences(who), url.Values{"list": {"bestuur", "intern"}})
	if ms := memberships(t, a, who); ms["intern"] != "" || isMember(t, a, "intern", who) {
		t.Errorf("a forged tick subscribed to an internal list: %v", ms)
	}
}

// Ticking a double opt-in list sends a confirmation instead of
// subscribing at once.
func TestPreferencesDoubleOptInListAsksToConfirm(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	const who = "ruud@example.org"
	publicList(t, a, "open", false)
	publicList(t, a, "besloten", true)
	mustImport(t, a, "open", csvOf([]string{who}), newsletter.ImportOptions{})
	c := &http.Client{}
	_, body := postForm(t, c, a.Links.Preferences(who), url.Values{"list": {"open", "besloten"}})
	if ms := memberships(t, a, who); ms["besloten"] == newsletter.MemberSubscribed || isMember(t, a, "besloten", who) {
		t.Fatalf("subscribed to a double opt-in list without confirming: %v", ms)
	}
	if !strings.Contains(body, "bevestiging") {
		t.Errorf("the page does not say a confirmation is pending")
	}
	h.waitIdle()
	var confirms int
	for _, m := range h.SES.Messages() {
		if len(m.To) == 1 && m.To[0] == who {
			confirms++
		}
	}
	if confirms != 1 {
		t.Errorf("%d confirmation emails to %s, want 1", confirms, who)
	}
}

// A preferences link older than its age asks to email a fresh one; the
// fresh one works; one-click unsubscribe links never expire.
func TestExpiredPreferencesLinkOffersAFreshOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *app.Config) { c.PreferencesLinkAge = 90 * 24 * time.Hour })
	a := h.App
	const who = "oud@example.org"
	publicList(t, a, "nieuws", false)
	mustImport(t, a, "nieuws", csvOf([]string{who, "ander@example.org"}), newsletter.ImportOptions{})
	past := *a.Links
	past.Now = func() time.Time { return time.Now().Add(-91 * 24 * time.Hour) }
	past.PreferencesAge = 90 * 24 * time.Hour
	old := past.Preferences(who)
	c := &http.Client{}
	resp, body := get(t, c, old)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "verlopen") || !strings.Contains(body, "/renew") {
		t.Fatalf("expired link page: %d %s", resp.StatusCode, body)
	}
	// Saving through an expired link changes nothing.
	postForm(t, c, old, url.Values{})
	if ms := memberships(t, a, who); ms["nieuws"] != newsletter.MemberSubscribed {
		t.Fatalf("an expired link changed the lists: %v", ms)
	}
	resp, body = postForm(t, c, old+"/renew", url.Values{})
	if resp.StatusCode != 200 || !strings.Contains(body, "nieuwe link") {
		t.Fatalf("renew: %d %s", resp.StatusCode, body)
	}
	postForm(t, c, old+"/renew", url.Values{}) // asked twice: still one email
	h.waitIdle()
	var fresh []string
	for _, m := range h.SES.Messages() {
		if len(m.To) == 1 && m.To[0] == who && m.Tags["kind"] == workers.JobPreferencesLink {
			fresh = append(fresh, m.Text)
		}
	}
	if len(fresh) != 1 {
		t.Fatalf("%d fresh-link emails, want 1", len(fresh))
	}
	i := strings.Index(fresh[0], h.App.Cfg.BaseURL+"/p/")
	if i < 0 {
		t.Fatalf("no preferences link in %q", fresh[0])
	}
	link := strings.Fields(fresh[0][i:])[0]
	if resp, body := get(t, c, link); resp.StatusCode != 200 || !strings.Contains(body, `value="nieuws"`) {
		t.Errorf("the fresh link: %d %.200s", resp.StatusCode, body)
	}
	// One-click links carry no expiry.
	if resp, _ := postForm(t, c, a.Links.Unsubscribe("ander@example.org", "ed1"), url.Values{"List-Unsubscribe": {"One-Click"}}); resp.StatusCode != 200 {
		t.Errorf("one-click: %d", resp.StatusCode)
	}
}

// An admin cannot undo a partner's opt-out (CLI `subscribers update
// --status active`, the admin API): the status stays unsubscribed and the
// error says who can. An admin may record an opt-out on someone's behalf,
// and lift a block of their own.
func TestAdminCannotUndoAnOptOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	ctx := context.Background()
	publicList(t, a, "nieuws", false)
	mustImport(t, a, "nieuws", csvOf([]string{"kees@example.org", "els@example.org", "piet@example.org"}), newsletter.ImportOptions{})
	if err := a.Unsubscribe(ctx, "kees@example.org", "one-click"); err != nil {
		t.Fatal(err)
	}
	active, unsub := newsletter.SubscriberActive, newsletter.SubscriberUnsubscribed
	err := a.UpdateSubscriber(ctx, "kees@example.org", newsletter.SubscriberUpdate{Status: &active})
	if newsletter.ErrorCode(err) != newsletter.ECONFLICT || !strings.Contains(err.Error(), "only they can undo") {
		t.Errorf("admin reactivation of an opt-out: %v, want a conflict that says only the person can undo it", err)
	}
	if sub, _, _ := a.Store().GetSubscriber(ctx, "kees@example.org"); sub.Status != unsub {
		t.Errorf("status after the refused reactivation: %s, want unsubscribed", sub.Status)
	}
	// Recording an opt-out someone asked for by phone is fine.
	if err := a.UpdateSubscriber(ctx, "els@example.org", newsletter.SubscriberUpdate{Status: &unsub}); err != nil {
		t.Errorf("admin records an opt-out: %v", err)
	}
	// Lifting an admin's own block is fine too.
	if err := a.Block(ctx, "piet@example.org", "asked by mistake"); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateSubscriber(ctx, "piet@example.org", newsletter.SubscriberUpdate{Status: &active}); err != nil {
		t.Errorf("admin lifts a block: %v", err)
	}
	if sub, _, _ := a.Store().GetSubscriber(ctx, "piet@example.org"); sub.Status != active {
		t.Errorf("status after lifting the block: %s, want active", sub.Status)
	}
	// A block put over an opt-out does not erase it: lifting the block
	// returns the address to unsubscribed, never to active.
	if err := a.Block(ctx, "kees@example.org", "complaints by phone"); err != nil {
		t.Fatal(err)
	}
	err = a.UpdateSubscriber(ctx, "kees@example.org", newsletter.SubscriberUpdate{Status: &active})
	if newsletter.ErrorCode(err) != newsletter.ECONFLICT || !strings.Contains(err.Error(), "--status unsubscribed") {
		t.Errorf("lifting a block over an opt-out to active: %v, want a conflict that says to lift it to unsubscribed", err)
	}
	if err := a.UpdateSubscriber(ctx, "kees@example.org", newsletter.SubscriberUpdate{Status: &unsub}); err != nil {
		t.Errorf("lifting the block to unsubscribed: %v", err)
	}
	if sub, _, _ := a.Store().GetSubscriber(ctx, "kees@example.org"); sub.Status != unsub {
		t.Errorf("status after lifting the block: %s, want unsubscribed", sub.Status)
	}
	if err := a.UpdateSubscriber(ctx, "kees@example.org", newsletter.SubscriberUpdate{Status: &active}); newsletter.ErrorCode(err) != newsletter.ECONFLICT {
		t.Errorf("reactivation after the block was lifted: %v, want a conflict", err)
	}
	// An import with the override does not undo it either: it lifts the
	// block back to the opt-out and asks them to confirm. Their
	// confirmation does; a later block then lifts to active again.
	if err := a.Block(ctx, "kees@example.org", "again"); err != nil {
		t.Fatal(err)
	}
	if rep := mustImport(t, a, "nieuws", csvOf([]string{"kees@example.org"}), newsletter.ImportOptions{Override: true}); rep.ToConfirm != 1 {
		t.Errorf("import with override over a block over an opt-out: %+v, want them asked to confirm", rep)
	}
	if sub, _, _ := a.Store().GetSubscriber(ctx, "kees@example.org"); sub.Status != unsub {
		t.Errorf("status after the import with override: %s, want unsubscribed until they confirm", sub.Status)
	}
	if info, _ := a.Store().Deliverable(ctx, []string{"kees@example.org"}); info[0].Why == "" {
		t.Error("mailable after the import with override, before confirming")
	}
	if ok, err := a.Store().Confirm(ctx, "kees@example.org", "nieuws"); !ok || err != nil {
		t.Fatalf("confirming: %v, %v", ok, err)
	}
	if err := a.Block(ctx, "kees@example.org", "once more"); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateSubscriber(ctx, "kees@example.org", newsletter.SubscriberUpdate{Status: &active}); err != nil {
		t.Errorf("lifting a block put over an active address after the override: %v", err)
	}
}

// A person who unsubscribed from everything and then opts into one list
// (the preferences page, or confirming a subscription: the public form, an
// admin's override) gets that list, not the others they had before.
func TestOptingBackIntoOneListIsOnlyThatList(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	for _, l := range []string{"bedrijven", "onderwijs", "overheid"} {
		mustList(t, a, l, false)
		mustImport(t, a, l, csvOf([]string{"prefs@example.org", "form@example.org", "admin@example.org"}), newsletter.ImportOptions{})
	}
	for _, p := range []string{"prefs@example.org", "form@example.org", "admin@example.org"} {
		if err := a.Store().Unsubscribe(ctx, p, "", "one-click"); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Store().SetMembership(ctx, "prefs@example.org", "onderwijs", true); err != nil {
		t.Fatal(err)
	}
	if asked, err := a.Store().RequestMembership(ctx, "form@example.org", "onderwijs"); err != nil || !asked {
		t.Fatalf("public form: asked %v, %v", asked, err)
	}
	if _, err := a.AddSubscriber(ctx, "onderwijs", app.AddInput{Email: "admin@example.org", Override: true}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"form@example.org", "admin@example.org"} {
		if ok, err := a.Store().Confirm(ctx, p, "onderwijs"); !ok || err != nil {
			t.Fatalf("%s confirming: %v, %v", p, ok, err)
		}
	}
	for _, p := range []string{"prefs@example.org", "form@example.org", "admin@example.org"} {
		sub, ms, err := a.Store().GetSubscriber(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if sub.Status != newsletter.SubscriberActive {
			t.Errorf("%s: status %s, want active", p, sub.Status)
		}
		want := map[string]newsletter.MembershipStatus{"bedrijven": newsletter.MemberUnsubscribed, "onderwijs": newsletter.MemberSubscribed, "overheid": newsletter.MemberUnsubscribed}
		for l, m := range want {
			if ms[l] != m || isMember(t, a, l, p) != (m == newsletter.MemberSubscribed) {
				t.Errorf("%s on %s: %s (member set: %v), want %s", p, l, ms[l], isMember(t, a, l, p), m)
			}
		}
	}
}

// Unsubscribing from everything also withdraws the requests not confirmed
// yet: a confirmation link emailed before cannot undo the opt-out.
func TestOptOutFromEverythingWithdrawsPendingRequests(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	const who = "later@example.org"
	for _, l := range []string{"nieuws", "agenda", "vacatures"} {
		publicList(t, a, l, false)
	}
	mustImport(t, a, "nieuws", csvOf([]string{who}), newsletter.ImportOptions{})
	mustImport(t, a, "vacatures", csvOf([]string{who}), newsletter.ImportOptions{})
	if err := a.Store().Unsubscribe(ctx, who, "vacatures", "preferences"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"agenda", "vacatures"} { // a new list, and one they had left
		if asked, err := a.Store().RequestMembership(ctx, who, l); err != nil || !asked {
			t.Fatalf("request for %s: %v, %v", l, asked, err)
		}
	}
	if err := a.Store().Unsubscribe(ctx, who, "", "one-click"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"agenda", "vacatures"} {
		if ok, err := a.Store().Confirm(ctx, who, l); ok || newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
			t.Errorf("confirming %s after the opt-out from everything: %v, %v; want nothing to confirm", l, ok, err)
		}
	}
	sub, ms, err := a.Store().GetSubscriber(ctx, who)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != newsletter.SubscriberUnsubscribed || ms["agenda"] != newsletter.MemberUnsubscribed || isMember(t, a, "agenda", who) {
		t.Errorf("after the opt-out and the old links: status %s, memberships %v", sub.Status, ms)
	}
	// Asking again afterwards, and confirming that, is their own new opt-in.
	if asked, err := a.Store().RequestMembership(ctx, who, "agenda"); err != nil || !asked {
		t.Fatalf("a new request: %v, %v", asked, err)
	}
	if ok, err := a.Store().Confirm(ctx, who, "agenda"); !ok || err != nil {
		t.Errorf("confirming the new request: %v, %v", ok, err)
	}
}

// An import's override that lifts a block leaves the same trace as an
// admin lifting it by hand: an "unblock" in the address's history, for a
// plain block and for one over an opt-out alike.
func TestImportOverrideRecordsTheUnblock(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "nieuws", false)
	people := []string{"blok@example.org", "blokweg@example.org"}
	mustImport(t, a, "nieuws", csvOf(people), newsletter.ImportOptions{})
	if err := a.Store().Unsubscribe(ctx, "blokweg@example.org", "", "one-click"); err != nil {
		t.Fatal(err)
	}
	for _, p := range people {
		if err := a.Block(ctx, p, "by phone"); err != nil {
			t.Fatal(err)
		}
	}
	mustImport(t, a, "nieuws", csvOf(people), newsletter.ImportOptions{Override: true})
	for _, p := range people {
		pd, err := a.Store().PersonalData(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		unblocks := 0
		for _, line := range pd.AuditLog {
			if strings.Contains(string(line), `"action":"unblock"`) {
				unblocks++
			}
		}
		if unblocks != 1 {
			t.Errorf("%s: %d unblock entries after the import's override, want 1: %s", p, unblocks, pd.AuditLog)
		}
	}
}

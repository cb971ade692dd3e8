package app_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"mime/multipart"
	"net/http"
	"testing"

	"newsletter"
	"newsletter/internal/app"
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

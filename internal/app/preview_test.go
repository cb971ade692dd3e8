package app_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/seedtest"
)

// The preview shows the email for a recipient with a name and one
// without, and counts the lists' subscribers that have no name.
func TestPreviewVariants(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "bedrijven", false)
	mustList(t, a, "onderwijs", false)
	mustImport(t, a, "bedrijven", "email,name\nanna@example.org,Anna\npiet@example.org,\nkees@example.org,\n", newsletter.ImportOptions{})
	mustImport(t, a, "onderwijs", "email,name\npiet@example.org,\nzoe@example.org,Zoë\n", newsletter.ImportOptions{})

	personal, _, err := a.CreateEdition(ctx, "p.md", []byte("---\nsubject: Met naam\ngreeting: Beste {naam},\n---\nTekst.\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.PreviewVariants(ctx, personal.ID, []string{"bedrijven", "onderwijs"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Personal || len(res.Variants) != 2 || res.Recipients != 4 || res.WithoutName != 2 {
		t.Fatalf("preview: personal %v, %d variants, %d recipients, %d without a name; want true, 2, 4, 2", res.Personal, len(res.Variants), res.Recipients, res.WithoutName)
	}
	for i, want := range []string{"Beste " + app.PreviewSampleName + ",", "Beste partner,"} {
		v := res.Variants[i]
		if v.Greeting != want || !strings.Contains(string(v.HTML), ">"+want+"<") || !strings.Contains(string(v.Text), want+"\n") {
			t.Errorf("variant %s: greeting %q, want %q in both parts", v.Label, v.Greeting, want)
		}
	}

	fixed, _, err := a.CreateEdition(ctx, seedtest.Fixture(t, "afscheid.txt"), mustRead(t, seedtest.Fixture(t, "afscheid.txt")))
	if err != nil {
		t.Fatal(err)
	}
	res, err = a.PreviewVariants(ctx, fixed.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range res.Variants {
		if res.Personal || v.Greeting != "" || strings.Contains(string(v.Text), app.PreviewSampleName) || strings.Contains(string(v.Text), "Beste") {
			t.Errorf("an edition without a salutation got one in variant %s:\n%s", v.Label, v.Text)
		}
	}
	if _, err := a.PreviewVariants(ctx, fixed.ID, []string{"geen-lijst"}); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("unknown list: %v, want ENOTFOUND", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

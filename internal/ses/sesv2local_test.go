package ses_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/render"
)

// sesv2LocalVersion is the third-party SES v2 emulator the bulk path is
// checked against (npm package aws-ses-v2-local): it renders templates with
// Handlebars without escaping, as SES does.
const sesv2LocalVersion = "2.10.2"

// startSESv2Local installs the emulator into the user's cache (once) and
// runs it on a free port. Without node and npm, or without the npm
// registry, the test is skipped and says why.
func startSESv2Local(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("aws-ses-v2-local needs %s on the PATH (apt-get install nodejs npm); the embedded endpoint's tests cover the same rendering", tool)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "newsletter-test", "aws-ses-v2-local@"+sesv2LocalVersion)
	bin := filepath.Join(dir, "node_modules", ".bin", "aws-ses-v2-local")
	if _, err := os.Stat(bin); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "aws-ses-v2-local@"+sesv2LocalVersion).CombinedOutput()
		if err != nil {
			t.Skipf("cannot install aws-ses-v2-local@%s from the npm registry (%v): %s", sesv2LocalVersion, err, bytes.TrimSpace(out))
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("node", bin, "--host", "127.0.0.1", "--port", fmt.Sprint(port))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/store")
		if err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("aws-ses-v2-local did not answer within 30 s: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond) // polling a child process for readiness
	}
}

// End to end against aws-ses-v2-local: the edition rendered once as an SES
// template, a bulk call with a recipient whose name needs escaping and an
// edition whose own text has "{{": what the emulator renders is exactly
// what the single-send path would have sent, with each entry's headers.
func TestBulkAgainstSESv2Local(t *testing.T) {
	url := startSESv2Local(t)
	r, err := render.New(render.Brand{ProductName: "Leerwerkakkoord", ProductLink: "https://example.org"})
	if err != nil {
		t.Fatal(err)
	}
	e := &newsletter.Edition{ID: "e1", Subject: "Nieuws {{niet}} \\{", Language: "nl", Format: "markdown",
		Title: "Titel", Body: "Schrijf {{naam}} of {{{x}}} en }} of \\\\{{y}}, of { alleen."}
	tmpl, err := r.Render(e)
	if err != nil {
		t.Fatal(err)
	}
	// Whole URLs as variables (escaped and raw), and the links' shared
	// beginnings in the template with only each recipient's token as a
	// variable, as the send step does.
	rounds := []struct {
		links  render.SESLinks
		people []render.Personal
		to     []string
	}{
		{render.SESLinks{}, []render.Personal{
			{Name: `Jan & "Piet" <b>{{lb}}`, UnsubscribeURL: "https://example.org/u/a?x=1&y=2", PreferencesURL: "https://example.org/p/a", WebURL: "https://example.org/w/e1"},
			{Name: "", UnsubscribeURL: "https://example.org/u/b", PreferencesURL: "https://example.org/p/b", WebURL: "https://example.org/w/e1"},
		}, []string{"a@example.org", "b@example.org"}},
		{render.SESLinks{Unsubscribe: "https://example.org/u/", Preferences: "https://example.org/p/"}, []render.Personal{
			{Name: `Jan & "Piet" <b>{{lb}}`, UnsubscribeURL: "https://example.org/u/AZaz09-_.~", PreferencesURL: "https://example.org/p/Tok-en_1", WebURL: "https://example.org/w/e1"},
			{Name: "", UnsubscribeURL: "https://example.org/u/b", PreferencesURL: "https://example.org/p/b", WebURL: "https://example.org/w/e1"},
		}, []string{"c@example.org", "d@example.org"}},
	}
	for _, rd := range rounds {
		c := tmpl.SES(rd.people[0].WebURL, rd.links)
		m := &newsletter.BulkEmail{From: "nieuwsbrief@example.org", Subject: c.Subject, HTML: c.HTML, Text: c.Text,
			Headers: [][2]string{{"List-Id", "<n.example.org>"}}}
		for i, p := range rd.people {
			data, ok := tmpl.AppendSESData(nil, p, rd.links)
			if !ok {
				t.Fatalf("%s: AppendSESData refused %+v with %+v", rd.to[i], p, rd.links)
			}
			m.Entries = append(m.Entries, newsletter.BulkEntry{To: rd.to[i], Data: data,
				Headers: [][2]string{{"List-Unsubscribe", "<" + p.UnsubscribeURL + ">"}, {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}},
				Tags:    map[string]string{"edition_id": "e1"}})
		}
		res, err := sender(url, 10*time.Second).SendBulk(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil || r.MessageID == "" {
				t.Fatalf("entry %d: %+v", i, r)
			}
		}
		checkSESv2LocalStore(t, url, e, tmpl, rd.people, rd.to)
	}
}

// checkSESv2LocalStore checks that the emulator holds one email to each of
// to, rendered exactly as the single-send path renders it for people.
func checkSESv2LocalStore(t *testing.T, url string, e *newsletter.Edition, tmpl *render.Template, people []render.Personal, to []string) {
	t.Helper()
	resp, err := http.Get(url + "/store")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var store struct {
		Emails []struct {
			MessageID   string `json:"messageId"`
			Destination struct{ To []string }
			Subject     string
			Body        struct{ HTML, Text string }
			Headers     []struct{ Name, Value string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, got := range store.Emails {
		i := slices.Index(to, strings.Join(got.Destination.To, ","))
		if i < 0 {
			continue
		}
		found++
		wantHTML, wantText := tmpl.Personalise(people[i])
		if got.Subject != e.Subject {
			t.Errorf("%s: subject %q, want %q", to[i], got.Subject, e.Subject)
		}
		if got.Body.HTML != string(wantHTML) {
			t.Errorf("%s: the emulator's HTML differs from the single send's", to[i])
		}
		if got.Body.Text != string(wantText) {
			t.Errorf("%s: the emulator's text differs from the single send's:\n%s\n---\n%s", to[i], got.Body.Text, wantText)
		}
		hs := map[string]string{}
		for _, h := range got.Headers {
			hs[h.Name] = h.Value
		}
		if hs["List-Unsubscribe"] != "<"+people[i].UnsubscribeURL+">" || hs["List-Unsubscribe-Post"] == "" || hs["List-Id"] == "" {
			t.Errorf("%s: headers %v, want its own List-Unsubscribe, List-Unsubscribe-Post and the template's List-Id", to[i], hs)
		}
	}
	if found != len(to) {
		t.Fatalf("the emulator holds %d emails to %v, want %d", found, to, len(to))
	}
}

package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"newsletter/internal/cli"
	"newsletter/internal/redistest"
	"newsletter/internal/seedtest"
)

type run struct {
	t      *testing.T
	prefix string
	dir    string
}

// newRun isolates a test: its own key prefix and no settings from the
// machine's environment.
func newRun(t *testing.T) *run {
	for _, k := range []string{"NEWSLETTER_FROM", "NEWSLETTER_BASE_URL", "NEWSLETTER_SECRET", "NEWSLETTER_SES_RATE",
		"AWS_ENDPOINT_URL_SESV2", "NEWSLETTER_ADMIN_TOKEN", "NEWSLETTER_HTTP_ADDR"} {
		t.Setenv(k, "")
	}
	r := &run{t: t, prefix: redistest.Prefix(t), dir: t.TempDir()}
	t.Setenv("NEWSLETTER_REDIS_URL", redistest.URL(t))
	t.Setenv("NEWSLETTER_REDIS_PREFIX", r.prefix)
	return r
}

func (r *run) do(args ...string) (stdout, stderr string, err error) {
	r.t.Helper()
	var o, e bytes.Buffer
	err = cli.Run(context.Background(), args, cli.Env{Stdout: &o, Stderr: &e, DevDir: filepath.Join(r.dir, "dev-data")})
	return o.String(), e.String(), err
}

func (r *run) ok(args ...string) string {
	r.t.Helper()
	out, _, err := r.do(args...)
	if err != nil {
		r.t.Fatalf("newsletter %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (r *run) file(name, content string) string {
	p := filepath.Join(r.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
	return p
}

// failsWith checks the error is one line and names the problem.
func (r *run) failsWith(want string, args ...string) {
	r.t.Helper()
	_, _, err := r.do(args...)
	if err == nil {
		r.t.Fatalf("newsletter %s succeeded, want an error about %q", strings.Join(args, " "), want)
	}
	if strings.Contains(err.Error(), "\n") {
		r.t.Errorf("error is not one line: %q", err)
	}
	if !strings.Contains(err.Error(), want) {
		r.t.Errorf("newsletter %s: error %q does not mention %q", strings.Join(args, " "), err, want)
	}
}

func (r *run) streamLen(topic string) int64 {
	c := redistest.Client(r.t)
	n, _ := c.XLen(context.Background(), r.prefix+topic).Result()
	return n
}

func TestBadInput(t *testing.T) {
	r := newRun(t)
	r.ok("lists", "create", "bedrijven", "--name", "Bedrijven")
	r.ok("lists", "create", "leeg", "--name", "Lege lijst")
	r.ok("subscribers", "import", "--list", "bedrijven", r.file("p.csv", "email,name\njan@example.org,Jan\n"))
	md := r.file("ok.md", "---\nsubject: Hallo\n---\nTekst.\n")
	id := strings.TrimSpace(r.ok("editions", "create", "--file", md))

	r.failsWith("empty", "editions", "create", "--file", r.file("empty.md", ""))
	r.failsWith("subject", "editions", "create", "--file", r.file("nosubject.md", "---\npreheader: x\n---\nTekst.\n"))
	r.failsWith("body", "editions", "create", "--file", r.file("nobody.md", "---\nsubject: Leeg\n---\n\n"))
	r.failsWith("cannot read", "editions", "create", "--file", filepath.Join(r.dir, "missing.md"))
	r.failsWith("list \"onbekend\" does not exist", "editions", "publish", id, "--lists", "onbekend")
	r.failsWith("no subscribers", "editions", "publish", id, "--lists", "leeg")
	r.failsWith("--lists", "editions", "publish", id)
	r.failsWith("does not exist", "editions", "status", "nope")
	r.failsWith("RFC 3339", "editions", "publish", id, "--lists", "bedrijven", "--at", "morgen")
	r.failsWith("already exists", "lists", "create", "bedrijven")
	r.failsWith("slug", "lists", "create", "Met Spaties")
	r.failsWith("--list", "subscribers", "import", r.file("q.csv", "email\na@example.org\n"))
	r.failsWith("email column", "subscribers", "import", "--list", "bedrijven", r.file("noemail.csv", "naam\nJan\n"))
	r.failsWith("usage", "editions", "preview")
	// Nothing was half-enqueued by any of the failures.
	if n := r.streamLen("newsletter.editions.published.v1"); n != 0 {
		t.Errorf("failed publishes left %d messages on the stream", n)
	}
	out := r.ok("editions", "status", id, "--json")
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if st["state"] != "draft" {
		t.Errorf("edition state after failed publishes: %v, want draft", st["state"])
	}
}

func TestWorkNeedsSettings(t *testing.T) {
	r := newRun(t)
	r.failsWith("NEWSLETTER_SECRET", "work")
	t.Setenv("NEWSLETTER_SECRET", strings.Repeat("s", 40))
	t.Setenv("NEWSLETTER_BASE_URL", "https://nieuwsbrief.example.org")
	r.failsWith("NEWSLETTER_FROM", "work")
	t.Setenv("NEWSLETTER_FROM", "Nieuwsbrief <nieuwsbrief@example.org>")
	// SES endpoint down: a closed port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv("AWS_ENDPOINT_URL_SESV2", "http://"+addr)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "y")
	r.failsWith("SES is not reachable", "work")
}

func TestUnreachableRedis(t *testing.T) {
	r := newRun(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv("NEWSLETTER_REDIS_URL", "redis://"+addr+"/0")
	r.failsWith("NEWSLETTER_REDIS_URL", "lists", "ls")
	t.Setenv("NEWSLETTER_REDIS_URL", "")
	r.failsWith("NEWSLETTER_REDIS_URL is not set", "lists", "ls")
	t.Setenv("NEWSLETTER_REDIS_URL", "http://nope")
	r.failsWith("redis://", "lists", "ls")
}

func TestImportReportsRejectedRowsAndExitsZero(t *testing.T) {
	r := newRun(t)
	r.ok("lists", "create", "onderwijs")
	csv := "\ufeffe-mailadres;naam;organisatie\n" +
		"a@example.org;Anna;School A\n" +
		"Jan <jan@example.org>;Jan;School B\n" +
		"niet-een-adres;Nee;School C\n" +
		"A@Example.org;Anna dubbel;School A\n" +
		"info@bücher.de;Bücher;Uitgever\n"
	out := r.ok("subscribers", "import", "--list", "onderwijs", "--json", r.file("s.csv", csv))
	var rep struct {
		Imported, Updated, Unchanged int
		Rejected                     []struct {
			Line   int
			Reason string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Imported != 2 || len(rep.Rejected) != 3 {
		t.Fatalf("report %+v, want 2 imported and 3 rejected", rep)
	}
	for i, line := range []int{3, 4, 5} {
		if rep.Rejected[i].Line != line || rep.Rejected[i].Reason == "" {
			t.Errorf("rejected[%d] = %+v, want line %d with a reason", i, rep.Rejected[i], line)
		}
	}
	// Running it again changes nothing.
	out = r.ok("subscribers", "import", "--list", "onderwijs", "--json", r.file("s.csv", csv))
	rep.Imported, rep.Unchanged = -1, -1
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 0 || rep.Unchanged != 2 {
		t.Errorf("second import %+v, want 0 imported, 2 unchanged", rep)
	}
	exp := r.ok("subscribers", "export", "--list", "onderwijs")
	if !strings.Contains(exp, "info@xn--bcher-kva.de") || !strings.Contains(exp, "a@example.org") {
		t.Errorf("export lacks imported addresses:\n%s", exp)
	}
}

// The project's mojibake edition (testdata/editions/najaar.txt, one "én"
// damaged by code page 852): create reports it at its line and column,
// publish refuses it, fix repairs it, publish then goes through.
func TestEncodingGuardFlow(t *testing.T) {
	data, err := os.ReadFile(seedtest.Fixture(t, "najaar.txt"))
	if err != nil {
		t.Fatal(err)
	}
	encodingGuardFlow(t, "najaar.txt", data, 19, 53, "leren én werken")
}

// TestEncodingGuardFlowSeed is the seed layer of TestEncodingGuardFlow: the
// real edition the guard was written for.
func TestEncodingGuardFlowSeed(t *testing.T) {
	dir := seedtest.Dir(t)
	data, err := os.ReadFile(filepath.Join(dir, "000_97999744953f5f71.txt"))
	if err != nil {
		t.Fatalf("seed 000 missing from %s: %v", dir, err)
	}
	encodingGuardFlow(t, "000.txt", data, 15, 66, "samen doen én leren")
}

// encodingGuardFlow runs an edition with exactly one ├ę → é mojibake, at
// line and column of the file, through create, publish, fix and preview;
// repaired is the text around the repair that the preview must show.
func encodingGuardFlow(t *testing.T, name string, data []byte, line, column int, repaired string) {
	t.Helper()
	r := newRun(t)
	r.ok("lists", "create", "algemeen")
	r.ok("subscribers", "import", "--list", "algemeen", r.file("p.csv", "email\njan@example.org\n"))
	out := r.ok("editions", "create", "--json", "--file", r.file(name, string(data)))
	var created struct {
		ID       string
		Findings []struct {
			Line, Column           int
			Kind, Found, Suggested string
		}
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	if len(created.Findings) != 1 {
		t.Fatalf("findings %+v, want the one mojibake", created.Findings)
	}
	if f := created.Findings[0]; f.Line != line || f.Column != column || f.Kind != "mojibake" || f.Found != "├ę" || f.Suggested != "é" {
		t.Fatalf("finding %+v, want line %d column %d mojibake ├ę → é", f, line, column)
	}
	r.failsWith("editions fix", "editions", "publish", created.ID, "--lists", "algemeen")
	fixed := r.ok("editions", "fix", created.ID)
	if !strings.Contains(fixed, "→ \"é\"") {
		t.Errorf("fix output %q does not say what changed", fixed)
	}
	if again := r.ok("editions", "fix", created.ID); !strings.Contains(again, "nothing to fix") {
		t.Errorf("second fix: %q", again)
	}
	text := r.ok("editions", "preview", created.ID)
	// The preview wraps lines: compare with the line breaks as spaces.
	if !strings.Contains(strings.Join(strings.Fields(text), " "), repaired) || strings.Contains(text, "├ę") {
		t.Errorf("preview after fix lacks the repair %q", repaired)
	}
	r.ok("editions", "publish", created.ID, "--lists", "algemeen")
	if n := r.streamLen("newsletter.editions.published.v1"); n != 1 {
		t.Errorf("publish messages: %d, want 1", n)
	}
}

// An import with --override tells the admin who was asked to confirm
// rather than re-subscribed, and says why.
func TestImportOverrideSaysWhoIsAskedToConfirm(t *testing.T) {
	r := newRun(t)
	r.ok("lists", "create", "bedrijven", "--name", "Bedrijven")
	csv := r.file("p.csv", "email\njan@example.org\npiet@example.org\n")
	r.ok("subscribers", "import", "--list", "bedrijven", csv)
	r.ok("subscribers", "update", "jan@example.org", "--status", "unsubscribed")
	out := r.ok("subscribers", "import", "--list", "bedrijven", "--override", csv)
	if !strings.Contains(out, "1 asked to confirm by email") || !strings.Contains(out, "had opted out") {
		t.Errorf("import --override printed %q, want it to say one was asked to confirm", out)
	}
	if out := r.ok("subscribers", "show", "jan@example.org"); !strings.Contains(out, "unsubscribed") {
		t.Errorf("after import --override: %q, want jan still unsubscribed until confirming", out)
	}
}

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/redisstore"
	"newsletter/internal/redistest"
)

// openEmpty opens an App on the test Redis under a fresh prefix.
func openEmpty(t testing.TB, cfg app.Config) *app.App {
	t.Helper()
	cfg.RedisPrefix = redistest.Prefix(t)
	a, err := app.Open(context.Background(), cfg, app.Need{Redis: true}, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// records parses a backup into its header and its records by key.
func records(t *testing.T, b []byte) (redisstore.BackupHeader, map[string]redisstore.BackupRecord) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	var h redisstore.BackupHeader
	if err := json.Unmarshal([]byte(lines[0]), &h); err != nil {
		t.Fatalf("header %q: %v", lines[0], err)
	}
	out := map[string]redisstore.BackupRecord{}
	for i, l := range lines[1:] {
		var r redisstore.BackupRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d: %v", i+2, err)
		}
		out[r.Key] = r
	}
	return h, out
}

// A backup of a store that has sent an edition (with a bounce, a
// complaint, an unsubscription, a suppression, an erasure, a draft and a
// deleted list), restored into an empty prefix, backs up to the same
// records, and the use cases read the same answers from it.
func TestBackupRestoreRoundTrip(t *testing.T) {
	h := newHarness(t, nil)
	a := h.App
	ctx := context.Background()
	for _, slug := range []string{"bedrijven", "onderwijs", "weg"} {
		if _, err := a.CreateList(ctx, newsletter.List{Slug: slug, Name: "Partners " + slug, Public: slug == "bedrijven"}); err != nil {
			t.Fatal(err)
		}
	}
	csv := "email;naam;organisatie;regio\nsuccess@simulator.amazonses.com;OK;A;utrecht\nbounce@simulator.amazonses.com;Bounce;B;\ncomplaint@simulator.amazonses.com;Klacht;C;\njan@example.org;Jan Jansen;Acme;zeeland\nzoe@example.org;Zoë;Café ‘t Hoekje;\nweg@example.org;Weg;;\n"
	for _, l := range []string{"bedrijven", "onderwijs", "weg"} {
		if _, err := a.Import(ctx, l, strings.NewReader(csv), newsletter.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Unsubscribe(ctx, "jan@example.org", "asked by phone"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Suppress(ctx, "zoe@example.org", "mailbox full"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Erase(ctx, "weg@example.org", false); err != nil {
		t.Fatal(err)
	}
	e, _, err := a.CreateEdition(ctx, "e.md", []byte("---\nsubject: Nieuws van de week\n---\nHallo allemaal, één ding.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Publish(ctx, e.ID, []string{"bedrijven", "onderwijs"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitSent(e.ID)
	poll(t, "bounce and complaint applied", func() (bool, string) {
		st, err := a.EditionStatus(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		return st.Counts["bounced"] == 1 && st.Counts["complained"] == 1, fmt.Sprint(st.Counts)
	})
	if _, _, err := a.CreateEdition(ctx, "draft.md", []byte("---\nsubject: Concept\n---\nNog niet klaar.\n")); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteList(ctx, "weg"); err != nil {
		t.Fatal(err)
	}
	h.waitIdle()
	h.stop() // nothing changes between the backups

	var first bytes.Buffer
	n, err := a.Backup(ctx, &first)
	if err != nil {
		t.Fatal(err)
	}
	hdr, want := records(t, first.Bytes())
	if hdr.Format != redisstore.BackupFormat || hdr.Version != redisstore.BackupVersion || n != len(want) {
		t.Fatalf("header %+v, %d records written, %d read", hdr, n, len(want))
	}
	for _, kind := range []string{"list", "membership", "subscriber", "suppression", "edition", "delivery"} {
		if hdr.Kinds[kind] == 0 {
			t.Errorf("backup has no %s records: %v", kind, hdr.Kinds)
		}
	}
	path := filepath.Join(t.TempDir(), "backup.jsonl")
	if err := os.WriteFile(path, first.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	b := openEmpty(t, a.Cfg)
	rep, err := b.Restore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != n {
		t.Errorf("restored %d records, want %d", rep.Records, n)
	}
	var second bytes.Buffer
	if _, err := b.Backup(ctx, &second); err != nil {
		t.Fatal(err)
	}
	_, got := records(t, second.Bytes())
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("record %s lost", k)
			continue
		}
		// A time to live ticks on between the backups; all else is equal.
		if (w.TTLms > 0) != (g.TTLms > 0) || g.TTLms > w.TTLms {
			t.Errorf("record %s: ttl %d ms after restore, %d before", k, g.TTLms, w.TTLms)
		}
		g.TTLms, w.TTLms = 0, 0
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if !bytes.Equal(gj, wj) {
			t.Errorf("record %s differs:\n got %s\nwant %s", k, gj, wj)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("record %s appeared from nowhere", k)
		}
	}
	// The use cases agree.
	same := func(what string, f func(*app.App) any) {
		t.Helper()
		x, _ := json.Marshal(f(a))
		y, _ := json.Marshal(f(b))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs after restore:\n got %s\nwant %s", what, y, x)
		}
	}
	same("lists", func(x *app.App) any { l, err := x.Lists(ctx); must(t, err); return l })
	same("suppressions", func(x *app.App) any { l, err := x.Suppressions(ctx); must(t, err); return l })
	same("editions", func(x *app.App) any { l, err := x.ListEditions(ctx, ""); must(t, err); return l })
	same("edition status", func(x *app.App) any { s, err := x.EditionStatus(ctx, e.ID); must(t, err); return s })
	same("export", func(x *app.App) any { var w bytes.Buffer; must(t, x.Export(ctx, "", &w)); return w.String() })
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Restore refuses a Redis that holds data, and names every kind of bad
// line by its number, writing nothing.
func TestRestoreRefusals(t *testing.T) {
	ctx := context.Background()
	cfg := app.Config{RedisURL: redistest.URL(t), BrandName: "Test"}
	header := `{"format":"newsletter-backup","version":1,"prefix":"nl:","created_at":"2026-12-01T00:00:00Z"}`
	good := `{"kind":"list","key":"list:a","type":"hash","value":{"name":"A"}}`
	for name, c := range map[string]struct{ file, want string }{
		"not a backup":  {"email,name\n", "backup line 1: not a newsletter backup header"},
		"newer version": {`{"format":"newsletter-backup","version":9}` + "\n", "backup line 1: backup format version 9"},
		"empty":         {"", "the backup is empty"},
		"broken json":   {header + "\n" + good + "\n{\"kind\":\n", "backup line 3: not a record"},
		"unknown type":  {header + "\n" + `{"kind":"x","key":"k","type":"stream","value":[]}` + "\n", `backup line 2: key k: type "stream"`},
		"bad hash":      {header + "\n" + good + "\n" + good + "\n" + `{"kind":"x","key":"k","type":"hash","value":[1]}` + "\n", "backup line 4: key k: a hash value"},
		"negative ttl":  {header + "\n" + `{"kind":"x","key":"k","type":"string","ttl_ms":-5,"value":"v"}` + "\n", "backup line 2: key k: ttl_ms -5"},
		"bad base64":    {header + "\n" + `{"kind":"x","key":"!!","type":"string","base64":true,"value":"v"}` + "\n", "backup line 2: key \"!!\" is not base64"},
		"unknown field": {header + "\n" + `{"kind":"x","key":"k","type":"string","value":"v","extra":1}` + "\n", "backup line 2: not a record"},
		"missing value": {header + "\n" + `{"kind":"x","key":"k","type":"string"}` + "\n", "backup line 2: a record needs a key and a value"},
	} {
		t.Run(name, func(t *testing.T) {
			a := openEmpty(t, cfg)
			path := filepath.Join(t.TempDir(), "b.jsonl")
			must(t, os.WriteFile(path, []byte(c.file), 0o600))
			_, err := a.Restore(ctx, path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Restore: %v, want an error with %q", err, c.want)
			}
			var out bytes.Buffer
			n, err := a.Backup(ctx, &out)
			must(t, err)
			if n != 0 {
				t.Errorf("a refused restore wrote %d records", n)
			}
		})
	}
	a := openEmpty(t, cfg)
	if _, err := a.CreateList(ctx, newsletter.List{Slug: "x", Name: "X"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "b.jsonl")
	must(t, os.WriteFile(path, []byte(header+"\n"+good+"\n"), 0o600))
	_, err := a.Restore(ctx, path)
	if newsletter.ErrorCode(err) != newsletter.ECONFLICT || !strings.Contains(err.Error(), "restore needs an empty one") {
		t.Errorf("restore into a Redis with data: %v, want a conflict that says it needs an empty one", err)
	}
}

// Values that are not UTF-8 survive through base64.
func TestBackupBinaryValue(t *testing.T) {
	ctx := context.Background()
	a := openEmpty(t, app.Config{RedisURL: redistest.URL(t), BrandName: "Test"})
	rdb := a.Store().Client()
	must(t, rdb.Set(ctx, a.Store().Prefix()+"mark:bin", "\xff\x00é", 0).Err())
	var out bytes.Buffer
	_, err := a.Backup(ctx, &out)
	must(t, err)
	path := filepath.Join(t.TempDir(), "b.jsonl")
	must(t, os.WriteFile(path, out.Bytes(), 0o600))
	b := openEmpty(t, app.Config{RedisURL: redistest.URL(t), BrandName: "Test"})
	_, err = b.Restore(ctx, path)
	must(t, err)
	v, err := b.Store().Client().Get(ctx, b.Store().Prefix()+"mark:bin").Result()
	must(t, err)
	if v != "\xff\x00é" {
		t.Errorf("restored %q", v)
	}
}

// BenchmarkBackupRestore50k backs up a store with 50,000 subscribers on
// one list and restores it into an empty prefix; it reports records/s of
// each.
func BenchmarkBackupRestore50k(b *testing.B) {
	const rows = 50_000
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		a := openApp(b)
		mustList(b, a, "bedrijven", false)
		if _, err := a.Import(ctx, "bedrijven", &rowGenerator{n: rows}, newsletter.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(b.TempDir(), "backup.jsonl")
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		n, err := a.Backup(ctx, f)
		backup := time.Since(start)
		b.StopTimer()
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		c := openEmpty(b, a.Cfg)
		b.StartTimer()
		start = time.Now()
		if _, err := c.Restore(ctx, path); err != nil {
			b.Fatal(err)
		}
		restore := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(n), "records")
		b.ReportMetric(float64(n)/backup.Seconds(), "backup-records/s")
		b.ReportMetric(float64(n)/restore.Seconds(), "restore-records/s")
	}
}

// A backup of an earlier release (format version 1, times in the
// edition's update-time hash) is restored and reads as it did there.
func TestRestoreVersion1(t *testing.T) {
	ctx := context.Background()
	a := openEmpty(t, app.Config{RedisURL: redistest.URL(t), BrandName: "Test"})
	file := `{"format":"newsletter-backup","version":1,"prefix":"nl:","created_at":"2026-12-01T00:00:00Z"}` + "\n" +
		`{"kind":"edition","key":"{e:e1}:st","type":"hash","value":{"a@x.org":"sent","b@x.org":"queued"}}` + "\n" +
		`{"kind":"edition","key":"{e:e1}:at","type":"hash","value":{"a@x.org":"1800000000000"}}` + "\n"
	path := filepath.Join(t.TempDir(), "b.jsonl")
	must(t, os.WriteFile(path, []byte(file), 0o600))
	if _, err := a.Restore(ctx, path); err != nil {
		t.Fatalf("Restore of a version 1 backup: %v", err)
	}
	rows := map[string]newsletter.DeliveryRow{}
	must(t, a.Store().ScanDeliveryRows(ctx, "e1", "", func(r newsletter.DeliveryRow) error { rows[r.Email] = r; return nil }))
	if r := rows["a@x.org"]; r.State != newsletter.DeliverySent || !r.UpdatedAt.Equal(time.UnixMilli(1800000000000)) {
		t.Errorf("a@x.org restored as %+v, want sent at 1800000000000", r)
	}
	if r := rows["b@x.org"]; r.State != newsletter.DeliveryQueued {
		t.Errorf("b@x.org restored as %+v, want queued", r)
	}
}

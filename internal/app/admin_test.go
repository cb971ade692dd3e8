package app_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"newsletter"
	"newsletter/internal/address"
	"newsletter/internal/app"
	"newsletter/internal/redistest"
	"newsletter/internal/sesfake"
	"newsletter/internal/token"
	"newsletter/workers"
)

// openApp connects to a throwaway Redis with a fresh prefix; no workers,
// no SES, no HTTP.
func openApp(t testing.TB) *app.App {
	t.Helper()
	return openAppWithPrefix(t, redistest.Prefix(t))
}

// openAppWithPrefix opens an app on the keys under prefix, e.g. a second
// process on another app's data.
func openAppWithPrefix(t testing.TB, prefix string) *app.App {
	t.Helper()
	cfg := app.Config{RedisURL: redistest.URL(t), RedisPrefix: prefix, BaseURL: "https://nieuwsbrief.example.org",
		Secret: "test-secret-test-secret-test-secret-0123", BrandName: "Leerwerkakkoord", Chunk: 50}
	a, err := app.Open(context.Background(), cfg, app.Need{Redis: true}, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func mustList(t testing.TB, a *app.App, slug string, doi bool) {
	t.Helper()
	if err := a.Store().CreateList(context.Background(), newsletter.List{Slug: slug, Name: "Lijst " + slug, DoubleOptIn: doi}); err != nil {
		t.Fatal(err)
	}
}

func mustImport(t testing.TB, a *app.App, list, data string, opts newsletter.ImportOptions) *app.ImportReport {
	t.Helper()
	rep, err := a.Import(context.Background(), list, strings.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func memberships(t testing.TB, a *app.App, email string) map[string]newsletter.MembershipStatus {
	t.Helper()
	_, m, err := a.Store().GetSubscriber(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func isMember(t testing.TB, a *app.App, list, email string) bool {
	t.Helper()
	ok, err := a.Store().Client().SIsMember(context.Background(), a.Store().Prefix()+"{l:"+list+"}:members", email).Result()
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// A Dutch Excel file: BOM, ';', CRLF, an IDN domain, a duplicate row and
// bad rows reported with their line numbers.
func TestImportSemicolonBOMIDNDuplicatesBadRows(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	mustList(t, a, "bedrijven", false)
	data := "\ufeffE-mailadres;Naam;Organisatie;Regio\r\n" +
		"jan@example.org;Jan Jansen;Bakkerij Jansen;Utrecht\r\n" + // line 2
		"Piet <piet@example.org>;Piet;;\r\n" + // 3: display name junk
		"anna@bücher.example;Anna;Bücher BV;\r\n" + // 4: IDN
		"JAN@Example.org;Jan dubbel;;\r\n" + // 5: duplicate of line 2
		"geen-adres;X;;\r\n" + // 6: no @
		"a@b.nl, c@d.nl;Twee;;\r\n" + // 7: two addresses
		"kees@example.org;Kees;;Zeeland\r\n" // 8
	rep := mustImport(t, a, "bedrijven", data, newsletter.ImportOptions{})
	if rep.Imported != 3 || rep.Updated != 0 || rep.Unchanged != 0 {
		t.Errorf("imported %d updated %d unchanged %d, want 3 0 0", rep.Imported, rep.Updated, rep.Unchanged)
	}
	var lines []int
	for _, r := range rep.Rejected {
		lines = append(lines, r.Line)
		if r.Reason == "" {
			t.Errorf("line %d rejected without a reason", r.Line)
		}
	}
	if !slices.Equal(lines, []int{3, 5, 6, 7}) {
		t.Errorf("rejected lines %v, want [3 5 6 7] (%+v)", lines, rep.Rejected)
	}
	if !strings.Contains(rep.Rejected[1].Reason, "2") {
		t.Errorf("duplicate row reason %q does not name the first line", rep.Rejected[1].Reason)
	}
	ctx := context.Background()
	sub, _, err := a.Store().GetSubscriber(ctx, "anna@xn--bcher-kva.example")
	if err != nil {
		t.Fatalf("IDN address not stored in ASCII form: %v", err)
	}
	if sub.Organisation != "Bücher BV" {
		t.Errorf("organisation %q", sub.Organisation)
	}
	jan, _, err := a.Store().GetSubscriber(ctx, "jan@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if jan.Name != "Jan Jansen" || jan.Attributes["Regio"] != "Utrecht" && jan.Attributes["regio"] != "Utrecht" {
		t.Errorf("jan = %+v", jan)
	}
	if !isMember(t, a, "bedrijven", "kees@example.org") {
		t.Error("kees is not a member")
	}
}

// keysDump returns DUMP of every key under the prefix except streams.
func keysDump(t *testing.T, a *app.App) map[string]string {
	t.Helper()
	ctx := context.Background()
	rdb := a.Store().Client()
	out := map[string]string{}
	keys := redistest.Keys(t, rdb, a.Store().Prefix()+"*")
	for _, k := range keys {
		v, err := rdb.Dump(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

func TestReimportChangesNothing(t *testing.T) {
	t.Parallel()
	for _, doi := range []bool{false, true} {
		t.Run(fmt.Sprint("double_opt_in=", doi), func(t *testing.T) {
			a := openApp(t)
			mustList(t, a, "bedrijven", doi)
			var b strings.Builder
			b.WriteString("email,name,organisation,functie\n")
			for i := range 1200 {
				fmt.Fprintf(&b, "p%04d@example.org,Partner %d,Org %d,rol %d\n", i, i, i%7, i%3)
			}
			first := mustImport(t, a, "bedrijven", b.String(), newsletter.ImportOptions{Mode: newsletter.ImportUpdate})
			if first.Imported != 1200 {
				t.Fatalf("first import: %+v", first)
			}
			if doi && first.ToConfirm != 1200 {
				t.Errorf("to_confirm = %d, want 1200", first.ToConfirm)
			}
			before := keysDump(t, a)
			for _, mode := range []newsletter.ImportMode{newsletter.ImportUpdate, newsletter.ImportAdd} {
				again := mustImport(t, a, "bedrijven", b.String(), newsletter.ImportOptions{Mode: mode})
				if again.Unchanged != 1200 || again.Imported+again.Updated+len(again.Rejected)+again.ToConfirm != 0 {
					t.Errorf("re-import (%s): %+v, want all 1200 unchanged", mode, again)
				}
			}
			after := keysDump(t, a)
			for k, v := range before {
				if after[k] != v {
					t.Errorf("key %s changed by a re-import", k)
				}
			}
			if len(after) != len(before) {
				t.Errorf("re-import created %d keys", len(after)-len(before))
			}
		})
	}
}

// Unsubscribed, complained, hard-bounced, blocklisted and erased addresses
// are never re-subscribed by an import without override. With it the
// others are; the ones that opted out are asked to confirm.
func TestImportNeverRevivesWithoutOverride(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "bedrijven", false)
	mustList(t, a, "onderwijs", false)
	people := []string{"weg@example.org", "klacht@example.org", "bounce@example.org", "blok@example.org", "vergeten@example.org", "lijstweg@example.org"}
	csvData := csvOf(people)
	mustImport(t, a, "bedrijven", csvData, newsletter.ImportOptions{})
	steps := []error{
		a.Store().Unsubscribe(ctx, "weg@example.org", "", "test"),
		a.Store().Suppress(ctx, "klacht@example.org", "complaint", "abuse"),
		a.Store().Suppress(ctx, "bounce@example.org", "bounce", "Permanent/General"),
		a.Store().Block(ctx, "blok@example.org", "asked by phone"),
		a.Store().Unsubscribe(ctx, "lijstweg@example.org", "bedrijven", "test"),
	}
	for _, err := range steps {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Erase(ctx, "vergeten@example.org", false); err != nil {
		t.Fatal(err)
	}
	rep := mustImport(t, a, "bedrijven", csvData, newsletter.ImportOptions{Mode: newsletter.ImportUpdate})
	if len(rep.Rejected) != len(people) {
		t.Fatalf("without override: %d rejected, want %d: %+v", len(rep.Rejected), len(people), rep)
	}
	for _, p := range people {
		if isMember(t, a, "bedrijven", p) && p != "weg@example.org" && p != "klacht@example.org" && p != "bounce@example.org" && p != "blok@example.org" {
			t.Errorf("%s became a member again", p)
		}
	}
	info, err := a.Store().Deliverable(ctx, people)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range people[:5] {
		if info[i].Why == "" {
			t.Errorf("%s is mailable after the import without override", p)
		}
	}
	// Adding one by hand is refused the same way.
	if _, err := a.AddSubscriber(ctx, "bedrijven", app.AddInput{Email: "weg@example.org"}); newsletter.ErrorCode(err) != newsletter.ECONFLICT {
		t.Errorf("add of an unsubscribed address: %v, want a conflict", err)
	}
	// The other list is not affected by any of it.
	if n, _ := a.Store().Client().SCard(ctx, a.Store().Prefix()+"{l:onderwijs}:members").Result(); n != 0 {
		t.Errorf("onderwijs has %d members", n)
	}

	rep = mustImport(t, a, "bedrijven", csvData, newsletter.ImportOptions{Override: true})
	if len(rep.Rejected) != 0 {
		t.Fatalf("with override: %+v", rep.Rejected)
	}
	// The override lifts what others decided (a bounce, a complaint, a
	// block, an erasure); an opt-out only the person can undo: they are
	// asked to confirm, and stay unmailed until they do.
	optedOut := map[string]bool{"weg@example.org": true, "lijstweg@example.org": true}
	if rep.ToConfirm != len(optedOut) {
		t.Errorf("with override: %d asked to confirm, want %d (the opt-outs)", rep.ToConfirm, len(optedOut))
	}
	mailable := func(when string) {
		t.Helper()
		info, err := a.Store().Deliverable(ctx, people)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range people {
			revived := info[i].Why == "" && isMember(t, a, "bedrijven", p)
			if want := !optedOut[p] || when == "after they confirmed"; revived != want {
				t.Errorf("%s: %s mailable %v (%q), want %v", when, p, revived, info[i].Why, want)
			}
		}
	}
	mailable("after the override")
	for p := range optedOut {
		if _, ms, _ := a.Store().GetSubscriber(ctx, p); ms["bedrijven"] != newsletter.MemberUnconfirmed {
			t.Errorf("%s on bedrijven after the override: %q, want unconfirmed", p, ms["bedrijven"])
		}
		if ok, err := a.Store().Confirm(ctx, p, "bedrijven"); !ok || err != nil {
			t.Errorf("%s confirming: %v, %v", p, ok, err)
		}
	}
	mailable("after they confirmed")
	// Adding one by hand with the override asks the same way.
	if err := a.Store().Unsubscribe(ctx, "weg@example.org", "", "again"); err != nil {
		t.Fatal(err)
	}
	res, err := a.AddSubscriber(ctx, "bedrijven", app.AddInput{Email: "weg@example.org", Override: true})
	if err != nil || res.Membership != newsletter.MemberUnconfirmed {
		t.Errorf("add with override of an unsubscribed address: %+v, %v; want an unconfirmed membership", res, err)
	}
	if sub, _, _ := a.Store().GetSubscriber(ctx, "weg@example.org"); sub.Status != newsletter.SubscriberUnsubscribed {
		t.Errorf("status after add with override: %s, want unsubscribed until they confirm", sub.Status)
	}
}

// Deleting a list keeps its history, changes nobody's other memberships and
// revives nobody.
func TestDeleteListKeepsOtherSubscriptions(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	for _, l := range []string{"a", "b", "c"} {
		mustList(t, a, l, false)
	}
	mustImport(t, a, "a", csvOf([]string{"x@example.org", "y@example.org", "z@example.org"}), newsletter.ImportOptions{})
	mustImport(t, a, "b", csvOf([]string{"x@example.org", "y@example.org"}), newsletter.ImportOptions{})
	mustImport(t, a, "c", csvOf([]string{"z@example.org"}), newsletter.ImportOptions{})
	if err := a.Store().Unsubscribe(ctx, "y@example.org", "b", "test"); err != nil {
		t.Fatal(err)
	}
	if err := a.Store().Unsubscribe(ctx, "z@example.org", "", "test"); err != nil {
		t.Fatal(err)
	}
	before := map[string]map[string]newsletter.MembershipStatus{}
	for _, e := range []string{"x@example.org", "y@example.org", "z@example.org"} {
		before[e] = memberships(t, a, e)
	}
	if err := a.Store().DeleteList(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	for e, m := range before {
		after := memberships(t, a, e)
		for slug, st := range m {
			want := st
			if slug == "a" {
				want = "list_deleted"
			}
			if after[slug] != want {
				t.Errorf("%s on %s: %s, want %s", e, slug, after[slug], want)
			}
		}
	}
	z, _, _ := a.Store().GetSubscriber(ctx, "z@example.org")
	if z.Status != newsletter.SubscriberUnsubscribed {
		t.Errorf("z revived: %s", z.Status)
	}
	if isMember(t, a, "b", "y@example.org") {
		t.Error("y revived on b")
	}
	if !isMember(t, a, "b", "x@example.org") || !isMember(t, a, "c", "z@example.org") {
		t.Error("memberships of other lists lost")
	}
	keys := redistest.Keys(t, a.Store().Client(), a.Store().Prefix()+"{l:a}:deleted:*")
	if len(keys) == 0 {
		t.Error("deleted list's members were not kept as history")
	}
	// A new list with the same slug inherits nobody.
	mustList(t, a, "a", false)
	ls, err := a.Store().Lists(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Slug == "a" && (l.Members != 0 || l.Counts.Unconfirmed != 0 || l.Counts.Unsubscribed != 0) {
			t.Errorf("recreated list a has counts %+v", l.Counts)
		}
	}
}

func TestSearchPagination(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "bedrijven", false)
	var b strings.Builder
	b.WriteString("email,name,organisation\n")
	want := map[string]bool{}
	for i := range 1400 {
		org := "Gemeente Utrecht"
		if i%3 == 0 {
			org = "Bakkerij De Vries"
		}
		e := fmt.Sprintf("p%04d@example.org", i)
		fmt.Fprintf(&b, "%s,Persoon %d,%s\n", e, i, org)
		if i%3 == 0 {
			want[e] = true
		}
	}
	b.WriteString("anders@vries.example,Iemand,Elders\n") // matches by address
	want["anders@vries.example"] = true
	mustImport(t, a, "bedrijven", b.String(), newsletter.ImportOptions{})

	got := map[string]bool{}
	cursor, pages := "", 0
	for {
		res, err := a.Store().Search(ctx, "VRIES", 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(res.Subscribers) > 100 {
			t.Fatalf("page of %d > limit", len(res.Subscribers))
		}
		for _, h := range res.Subscribers {
			if got[h.Email] {
				t.Fatalf("%s on two pages", h.Email)
			}
			got[h.Email] = true
			if h.Lists["bedrijven"] != newsletter.MemberSubscribed {
				t.Errorf("%s lists %v", h.Email, h.Lists)
			}
		}
		if res.NextCursor == "" {
			break
		}
		cursor = res.NextCursor
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
	}
	if len(got) != len(want) || pages < 5 {
		t.Errorf("found %d over %d pages, want %d over at least 5", len(got), pages, len(want))
	}
	for e := range want {
		if !got[e] {
			t.Errorf("%s not found", e)
		}
	}
	// By name, exact page.
	res, err := a.Store().Search(ctx, "persoon 1399", 10, "")
	if err != nil || len(res.Subscribers) != 1 || res.Subscribers[0].Email != "p1399@example.org" {
		t.Errorf("search by name: %+v %v", res, err)
	}
	if _, err := a.Store().Search(ctx, "x", 10, "!!notacursor"); newsletter.ErrorCode(err) != newsletter.EINVALID {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestCountsPerListAndStatus(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "open", false)
	mustList(t, a, "dubbel", true)
	mustImport(t, a, "open", csvOf([]string{"a@example.org", "b@example.org", "c@example.org", "d@example.org"}), newsletter.ImportOptions{})
	mustImport(t, a, "dubbel", csvOf([]string{"a@example.org", "e@example.org"}), newsletter.ImportOptions{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.Store().Unsubscribe(ctx, "b@example.org", "open", "test"))
	must(a.Store().Unsubscribe(ctx, "c@example.org", "", "test"))
	must(a.Store().Block(ctx, "d@example.org", "spam trap"))
	c, err := a.Counts(ctx)
	must(err)
	want := newsletter.SubscriberCounts{Total: 5, Active: 3, Unsubscribed: 1, Blocklisted: 1}
	if c.Subscribers != want {
		t.Errorf("subscribers %+v, want %+v", c.Subscribers, want)
	}
	// Of open's three members, c unsubscribed from everything and d is
	// blocklisted: only a is mailed.
	if got := c.Lists["open"]; got != (newsletter.MembershipCounts{Subscribed: 1, NotMailed: 2, Unsubscribed: 1}) {
		t.Errorf("open %+v", got)
	}
	if got := c.Lists["dubbel"]; got != (newsletter.MembershipCounts{Unconfirmed: 2}) {
		t.Errorf("dubbel %+v", got)
	}
	// Confirming moves one over.
	if ok, err := a.Store().Confirm(ctx, "e@example.org", "dubbel"); err != nil || !ok {
		t.Fatalf("confirm: %v %v", ok, err)
	}
	c, _ = a.Counts(ctx)
	if got := c.Lists["dubbel"]; got != (newsletter.MembershipCounts{Subscribed: 1, Unconfirmed: 1}) {
		t.Errorf("dubbel after confirm %+v", got)
	}
}

func TestAddUpdateRemoveBlock(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "bedrijven", false)
	res, err := a.AddSubscriber(ctx, "bedrijven", app.AddInput{Email: " Jan@Example.ORG ", Name: "Jan", Organisation: "Acme", Attributes: map[string]string{"regio": "utrecht"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Email != "jan@example.org" || res.Membership != newsletter.MemberSubscribed || res.Outcome != "imported" {
		t.Errorf("add: %+v", res)
	}
	name := "Jan Jansen"
	if err := a.Store().UpdateSubscriber(ctx, "jan@example.org", newsletter.SubscriberUpdate{Name: &name, Attributes: map[string]string{"regio": "", "rol": "directeur"}}); err != nil {
		t.Fatal(err)
	}
	d, err := a.ShowSubscriber(ctx, "jan@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if d.Subscriber.Name != "Jan Jansen" || d.Subscriber.Organisation != "Acme" || len(d.Subscriber.Attributes) != 1 || d.Subscriber.Attributes["rol"] != "directeur" {
		t.Errorf("after update: %+v", d.Subscriber)
	}
	if err := a.Store().UpdateSubscriber(ctx, "nobody@example.org", newsletter.SubscriberUpdate{Name: &name}); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("update of unknown: %v", err)
	}
	if err := a.Store().RemoveMembership(ctx, "jan@example.org", "bedrijven"); err != nil {
		t.Fatal(err)
	}
	if isMember(t, a, "bedrijven", "jan@example.org") {
		t.Error("still a member after remove")
	}
	// Removal is not an opt-out: adding again needs no override.
	if _, err := a.AddSubscriber(ctx, "bedrijven", app.AddInput{Email: "jan@example.org"}); err != nil {
		t.Errorf("re-add after remove: %v", err)
	}
	if err := a.Block(ctx, "jan@example.org", ""); newsletter.ErrorCode(err) != newsletter.EINVALID {
		t.Errorf("block without reason: %v", err)
	}
	if err := a.Block(ctx, "jan@example.org", "asked by phone"); err != nil {
		t.Fatal(err)
	}
	info, _ := a.Store().Deliverable(ctx, []string{"jan@example.org"})
	if info[0].Why != "blocklisted" {
		t.Errorf("blocked address deliverable: %q", info[0].Why)
	}
	if err := a.Store().SetMembership(ctx, "jan@example.org", "bedrijven", true); newsletter.ErrorCode(err) != newsletter.ECONFLICT {
		t.Errorf("preferences re-subscribe of a blocked address: %v", err)
	}
	if _, err := a.AddSubscriber(ctx, "bedrijven", app.AddInput{Email: "not an address"}); newsletter.ErrorCode(err) != newsletter.EINVALID {
		t.Errorf("bad address: %v", err)
	}
}

// The export is safe to open in a spreadsheet.
func TestExportFormulaSafe(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	mustList(t, a, "bedrijven", false)
	data := "email,name,organisation\n" +
		"evil@example.org,=HYPERLINK(\"http://x\"),+31 SUM(A1)\n" +
		"at@example.org,@cmd,-2+3\n"
	mustImport(t, a, "bedrijven", data, newsletter.ImportOptions{})
	var out bytes.Buffer
	if err := a.Export(context.Background(), "bedrijven", &out); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out.String(), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rec := range recs[1:] {
		for _, f := range rec {
			if f != "" && strings.ContainsRune("=+-@\t\r", rune(f[0])) {
				t.Errorf("field %q starts with a formula character", f)
			}
			n++
		}
	}
	if !strings.Contains(out.String(), "HYPERLINK") || n == 0 {
		t.Errorf("export lost the data: %s", out.String())
	}
}

// allKeysMention scans every key under the prefix, of every type, and
// returns where needle (case-insensitive) occurs.
func allKeysMention(t *testing.T, a *app.App, needle string) []string {
	t.Helper()
	ctx := context.Background()
	rdb := a.Store().Client()
	re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(needle))
	var hits []string
	check := func(where, s string) {
		if re.MatchString(s) {
			hits = append(hits, where+": "+s)
		}
	}
	{
		for _, k := range redistest.Keys(t, rdb, a.Store().Prefix()+"*") {
			check("key name", k)
			typ, err := rdb.Type(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			switch typ {
			case "string":
				check(k, rdb.Get(ctx, k).Val())
			case "hash":
				for f, v := range rdb.HGetAll(ctx, k).Val() {
					check(k+" field", f)
					check(k+"["+f+"]", v)
				}
			case "set":
				for _, m := range rdb.SMembers(ctx, k).Val() {
					check(k, m)
				}
			case "zset":
				for _, m := range rdb.ZRange(ctx, k, 0, -1).Val() {
					check(k, m)
				}
			case "list":
				for _, m := range rdb.LRange(ctx, k, 0, -1).Val() {
					check(k, m)
				}
			case "stream":
				for _, e := range rdb.XRange(ctx, k, "-", "+").Val() {
					for f, v := range e.Values {
						check(k+" "+e.ID, f+"="+fmt.Sprint(v))
					}
				}
			default:
				t.Fatalf("key %s has type %s that the scan does not read", k, typ)
			}
		}
	}
	return hits
}

// Erasure leaves no trace of the address anywhere in Redis: only its hash.
func TestEraseLeavesNoPersonalData(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	ctx := context.Background()
	const who = "jan.jansen@example.org"
	for _, l := range []string{"bedrijven", "onderwijs", "oud", "dubbel"} {
		mustList(t, a, l, l == "dubbel")
	}
	others := []string{"piet@example.org", "kees@example.org"}
	if rep := mustImport(t, a, "bedrijven", "email,name,organisation,notitie\n"+who+",Jan Jansen,Bakkerij Jansen,belt graag\n"+
		others[0]+",Piet,,\n"+others[1]+",Kees,,\n", newsletter.ImportOptions{}); rep.Imported != 3 {
		t.Fatalf("import: %+v", rep)
	}
	mustImport(t, a, "onderwijs", csvOf([]string{who, "piet@example.org"}), newsletter.ImportOptions{})
	mustImport(t, a, "oud", csvOf([]string{who}), newsletter.ImportOptions{})
	if err := a.Store().DeleteList(ctx, "oud"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddSubscriber(ctx, "dubbel", app.AddInput{Email: who}); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile("testdata/dutch.md")
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := a.CreateEdition(ctx, "dutch.md", data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Publish(ctx, e.ID, []string{"bedrijven", "onderwijs"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitSent(e.ID)
	if err := a.TestSend(ctx, e.ID, []string{who}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store().NoteTransientBounce(ctx, who, "feedback-1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := a.Store().Unsubscribe(ctx, who, "onderwijs", "test"); err != nil {
		t.Fatal(err)
	}
	if err := a.Store().Suppress(ctx, who, "manual", "asked by phone"); err != nil {
		t.Fatal(err)
	}
	if err := a.Store().Block(ctx, who, "asked by phone"); err != nil {
		t.Fatal(err)
	}
	// The test send is recorded by the worker; waitIdle returns once its
	// job is acknowledged and the SES fake has no notification left.
	h.waitIdle()

	if len(allKeysMention(t, a, who)) == 0 {
		t.Fatal("the address is nowhere before erasure: the scan cannot be trusted")
	}
	pd, err := a.PersonalData(ctx, who)
	if err != nil {
		t.Fatal(err)
	}
	if pd.Subscriber["name"] != "Jan Jansen" || len(pd.Deliveries) != 1 || pd.Deliveries[0].MessageID == "" || len(pd.TestSends) != 1 ||
		len(pd.SoftBounces) != 1 || pd.Suppression == nil || len(pd.AuditLog) < 2 || len(pd.Memberships) != 4 || len(pd.Sets) < 3 {
		b, _ := json.MarshalIndent(pd, "", "  ")
		t.Errorf("personal data export incomplete:\n%s", b)
	}
	counts, _ := a.Store().Counts(ctx, e.ID)

	rep, err := a.Erase(ctx, who, false)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Found || rep.EditionsCleaned != 1 || rep.MessageIDs < 1 || rep.AuditLinesHashed < 2 {
		t.Errorf("erasure report %+v", rep)
	}
	if len(rep.PendingStreamEntries) != 0 {
		t.Errorf("unprocessed entries still mention the address: %v", rep.PendingStreamEntries)
	}
	if hits := allKeysMention(t, a, who); len(hits) != 0 {
		t.Errorf("the address is still stored after erasure:\n%s", strings.Join(hits, "\n"))
	}
	hash := address.Hash(who)
	if len(allKeysMention(t, a, hash)) == 0 {
		t.Error("the hash of the erased address is not kept")
	}
	// Statistics stay.
	if after, _ := a.Store().Counts(ctx, e.ID); after["total"] != counts["total"] || after["sent"]+after["delivered"] != counts["sent"]+counts["delivered"] {
		t.Errorf("counters changed: %v → %v", counts, after)
	}
	// Others are untouched.
	for _, o := range others {
		if _, _, err := a.Store().GetSubscriber(ctx, o); err != nil {
			t.Errorf("%s: %v", o, err)
		}
	}
	// Never mailed, never re-imported silently.
	info, _ := a.Store().Deliverable(ctx, []string{who})
	if info[0].Why != "erased" {
		t.Errorf("erased address deliverable: %q", info[0].Why)
	}
	rep2 := mustImport(t, a, "bedrijven", csvOf([]string{who}), newsletter.ImportOptions{})
	if len(rep2.Rejected) != 1 || !strings.Contains(rep2.Rejected[0].Reason, "erased") {
		t.Errorf("import of an erased address: %+v", rep2)
	}
	pd, err = a.PersonalData(ctx, who)
	if err != nil || !pd.Erased || pd.Subscriber != nil || len(pd.Deliveries) != 0 {
		t.Errorf("after erasure: %+v %v", pd, err)
	}
}

// Erasure counts unprocessed queue entries that mention the address and
// leaves them (the send step skips the erased address).
func TestEraseReportsUnprocessedStreamEntries(t *testing.T) {
	t.Parallel()
	a := openApp(t)
	ctx := context.Background()
	mustList(t, a, "bedrijven", true)
	if _, err := a.AddSubscriber(ctx, "bedrijven", app.AddInput{Email: "wacht@example.org"}); err != nil {
		t.Fatal(err)
	}
	rep, err := a.Erase(ctx, "wacht@example.org", false)
	if err != nil {
		t.Fatal(err)
	}
	key := a.Store().Stream(workers.TopicDeliveries)
	if rep.PendingStreamEntries[key] != 1 {
		t.Errorf("pending entries %v, want 1 in %s", rep.PendingStreamEntries, key)
	}
	if n, _ := a.Store().Client().XLen(ctx, key).Result(); n != 1 {
		t.Errorf("an unprocessed entry was deleted: %d left", n)
	}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// Tampered and expired tokens are refused on every signed page and change
// nothing.
func TestTokensTamperedOrExpiredRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	ctx := context.Background()
	mustList(t, a, "dubbel", true)
	mustList(t, a, "open", false)
	const who = "jan@example.org"
	mustImport(t, a, "open", csvOf([]string{who}), newsletter.ImportOptions{})
	if _, err := a.AddSubscriber(ctx, "dubbel", app.AddInput{Email: who}); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{}
	past := time.Now().Add(-time.Hour)
	sign := func(p token.Purpose, exp time.Time) string {
		return a.Links.Signer.Sign(token.Claims{Purpose: p, Email: who, List: "dubbel", Expires: exp})
	}
	cases := []struct{ name, path string }{
		{"unsubscribe", "/u/"}, {"preferences", "/p/"}, {"confirm", "/c/"},
	}
	purposes := map[string]token.Purpose{"unsubscribe": token.Unsubscribe, "preferences": token.Preferences, "confirm": token.Confirm}
	for _, tc := range cases {
		good := sign(purposes[tc.name], time.Now().Add(time.Hour))
		tampered := good[:len(good)-4] + strings.Repeat("A", 4)
		if tampered == good {
			tampered = good[:len(good)-4] + "BBBB"
		}
		for variant, tok := range map[string]string{
			"tampered": tampered, "expired": sign(purposes[tc.name], past),
			"wrong purpose": a.Links.Signer.Sign(token.Claims{Purpose: token.WebVersion, Email: who}),
		} {
			u := h.HTTP.URL + tc.path + tok
			if resp, _ := get(t, c, u); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s %s GET: %d, want 400", tc.name, variant, resp.StatusCode)
			}
			form := url.Values{"List-Unsubscribe": {"One-Click"}, "confirm": {"1"}}
			if resp, _ := postForm(t, c, u, form); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s %s POST: %d, want 400", tc.name, variant, resp.StatusCode)
			}
		}
	}
	sub, ms, err := a.Store().GetSubscriber(ctx, who)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != newsletter.SubscriberActive || ms["open"] != newsletter.MemberSubscribed || ms["dubbel"] != newsletter.MemberUnconfirmed {
		t.Errorf("bad tokens changed the subscriber: %s %v", sub.Status, ms)
	}
}

// RFC 8058 one-click: a POST without cookies unsubscribes, and sets none.
func TestOneClickWithoutCookies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	ctx := context.Background()
	mustList(t, a, "open", false)
	const who = "jan@example.org"
	mustImport(t, a, "open", csvOf([]string{who}), newsletter.ImportOptions{})
	c := &http.Client{Jar: nil}
	u := a.Links.Unsubscribe(who, "ed1")
	// A GET (link scanner) changes nothing.
	resp, body := get(t, c, u)
	if resp.StatusCode != 200 || !strings.Contains(body, "<form") {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	if sub, _, _ := a.Store().GetSubscriber(ctx, who); sub.Status != newsletter.SubscriberActive {
		t.Fatal("a GET unsubscribed")
	}
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("one-click POST: %d", resp.StatusCode)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("one-click answer sets cookies: %v", sc)
	}
	if sub, _, _ := a.Store().GetSubscriber(ctx, who); sub.Status != newsletter.SubscriberUnsubscribed {
		t.Errorf("status %s after one-click, want unsubscribed", sub.Status)
	}
	info, _ := a.Store().Deliverable(ctx, []string{who})
	if info[0].Why == "" {
		t.Error("still deliverable after one-click")
	}
}

func TestPreferencesPageChangesLists(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	ctx := context.Background()
	for _, l := range []string{"bedrijven", "onderwijs"} {
		mustList(t, a, l, false)
	}
	// zorg is public: offered to everyone, and jan may tick it.
	if _, err := a.CreateList(ctx, newsletter.List{Slug: "zorg", Name: "zorg", Public: true}); err != nil {
		t.Fatal(err)
	}
	const who = "jan@example.org"
	mustImport(t, a, "bedrijven", csvOf([]string{who}), newsletter.ImportOptions{})
	mustImport(t, a, "onderwijs", csvOf([]string{who}), newsletter.ImportOptions{})
	u := a.Links.Preferences(who)
	c := &http.Client{}
	resp, body := get(t, c, u)
	if resp.StatusCode != 200 || strings.Count(body, "checked") != 2 {
		t.Fatalf("preferences page: %d, %d checked", resp.StatusCode, strings.Count(body, "checked"))
	}
	resp, body = postForm(t, c, u, url.Values{"list": {"onderwijs", "zorg"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Opgeslagen") {
		t.Fatalf("save: %d %s", resp.StatusCode, body)
	}
	ms := memberships(t, a, who)
	if ms["bedrijven"] != newsletter.MemberUnsubscribed || ms["onderwijs"] != newsletter.MemberSubscribed || ms["zorg"] != newsletter.MemberSubscribed {
		t.Errorf("memberships %v", ms)
	}
	if isMember(t, a, "bedrijven", who) || !isMember(t, a, "zorg", who) {
		t.Error("member sets not updated")
	}
	// Nothing ticked: no newsletters at all.
	postForm(t, c, u, url.Values{})
	if sub, _, _ := a.Store().GetSubscriber(ctx, who); sub.Status != newsletter.SubscriberUnsubscribed {
		t.Errorf("status %s after unticking all", sub.Status)
	}
}

// newPausedHarness is newHarness whose workers start only when start is
// called, so a test can queue work first.
func newPausedHarness(t *testing.T) (*harness, func()) {
	t.Helper()
	return buildHarness(t, func(c *app.Config) { c.SendConcurrency, c.SendSubscribers = 8, 2 })
}

// An unsubscribe takes effect for a send already queued: the send step
// checks again and records the delivery as skipped.
func TestUnsubscribeAfterQueuedIsSkipped(t *testing.T) {
	t.Parallel()
	h, start := newPausedHarness(t)
	a := h.App
	ctx := context.Background()
	mustList(t, a, "bedrijven", false)
	var emails []string
	for i := range 120 {
		emails = append(emails, fmt.Sprintf("p%03d@example.org", i))
	}
	mustImport(t, a, "bedrijven", csvOf(emails), newsletter.ImportOptions{})
	data, err := os.ReadFile("testdata/dutch.md")
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := a.CreateEdition(ctx, "dutch.md", data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Publish(ctx, e.ID, []string{"bedrijven"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	// Fan out by hand: the delivery jobs are queued, nobody sends yet.
	fan := &workers.FanOut{Store: a.Store(), Chunk: 50, Logger: a.Logger}
	res, err := fan.Run(ctx, "by-hand", workers.EditionPublished{EditionID: e.ID, Lists: []string{"bedrijven"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Queued != len(emails) {
		t.Fatalf("queued %d, want %d", res.Queued, len(emails))
	}
	gone := map[string]bool{emails[3]: true, emails[77]: true, emails[119]: true}
	for e := range gone {
		u := a.Links.Unsubscribe(e, "x")
		resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("unsubscribe: %d", resp.StatusCode)
		}
	}
	start()
	st := h.waitSent(e.ID)
	if st.Counts["skipped"] != int64(len(gone)) || st.Counts["sent"]+st.Counts["delivered"] != int64(len(emails)-len(gone)) {
		t.Errorf("counts %v, want %d skipped", st.Counts, len(gone))
	}
	for em := range gone {
		d, err := a.Store().GetDelivery(ctx, e.ID, em)
		if err != nil || d.State != newsletter.DeliverySkipped {
			t.Errorf("%s: %+v %v, want skipped", em, d, err)
		}
	}
	for _, m := range h.SES.Messages() {
		if gone[m.To[0]] {
			t.Errorf("%s was mailed after unsubscribing", m.To[0])
		}
	}
}

// Double opt-in end to end: the confirmation email goes through the
// pipeline, an unconfirmed member is not mailed, a GET of the link changes
// nothing, a POST confirms, and the next edition reaches the address.
func TestDoubleOptInEndToEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	ctx := context.Background()
	mustList(t, a, "dubbel", true)
	mustList(t, a, "open", false)
	const who = "nieuw@example.org"
	mustImport(t, a, "open", csvOf([]string{"vast@example.org"}), newsletter.ImportOptions{})
	mustImport(t, a, "dubbel", csvOf([]string{"vast@example.org"}), newsletter.ImportOptions{})
	if ok, err := a.Store().Confirm(ctx, "vast@example.org", "dubbel"); err != nil || !ok {
		t.Fatal(ok, err)
	}
	// The import asked vast@ to confirm; that email may or may not have
	// gone before the confirmation above. Count from here on.
	h.waitIdle()
	mailsTo := func(addr string) int {
		n := 0
		for _, m := range h.SES.Messages() {
			if m.To[0] == addr {
				n++
			}
		}
		return n
	}
	vastBefore := mailsTo("vast@example.org")
	// The public form: same answer for a new and a known address.
	c := &http.Client{}
	resp, body := get(t, c, h.HTTP.URL+"/subscribe?list=dubbel")
	if resp.StatusCode != 200 || !strings.Contains(body, "Lijst dubbel") {
		t.Fatalf("form: %d", resp.StatusCode)
	}
	r1, b1 := postForm(t, c, h.HTTP.URL+"/subscribe", url.Values{"list": {"dubbel"}, "email": {" Nieuw@Example.org "}})
	r2, b2 := postForm(t, c, h.HTTP.URL+"/subscribe", url.Values{"list": {"dubbel"}, "email": {"vast@example.org"}})
	if r1.StatusCode != 200 || r2.StatusCode != 200 || strings.ReplaceAll(b1, "Nieuw", "") != strings.ReplaceAll(b2, "Nieuw", "") {
		t.Errorf("subscribe answers differ for a new and a known address: %d %d", r1.StatusCode, r2.StatusCode)
	}
	if r, _ := postForm(t, c, h.HTTP.URL+"/subscribe", url.Values{"list": {"dubbel"}, "email": {"Jan <jan@example.org>"}}); r.StatusCode != 400 {
		t.Errorf("bad address: %d", r.StatusCode)
	}
	if r, _ := postForm(t, c, h.HTTP.URL+"/subscribe", url.Values{"list": {"bestaat-niet"}, "email": {"jan@example.org"}}); r.StatusCode != 404 {
		t.Errorf("unknown list: %d", r.StatusCode)
	}
	if r, _ := postForm(t, c, h.HTTP.URL+"/subscribe", url.Values{"list": {"dubbel"}, "email": {strings.Repeat("a", 5000) + "@example.org"}}); r.StatusCode != 400 {
		t.Errorf("oversized body: %d", r.StatusCode)
	}
	if ms := memberships(t, a, who); ms["dubbel"] != newsletter.MemberUnconfirmed || isMember(t, a, "dubbel", who) {
		t.Fatalf("after the form: %v", ms)
	}

	// The confirmation email arrives through the pipeline.
	var confirmation *sesfake.Message
	waitFor(t, "the confirmation email reached "+who, func() bool {
		for _, m := range h.SES.Messages() {
			if m.To[0] == who {
				confirmation = &m
				return true
			}
		}
		return false
	})
	if m := confirmation; !strings.Contains(m.Subject, "Bevestig") || len(m.Header("List-Id")) != 1 {
		t.Errorf("confirmation email: subject %q, headers %v", m.Subject, m.Headers)
	}
	linkRE := regexp.MustCompile(regexp.QuoteMeta(h.HTTP.URL) + `/c/[A-Za-z0-9_-]+`)
	confirm := linkRE.FindString(confirmation.Text)
	if confirm == "" || !strings.Contains(confirmation.HTML, confirm) {
		t.Fatalf("no confirm link in the email:\n%s", confirmation.Text)
	}
	h.waitIdle()
	if mailsTo("vast@example.org") != vastBefore {
		t.Error("a confirmed member was asked to confirm again")
	}

	// A publish does not reach the unconfirmed address.
	data, err := os.ReadFile("testdata/dutch.md")
	if err != nil {
		t.Fatal(err)
	}
	e1, _, err := a.CreateEdition(ctx, "dutch.md", data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Publish(ctx, e1.ID, []string{"dubbel"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitSent(e1.ID)
	if _, err := a.Store().GetDelivery(ctx, e1.ID, who); err == nil {
		t.Error("the unconfirmed address has a delivery")
	}

	// GET shows a button and confirms nothing (link scanners).
	resp, body = get(t, c, confirm)
	if resp.StatusCode != 200 || !strings.Contains(body, "<form") {
		t.Fatalf("confirm page: %d", resp.StatusCode)
	}
	if ms := memberships(t, a, who); ms["dubbel"] != newsletter.MemberUnconfirmed {
		t.Fatal("a GET confirmed the subscription")
	}
	resp, body = postForm(t, c, confirm, url.Values{"confirm": {"1"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "bevestigd") {
		t.Fatalf("confirm POST: %d %s", resp.StatusCode, body)
	}
	if ms := memberships(t, a, who); ms["dubbel"] != newsletter.MemberSubscribed || !isMember(t, a, "dubbel", who) {
		t.Fatalf("after confirming: %v", ms)
	}
	// A second click is harmless.
	if resp, _ := postForm(t, c, confirm, url.Values{"confirm": {"1"}}); resp.StatusCode != 200 {
		t.Errorf("second confirm: %d", resp.StatusCode)
	}

	// The next edition reaches it.
	e2, _, err := a.CreateEdition(ctx, "dutch.md", data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Publish(ctx, e2.ID, []string{"dubbel"}, app.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitSent(e2.ID)
	d, err := a.Store().GetDelivery(ctx, e2.ID, who)
	if err != nil || d.MessageID == "" {
		t.Fatalf("confirmed address not mailed: %+v %v", d, err)
	}
	// Subscribing again after confirming sends no new confirmation.
	before := h.SES.Count()
	postForm(t, c, h.HTTP.URL+"/subscribe", url.Values{"list": {"dubbel"}, "email": {who}})
	h.waitIdle()
	if h.SES.Count() != before {
		t.Error("a confirmed member was asked to confirm again")
	}
}

func TestAdminAPIAuthAndRoutes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.App
	ctx := context.Background()
	mustList(t, a, "bedrijven", false)
	call := func(method, path, tok, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, h.HTTP.URL+path, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	const tok = "admin-token-0123456789"
	routes := [][2]string{
		{"GET", "/api/v1/subscribers?q=x"}, {"POST", "/api/v1/subscribers"}, {"GET", "/api/v1/subscribers/counts"},
		{"GET", "/api/v1/subscribers/jan@example.org"}, {"PATCH", "/api/v1/subscribers/jan@example.org"},
		{"DELETE", "/api/v1/subscribers/jan@example.org"}, {"DELETE", "/api/v1/subscribers/jan@example.org/lists/bedrijven"},
		{"POST", "/api/v1/subscribers/jan@example.org/block"}, {"GET", "/api/v1/subscribers/jan@example.org/personal-data"},
		{"PATCH", "/api/v1/lists/bedrijven"}, {"GET", "/api/v1/lists"},
	}
	for _, r := range routes {
		for _, bad := range []string{"", "wrong-token-0123456789"} {
			if code, _ := call(r[0], r[1], bad, "{}"); code != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q: %d, want 401", r[0], r[1], bad, code)
			}
		}
	}
	if _, _, err := a.Store().GetSubscriber(ctx, "jan@example.org"); err == nil {
		t.Fatal("an unauthorised call changed the store")
	}
	code, body := call("POST", "/api/v1/subscribers", tok, `{"email":"Jan@Example.org","list":"bedrijven","name":"Jan","attributes":{"regio":"utrecht"}}`)
	if code != 201 || !strings.Contains(body, `"membership": "subscribed"`) {
		t.Fatalf("add: %d %s", code, body)
	}
	if code, body := call("POST", "/api/v1/subscribers", tok, `{"email":"jan@example.org"}`); code != 400 || !strings.Contains(body, "list") {
		t.Errorf("add without list: %d %s", code, body)
	}
	if code, _ := call("PATCH", "/api/v1/lists/bedrijven", tok, `{"description":"Bedrijven in de regio","double_opt_in":true}`); code != 200 {
		t.Errorf("describe list: %d", code)
	}
	code, body = call("GET", "/api/v1/lists", tok, "")
	if code != 200 || !strings.Contains(body, `"subscribed": 1`) || !strings.Contains(body, "Bedrijven in de regio") {
		t.Errorf("lists: %d %s", code, body)
	}
	if code, body := call("PATCH", "/api/v1/subscribers/jan@example.org", tok, `{"organisation":"Acme"}`); code != 200 || !strings.Contains(body, "Acme") {
		t.Errorf("update: %d %s", code, body)
	}
	if code, body := call("GET", "/api/v1/subscribers?q=acme&limit=5", tok, ""); code != 200 || !strings.Contains(body, "jan@example.org") {
		t.Errorf("search: %d %s", code, body)
	}
	if code, _ := call("GET", "/api/v1/subscribers?limit=abc", tok, ""); code != 400 {
		t.Errorf("bad limit: %d", code)
	}
	if code, body := call("GET", "/api/v1/subscribers/counts", tok, ""); code != 200 || !strings.Contains(body, `"active": 1`) {
		t.Errorf("counts: %d %s", code, body)
	}
	if code, body := call("POST", "/api/v1/subscribers/jan@example.org/block", tok, `{"reason":"spam"}`); code != 200 || !strings.Contains(body, "blocklisted") {
		t.Errorf("block: %d %s", code, body)
	}
	if code, body := call("GET", "/api/v1/subscribers/jan@example.org/personal-data", tok, ""); code != 200 || !strings.Contains(body, address.Hash("jan@example.org")) {
		t.Errorf("personal data: %d %s", code, body)
	}
	if code, _ := call("DELETE", "/api/v1/subscribers/jan@example.org/lists/bedrijven", tok, ""); code != 204 {
		t.Errorf("remove from list: %d", code)
	}
	if code, _ := call("DELETE", "/api/v1/subscribers/jan@example.org/lists/bedrijven", tok, ""); code != 404 {
		t.Errorf("remove again: %d", code)
	}
	if code, body := call("DELETE", "/api/v1/subscribers/jan@example.org", tok, ""); code != 200 || !strings.Contains(body, `"found": true`) {
		t.Errorf("erase: %d %s", code, body)
	}
	if code, _ := call("GET", "/api/v1/subscribers/jan@example.org", tok, ""); code != 404 {
		t.Errorf("after erase: %d", code)
	}
	if code, _ := call("GET", "/api/v1/subscribers/not-an-address", tok, ""); code != 400 {
		t.Errorf("bad address: %d", code)
	}
}

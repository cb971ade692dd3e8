package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/redisstore"
	"newsletter/internal/redistest"
)

// queue creates queued deliveries of edition id, attributed to list.
func queue(t *testing.T, s *redisstore.Store, id, list string, emails ...string) {
	t.Helper()
	ts := make([]newsletter.Transition, len(emails))
	for i, e := range emails {
		ts[i] = newsletter.Transition{Email: e, To: queued, List: list}
	}
	if _, err := s.Transition(context.Background(), id, ts); err != nil {
		t.Fatal(err)
	}
}

// clockedStore is a store whose clock reads the time it returns a pointer
// to (it moves only when the test moves it).
func clockedStore(t *testing.T) (*redisstore.Store, *time.Time) {
	s := redisstore.New(redistest.Client(t), redistest.Prefix(t))
	at := time.UnixMilli(1_800_000_000_000)
	s.Now = func() time.Time { return at }
	return s, &at
}

// Claim takes exactly the queued deliveries, says who holds the others, and
// re-checks every address in the same round trip; Record moves the claimed
// ones, keeps counters and the message-id index, and stamps updated_at.
func TestClaimAndRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := clockedStore(t)
	at := *clock
	if err := s.CreateEdition(ctx, &newsletter.Edition{ID: "e1", Subject: "e1"}); err != nil {
		t.Fatal(err)
	}
	queue(t, s, "e1", "l", "a@x.org", "b@x.org", "c@x.org")
	if _, err := s.Transition(ctx, "e1", []newsletter.Transition{{Email: "c@x.org", From: states{queued}, To: sent}}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Claim(ctx, "e1", nil, true, "w1/n1/0", time.Minute, []string{"a@x.org", "c@x.org", "zz@x.org"})
	if err != nil {
		t.Fatal(err)
	}
	if !cs[0].Claimed || cs[1].Claimed || cs[1].Current != sent || cs[2].Claimed || cs[2].Current != none {
		t.Fatalf("claims %+v, want a claimed, c sent, zz none", cs)
	}
	if cs[0].Why != "not a subscriber" {
		t.Errorf("re-check of a@x.org: %q, want %q (it is no subscriber in this store)", cs[0].Why, "not a subscriber")
	}
	again, err := s.Claim(ctx, "e1", nil, true, "w2/n2/0", time.Minute, []string{"a@x.org", "b@x.org"})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Claimed || again[0].Current != sending || again[0].Owner != "w1/n1/0" || !again[0].LeaseUntil.Equal(at.Add(time.Minute)) {
		t.Errorf("second claim of a@x.org: %+v, want sending, owned by w1/n1/0 until %v", again[0], at.Add(time.Minute))
	}
	if !again[1].Claimed {
		t.Errorf("b@x.org was queued: %+v, want claimed", again[1])
	}
	n, _ := s.Counts(ctx, "e1")
	if n["queued"] != 0 || n["sending"] != 2 || n["sent"] != 1 || n["total"] != 3 {
		t.Errorf("counts after the claims: %v", n)
	}

	*clock = clock.Add(time.Second)
	res, err := s.Record(ctx, "e1", []newsletter.SendOutcome{
		{Email: "a@x.org", To: sent, MessageID: "m-a"},
		{Email: "b@x.org", To: failed, Reason: "MESSAGE_REJECTED: no"},
		{Email: "c@x.org", To: failed, Reason: "late"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Done || res[0].Current != sending || !res[1].Done || res[2].Done || res[2].Current != sent {
		t.Errorf("record results %+v, want a and b moved from sending, c left sent", res)
	}
	n, _ = s.Counts(ctx, "e1")
	if n["sending"] != 0 || n["sent"] != 2 || n["failed"] != 1 {
		t.Errorf("counts after recording: %v", n)
	}
	lc, _ := s.ListCounts(ctx, "e1")
	if lc["l"]["sent"] != 2 || lc["l"]["failed"] != 1 || lc["l"]["sending"] != 0 || lc["l"]["queued"] != 0 {
		t.Errorf("list counts after recording: %v", lc["l"])
	}
	if ed, em, err := s.LookupMessageID(ctx, "m-a", []string{"a@x.org"}); err != nil || ed != "e1" || em != "a@x.org" {
		t.Errorf("message id index: %q %q %v", ed, em, err)
	}
	d, _ := s.GetDelivery(ctx, "e1", "b@x.org")
	if d.State != failed || d.Reason != "MESSAGE_REJECTED: no" {
		t.Errorf("b@x.org: %+v", d)
	}
	rdb := s.Client()
	// The state and its time are one field: a move writes one hash of
	// the edition's size, not two.
	if v := rdb.HGet(ctx, edKey(s, "e1", "st"), "a@x.org").Val(); v != "sent\t1800000001000" {
		t.Errorf("state field of a@x.org = %q, want sent at the record time 1800000001000", v)
	}
	if n := rdb.Exists(ctx, edKey(s, "e1", "at")).Val(); n != 0 {
		t.Error("claiming and recording wrote the update-time hash of earlier versions")
	}
	err = s.ScanDeliveryRows(ctx, "e1", sent, func(r newsletter.DeliveryRow) error {
		if r.Email == "a@x.org" && !r.UpdatedAt.Equal(time.UnixMilli(1800000001000)) {
			t.Errorf("ledger: a@x.org updated %v, want the record time", r.UpdatedAt)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := s.ClaimHolders(ctx, "e1"); err != nil || len(h) != 0 {
		t.Errorf("claim holders after recording: %v %v, want none", h, err)
	}
}

// While a delivery is claimed, its update time carries who holds the claim;
// a claim of an earlier version (owner in the separate "own" hash) is
// still reported to the next claimer, and the update time reads as a time
// either way.
func TestClaimHolders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := clockedStore(t)
	at := *clock
	queue(t, s, "e1", "l", "a@x.org", "b@x.org", "old@x.org")
	if _, err := s.Claim(ctx, "e1", nil, true, "w1/n1", time.Minute, []string{"a@x.org", "b@x.org"}); err != nil {
		t.Fatal(err)
	}
	h, err := s.ClaimHolders(ctx, "e1")
	if err != nil || len(h) != 2 || h["a@x.org"] != "w1/n1" || h["b@x.org"] != "w1/n1" {
		t.Fatalf("claim holders %v %v, want a and b held by w1/n1", h, err)
	}
	rows := 0
	err = s.ScanDeliveryRows(ctx, "e1", sending, func(r newsletter.DeliveryRow) error {
		rows++
		if !r.UpdatedAt.Equal(at) {
			t.Errorf("claimed delivery %s: update time %v, want %v", r.Email, r.UpdatedAt, at)
		}
		return nil
	})
	if err != nil || rows != 2 {
		t.Errorf("ledger of the sending deliveries: %d rows, %v; want 2", rows, err)
	}
	rdb := s.Client()
	if _, err := s.Transition(ctx, "e1", []newsletter.Transition{{Email: "old@x.org", From: states{queued}, To: sending}}); err != nil {
		t.Fatal(err)
	}
	lease := at.Add(time.Hour)
	if err := rdb.HSet(ctx, edKey(s, "e1", "own"), "old@x.org", fmt.Sprintf("w0/old\t%d", lease.UnixMilli())).Err(); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Claim(ctx, "e1", nil, true, "w2/n2", time.Minute, []string{"a@x.org", "old@x.org"})
	if err != nil {
		t.Fatal(err)
	}
	if cs[0].Claimed || cs[0].Owner != "w1/n1" || !cs[0].LeaseUntil.Equal(at.Add(time.Minute)) {
		t.Errorf("a@x.org: %+v, want held by w1/n1 until %v", cs[0], at.Add(time.Minute))
	}
	if cs[1].Claimed || cs[1].Owner != "w0/old" || !cs[1].LeaseUntil.Equal(lease) {
		t.Errorf("old@x.org, claimed by an earlier version: %+v, want held by w0/old until %v", cs[1], lease)
	}
	// Recording it drops the earlier version's owner, as that version did.
	if _, err := s.Record(ctx, "e1", []newsletter.SendOutcome{{Email: "old@x.org", To: sent, MessageID: "m-old"}}); err != nil {
		t.Fatal(err)
	}
	if rdb.HExists(ctx, edKey(s, "e1", "own"), "old@x.org").Val() {
		t.Error("a recorded delivery claimed by an earlier version still has its owner in the own hash")
	}
}

// After a Redis restart the scripts are gone: Claim and Record load them
// again instead of failing. Not parallel: SCRIPT FLUSH empties the script
// cache of every test on this redis-server.
func TestClaimSurvivesScriptFlush(t *testing.T) {
	ctx := context.Background()
	s := redisstore.New(redistest.Client(t), redistest.Prefix(t))
	queue(t, s, "e1", "", "a@x.org", "b@x.org")
	if _, err := s.Claim(ctx, "e1", nil, true, "o", time.Minute, []string{"a@x.org"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Client().ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Claim(ctx, "e1", nil, true, "o", time.Minute, []string{"b@x.org"})
	if err != nil || !cs[0].Claimed {
		t.Fatalf("claim after SCRIPT FLUSH: %+v, %v", cs, err)
	}
	if err := s.Client().ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(ctx, "e1", []newsletter.SendOutcome{{Email: "b@x.org", To: sent}}); err != nil {
		t.Fatalf("record after SCRIPT FLUSH: %v", err)
	}
}

// Create leaves exactly what the same creations through Transition leave:
// states, reasons, lists, counters; existing deliveries and repeats are
// left alone.
func TestCreateMatchesTransition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := redisstore.New(redistest.Client(t), redistest.Prefix(t)+"a:")
	b := redisstore.New(redistest.Client(t), redistest.Prefix(t)+"b:")
	ts := []newsletter.Transition{
		{Email: "a@x.org", To: queued, List: "l1"},
		{Email: "b@x.org", To: skipped, Reason: "suppressed", List: "l1"},
		{Email: "a@x.org", To: queued, List: "l2"}, // repeat: the first wins
		{Email: "c@x.org", To: queued},
		{Email: "old@x.org", To: queued, List: "l2"},
	}
	for _, s := range []*redisstore.Store{a, b} {
		if _, err := s.Transition(ctx, "e1", []newsletter.Transition{{Email: "old@x.org", To: queued, List: "l1"}, {Email: "old@x.org", From: states{queued}, To: sending}}); err != nil {
			t.Fatal(err)
		}
	}
	ra, err := a.Create(ctx, "e1", ts)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Transition(ctx, "e1", ts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ts {
		if ra[i].Done != rb[i].Done || (!ra[i].Done && ra[i].Current != rb[i].Current) {
			t.Errorf("%s: Create %+v, Transition %+v", ts[i].Email, ra[i], rb[i])
		}
	}
	na, _ := a.Counts(ctx, "e1")
	nb, _ := b.Counts(ctx, "e1")
	la, _ := a.ListCounts(ctx, "e1")
	lb, _ := b.ListCounts(ctx, "e1")
	if fmt.Sprint(na) != fmt.Sprint(nb) || fmt.Sprint(la) != fmt.Sprint(lb) {
		t.Errorf("counts after Create %v %v, after Transition %v %v", na, la, nb, lb)
	}
	for _, em := range []string{"a@x.org", "b@x.org", "c@x.org", "old@x.org"} {
		da, _ := a.GetDelivery(ctx, "e1", em)
		db, _ := b.GetDelivery(ctx, "e1", em)
		if da.State != db.State || da.Reason != db.Reason {
			t.Errorf("%s: Create %+v, Transition %+v", em, da, db)
		}
	}
}

// BenchmarkClaimRecord1000 claims and records 1,000 deliveries in calls of
// 50, as the send step does: two round trips per call.
func BenchmarkClaimRecord1000(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Client(b)
	s := redisstore.New(rdb, redistest.Prefix(b))
	emails := make([]string, 1000)
	ts := make([]newsletter.Transition, len(emails))
	for i := range emails {
		emails[i] = fmt.Sprintf("r%04d@example.org", i)
		ts[i] = newsletter.Transition{Email: emails[i], To: queued, List: "l"}
	}
	b.ReportAllocs()
	var create time.Duration
	cpu0 := redisCPU(b, rdb)
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("e%d", i)
		c0 := redisCPU(b, rdb)
		if _, err := s.Create(ctx, id, ts); err != nil {
			b.Fatal(err)
		}
		create += redisCPU(b, rdb) - c0
		for j := 0; j < len(emails); j += 50 {
			call := emails[j : j+50]
			if _, err := s.Claim(ctx, id, nil, true, "bench/1", time.Minute, call); err != nil {
				b.Fatal(err)
			}
			outs := make([]newsletter.SendOutcome, len(call))
			for k, em := range call {
				outs[k] = newsletter.SendOutcome{Email: em, To: sent, MessageID: "m-" + em}
			}
			if _, err := s.Record(ctx, id, outs); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportRedisCPU(b, redisCPU(b, rdb)-cpu0-create, 1000)
}

// redisCPU is the CPU time Redis has used (INFO cpu, user and sys).
func redisCPU(b *testing.B, rdb redis.UniversalClient) time.Duration {
	b.Helper()
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for line := range strings.Lines(info) {
		for _, f := range []string{"used_cpu_user:", "used_cpu_sys:"} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), f); ok {
				n, _ := strconv.ParseFloat(v, 64)
				sum += n
			}
		}
	}
	return time.Duration(sum * float64(time.Second))
}

// reportRedisCPU reports Redis's CPU per email of a benchmark that handled
// perOp emails per iteration. INFO cpu counts whole server time, the INFO
// calls included, so it is an upper bound.
func reportRedisCPU(b *testing.B, cpu time.Duration, perOp int) {
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*perOp), "redis-µs/email")
}

// BenchmarkFanOutCreate1000 creates 1,000 queued deliveries (the fan-out's
// write) in one call.
func BenchmarkFanOutCreate1000(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Client(b)
	s := redisstore.New(rdb, redistest.Prefix(b))
	ts := make([]newsletter.Transition, 1000)
	for i := range ts {
		ts[i] = newsletter.Transition{Email: fmt.Sprintf("r%04d@example.org", i), To: queued, List: "l"}
	}
	cpu0 := redisCPU(b, rdb)
	for i := 0; b.Loop(); i++ {
		if _, err := s.Create(ctx, fmt.Sprintf("e%d", i), ts); err != nil {
			b.Fatal(err)
		}
	}
	reportRedisCPU(b, redisCPU(b, rdb)-cpu0, 1000)
}

// The message-id index is the editions' own message ids: recording a send
// writes no other key, and a lookup with the event's recipients finds the
// edition that sent the id, also one beyond the first page of editions
// asked; it reads the indexes of earlier versions (a hash per day, a key
// per id) while they are kept, and finds nothing for an id sent to someone
// else, never sent, or indexed for an address the edition has no delivery
// to.
func TestMessageIDLookup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Client(t)
	s := redisstore.New(rdb, redistest.Prefix(t))
	now := new(time.UnixMilli(1_800_000_000_000))
	s.Now = func() time.Time { return *now }
	// Twenty editions, e00 the oldest: e00 is on the second page of a
	// lookup (newest first, 16 to a page).
	for i := range 20 {
		id := fmt.Sprintf("e%02d", i)
		if err := s.CreateEdition(ctx, &newsletter.Edition{ID: id, Subject: id}); err != nil {
			t.Fatal(err)
		}
		*now = now.Add(time.Minute)
	}
	for _, id := range []string{"e00", "e19"} {
		queue(t, s, id, "l", "a@x.org", "b@x.org")
		if _, err := s.Claim(ctx, id, nil, true, "w1", time.Minute, []string{"a@x.org", "b@x.org"}); err != nil {
			t.Fatal(err)
		}
	}
	keys := func() []string {
		ks, err := rdb.Keys(ctx, s.Prefix()+"msg*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	before := keys()
	for _, id := range []string{"e00", "e19"} {
		if _, err := s.Record(ctx, id, []newsletter.SendOutcome{{Email: "a@x.org", To: sent, MessageID: "m-a-" + id}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.IndexMessageIDs(ctx, "e00", map[string]string{"b@x.org": "m-b", "nobody@x.org": "m-nobody"}); err != nil {
		t.Fatal(err)
	}
	if after := keys(); len(after) != len(before) {
		t.Errorf("recording and indexing wrote %v beside the editions' message ids", after)
	}
	// Earlier versions' indexes: a day's hash and a key per id.
	if err := rdb.HSet(ctx, s.Prefix()+"msgs:"+now.UTC().AddDate(0, 0, -3).Format(time.DateOnly), "m-day", "e7 d@x.org").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, s.Prefix()+"msg:m-old", "e0 c@x.org", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mid    string
		emails []string
		want   string
	}{
		{"m-a-e19", []string{"a@x.org"}, "e19 a@x.org"},
		{"m-a-e00", []string{"a@x.org"}, "e00 a@x.org"},
		{"m-a-e00", []string{"z@x.org", "a@x.org"}, "e00 a@x.org"},
		{"m-b", []string{"b@x.org"}, "e00 b@x.org"},
		{"m-day", nil, "e7 d@x.org"},
		{"m-old", []string{"c@x.org"}, "e0 c@x.org"},
	} {
		ed, em, err := s.LookupMessageID(ctx, c.mid, c.emails)
		if err != nil || ed+" "+em != c.want {
			t.Errorf("LookupMessageID(%s, %v) = %q %q %v, want %s", c.mid, c.emails, ed, em, err, c.want)
		}
	}
	for _, c := range []struct {
		mid    string
		emails []string
	}{
		{"m-a-e00", []string{"b@x.org"}}, // sent to a, not b
		{"m-never", []string{"a@x.org"}},
		{"m-nobody", []string{"nobody@x.org"}}, // no delivery to index it for
		{"m-a-e00", nil},
	} {
		if ed, em, err := s.LookupMessageID(ctx, c.mid, c.emails); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
			t.Errorf("LookupMessageID(%s, %v) = %q %q %v, want not found", c.mid, c.emails, ed, em, err)
		}
	}
}

// Deliverable answers for every email of one call in its own place: the
// suppression list and the erased set are asked once for all of them, so an
// answer that slid to a neighbour would mail a suppressed or erased person.
func TestDeliverableSaysWhyPerEmail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redisstore.New(redistest.Client(t), redistest.Prefix(t))
	people := []string{"ok1@x.org", "supp@x.org", "ok2@x.org", "gone@x.org", "left@x.org", "ok3@x.org"}
	in := make([]newsletter.SubscriberInput, len(people))
	for i, p := range people {
		in[i] = newsletter.SubscriberInput{Email: p, Name: "N " + p}
	}
	if _, err := s.ImportBatch(ctx, newsletter.ImportOptions{List: "l"}, in); err != nil {
		t.Fatal(err)
	}
	if err := s.Suppress(ctx, "supp@x.org", "bounce", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Erase(ctx, "gone@x.org", nil, "", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Erase(ctx, "never@x.org", nil, "", true); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsubscribe(ctx, "left@x.org", "", "test"); err != nil {
		t.Fatal(err)
	}
	ask := append(people, "never@x.org", "nobody@x.org")
	got, err := s.Deliverable(ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"supp@x.org": "suppressed", "gone@x.org": "erased", "never@x.org": "erased", "nobody@x.org": "not a subscriber"}
	for i, e := range ask {
		w, bad := want[e]
		switch {
		case e == "left@x.org":
			if got[i].Why == "" {
				t.Errorf("%s unsubscribed: deliverable, want a reason", e)
			}
		case bad && got[i].Why != w:
			t.Errorf("%s: why %q, want %q", e, got[i].Why, w)
		case !bad && (got[i].Why != "" || got[i].Name != "N "+e):
			t.Errorf("%s: why %q name %q, want deliverable as %q", e, got[i].Why, got[i].Name, "N "+e)
		}
	}
	if none, err := s.Deliverable(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("Deliverable(nil) = %v, %v; want nothing and no error", none, err)
	}
}

// BenchmarkClaimRecordLargeEdition claims and records in calls of 50 from
// an edition of 100,000 queued deliveries, as a large send does (the
// edition's hashes are large, not the listpacks of a small one). One
// iteration is 1,000 emails; Redis's CPU is reported for claims and
// records apart. The re-check finds no subscribers here (each subscriber
// read is one HMGET of a key that does not exist).
func BenchmarkClaimRecordLargeEdition(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Client(b)
	s := redisstore.New(rdb, redistest.Prefix(b))
	const size = 100_000
	emails := make([]string, size)
	ts := make([]newsletter.Transition, size)
	for i := range emails {
		emails[i] = fmt.Sprintf("r%06d@bench.example.org", i)
		ts[i] = newsletter.Transition{Email: emails[i], To: queued, List: "l"}
	}
	edition, next := 0, size
	var claims, records time.Duration
	for b.Loop() {
		if next == size {
			b.StopTimer()
			edition++
			if _, err := s.Create(ctx, fmt.Sprint("e", edition), ts); err != nil {
				b.Fatal(err)
			}
			next = 0
			b.StartTimer()
		}
		id, part := fmt.Sprint("e", edition), emails[next:next+1000]
		next += 1000
		c0 := redisCPU(b, rdb)
		lists := make([]string, 0, len(part))
		for j := 0; j < len(part); j += 50 {
			cs, err := s.Claim(ctx, id, nil, true, "bench/1", time.Minute, part[j:j+50])
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range cs {
				lists = append(lists, c.List)
			}
		}
		c1 := redisCPU(b, rdb)
		for j := 0; j < len(part); j += 50 {
			outs := make([]newsletter.SendOutcome, 50)
			for k, em := range part[j : j+50] {
				// The outcome carries the claim's list, as the send step's do.
				outs[k] = newsletter.SendOutcome{Email: em, To: sent, MessageID: "0100019a-" + em, List: lists[j+k]}
			}
			if _, err := s.Record(ctx, id, outs); err != nil {
				b.Fatal(err)
			}
		}
		claims += c1 - c0
		records += redisCPU(b, rdb) - c1
	}
	b.ReportMetric(float64(claims.Nanoseconds())/1e3/float64(b.N*1000), "claim-redis-µs/email")
	b.ReportMetric(float64(records.Nanoseconds())/1e3/float64(b.N*1000), "record-redis-µs/email")
}

// BenchmarkDeliverable50 re-checks 50 subscribers at a time, as a claim of
// one SES call does: their status and name, the suppression list and the
// erased set.
func BenchmarkDeliverable50(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Client(b)
	s := redisstore.New(rdb, redistest.Prefix(b))
	in := make([]newsletter.SubscriberInput, 1000)
	emails := make([]string, len(in))
	for i := range in {
		emails[i] = fmt.Sprintf("r%04d@bench.example.org", i)
		in[i] = newsletter.SubscriberInput{Email: emails[i], Name: fmt.Sprintf("Naam %d", i), Organisation: "Bedrijf"}
	}
	if _, err := s.ImportBatch(ctx, newsletter.ImportOptions{List: "l"}, in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := redisCPU(b, rdb)
	for i := 0; b.Loop(); i++ {
		j := i % 20 * 50
		if _, err := s.Deliverable(ctx, emails[j:j+50]); err != nil {
			b.Fatal(err)
		}
	}
	reportRedisCPU(b, redisCPU(b, rdb)-cpu0, 50)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N*50), "µs/email")
}

// A claim says which list each claimed delivery is attributed to; the
// record counts under the list its outcome carries, or, for an outcome
// without one, the list it reads.
func TestRecordCountsUnderTheClaimsList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := clockedStore(t)
	queue(t, s, "e1", "bedrijven", "a@x.org", "b@x.org")
	queue(t, s, "e1", "scholen", "c@x.org", "d@x.org")
	queue(t, s, "e1", "", "e@x.org")
	emails := []string{"a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org"}
	claims, err := s.Claim(ctx, "e1", nil, true, "w1", time.Minute, emails)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bedrijven", "bedrijven", "scholen", "scholen", ""}
	var outs []newsletter.SendOutcome
	for i, c := range claims {
		if !c.Claimed || c.List != want[i] {
			t.Errorf("claim of %s: claimed %v, list %q; want claimed, list %q", emails[i], c.Claimed, c.List, want[i])
		}
		o := newsletter.SendOutcome{Email: emails[i], To: sent, MessageID: "m-" + emails[i], List: c.List}
		if i%2 == 1 {
			o.List = "" // read again
		}
		outs = append(outs, o)
	}
	outs[4].To, outs[4].MessageID, outs[4].Reason = failed, "", "MESSAGE_REJECTED"
	if _, err := s.Record(ctx, "e1", outs); err != nil {
		t.Fatal(err)
	}
	lc, err := s.ListCounts(ctx, "e1")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"bedrijven", "scholen"} {
		if lc[l]["sent"] != 2 || lc[l]["sending"] != 0 || lc[l]["queued"] != 0 {
			t.Errorf("list %s counts %v, want both sent", l, lc[l])
		}
	}
	if _, ok := lc[""]; ok {
		t.Errorf("counts under no list: %v", lc[""])
	}
	n, _ := s.Counts(ctx, "e1")
	if n["sent"] != 4 || n["failed"] != 1 || n["sending"] != 0 {
		t.Errorf("counts %v, want 4 sent and 1 failed", n)
	}
}

// The fan-out's deliveries get no update time of their own (one field
// fewer per recipient): the ledger shows them queued at the edition's
// publication until a claim stamps them.
func TestCreatedDeliveriesDateFromPublication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Client(t)
	s := redisstore.New(rdb, redistest.Prefix(t))
	now := new(time.UnixMilli(1_800_000_000_000).UTC())
	s.Now = func() time.Time { return *now }
	e := &newsletter.Edition{Subject: "Nieuws"}
	if err := s.CreateEdition(ctx, e); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(time.Hour)
	published := *now
	if _, _, err := s.Freeze(ctx, e.ID, []string{"l"}); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(time.Minute)
	ts := []newsletter.Transition{{Email: "a@x.org", To: queued, List: "l"}, {Email: "b@x.org", To: queued, List: "l"}}
	if _, err := s.Create(ctx, e.ID, ts); err != nil {
		t.Fatal(err)
	}
	if v := rdb.HGet(ctx, edKey(s, e.ID, "st"), "a@x.org").Val(); v != "queued" {
		t.Errorf("created state field %q, want the bare state without a time", v)
	}
	*now = now.Add(time.Minute)
	claimed := *now
	if _, err := s.Claim(ctx, e.ID, nil, true, "w1", time.Minute, []string{"b@x.org"}); err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Time{}
	if err := s.ScanDeliveryRows(ctx, e.ID, "", func(r newsletter.DeliveryRow) error {
		got[r.Email] = r.UpdatedAt
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !got["a@x.org"].Equal(published) || !got["b@x.org"].Equal(claimed) {
		t.Errorf("update times %v, want a@x.org at the publication %v and b@x.org at its claim %v", got, published, claimed)
	}
}

// An edition written by an earlier version keeps its state fields without
// a time and its times (and claim holders) in the update-time hash: its
// deliveries read with their states and times, a claim held there is
// reported to the next claimer, and the queued ones are claimed and
// recorded as usual.
func TestEarlierLayoutIsRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := clockedStore(t)
	rdb := s.Client()
	key := func(part string) string { return edKey(s, "e1", part) }
	sentAt, claimedAt := clock.Add(-time.Hour), clock.Add(-time.Minute)
	lease := clock.Add(time.Hour)
	if err := rdb.HSet(ctx, key("st"), "a@x.org", "sent", "b@x.org", "sending", "c@x.org", "queued").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, key("at"), "a@x.org", sentAt.UnixMilli(),
		"b@x.org", fmt.Sprintf("%d\tw0/old\t%d", claimedAt.UnixMilli(), lease.UnixMilli())).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, key("n"), "total", 3, "sent", 1, "sending", 1, "queued", 1).Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]newsletter.DeliveryState{"a@x.org": sent, "b@x.org": sending, "c@x.org": queued}
	for em, st := range want {
		if d, err := s.GetDelivery(ctx, "e1", em); err != nil || d.State != st {
			t.Errorf("GetDelivery(%s) = %+v, %v; want %s", em, d, err, st)
		}
	}
	rows := map[string]newsletter.DeliveryRow{}
	if err := s.ScanDeliveryRows(ctx, "e1", "", func(r newsletter.DeliveryRow) error { rows[r.Email] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if r := rows["a@x.org"]; r.State != sent || !r.UpdatedAt.Equal(sentAt) {
		t.Errorf("ledger row of a@x.org %+v, want sent at %v", r, sentAt)
	}
	if r := rows["b@x.org"]; r.State != sending || !r.UpdatedAt.Equal(claimedAt) {
		t.Errorf("ledger row of b@x.org %+v, want sending since %v", r, claimedAt)
	}
	cs, err := s.Claim(ctx, "e1", nil, true, "w1/new", time.Minute, []string{"a@x.org", "b@x.org", "c@x.org"})
	if err != nil {
		t.Fatal(err)
	}
	if cs[0].Claimed || cs[0].Current != sent {
		t.Errorf("claim of a@x.org: %+v, want refused, sent", cs[0])
	}
	if cs[1].Claimed || cs[1].Owner != "w0/old" || !cs[1].LeaseUntil.Equal(lease) {
		t.Errorf("claim of b@x.org: %+v, want held by w0/old until %v", cs[1], lease)
	}
	if !cs[2].Claimed {
		t.Errorf("claim of c@x.org: %+v, want claimed", cs[2])
	}
	res, err := s.Record(ctx, "e1", []newsletter.SendOutcome{{Email: "b@x.org", To: sent, MessageID: "m-b"}, {Email: "c@x.org", To: sent, MessageID: "m-c"}})
	if err != nil || !res[0].Done || res[0].Current != sending || !res[1].Done {
		t.Fatalf("record: %+v %v, want both moved from sending", res, err)
	}
	if n, _ := s.Counts(ctx, "e1"); n["sent"] != 3 || n["sending"] != 0 || n["queued"] != 0 {
		t.Errorf("counts %v, want 3 sent", n)
	}
	if d, _ := s.GetDelivery(ctx, "e1", "b@x.org"); d == nil || d.State != sent || d.MessageID != "m-b" {
		t.Errorf("b@x.org after the record: %+v", d)
	}
}

// An edition fanned out by this version keeps its first list as a default:
// deliveries from it have no field in the list hash, those from other
// lists (or from none) do, and claims, records, event transitions and the
// personal-data trace attribute every delivery to its list all the same.
// An edition whose deliveries an earlier version created (every list in
// the hash, no default) keeps that layout for the deliveries added later.
func TestDefaultListLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := clockedStore(t)
	rdb := s.Client()
	create := func(id, list string, emails ...string) {
		t.Helper()
		ts := make([]newsletter.Transition, len(emails))
		for i, e := range emails {
			ts[i] = newsletter.Transition{Email: e, To: queued, List: list}
		}
		if _, err := s.Create(ctx, id, ts); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateEdition(ctx, &newsletter.Edition{ID: "e1", Subject: "e1"}); err != nil {
		t.Fatal(err)
	}
	create("e1", "bedrijven", "a@x.org", "b@x.org")
	create("e1", "scholen", "c@x.org", "a@x.org") // a@ is already queued from bedrijven
	create("e1", "", "d@x.org")
	if got, err := rdb.HGetAll(ctx, edKey(s, "e1", "lst")).Result(); err != nil || len(got) != 2 || got["c@x.org"] != "scholen" || got["d@x.org"] != "" {
		t.Errorf("list hash %v (%v), want only c@ → scholen and d@ → \"\"", got, err)
	}
	if d, err := rdb.Get(ctx, edKey(s, "e1", "dl")).Result(); err != nil || d != "bedrijven" {
		t.Errorf("default list %q (%v), want bedrijven", d, err)
	}
	emails := []string{"a@x.org", "b@x.org", "c@x.org", "d@x.org"}
	claims, err := s.Claim(ctx, "e1", nil, true, "w1", time.Minute, emails)
	if err != nil {
		t.Fatal(err)
	}
	wantList := []string{"bedrijven", "bedrijven", "scholen", ""}
	var outs []newsletter.SendOutcome
	for i, c := range claims {
		if !c.Claimed || c.List != wantList[i] {
			t.Errorf("claim of %s: claimed %v, list %q; want claimed, list %q", emails[i], c.Claimed, c.List, wantList[i])
		}
		o := newsletter.SendOutcome{Email: emails[i], To: sent, MessageID: "m-" + emails[i], List: c.List}
		if i == 1 {
			o.List = "" // the record reads it again
		}
		outs = append(outs, o)
	}
	if _, err := s.Record(ctx, "e1", outs); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, "e1", []newsletter.Transition{
		{Email: "a@x.org", From: []newsletter.DeliveryState{sent}, To: newsletter.DeliveryBounced},
		{Email: "c@x.org", From: []newsletter.DeliveryState{sent}, To: newsletter.DeliveryBounced},
	}); err != nil {
		t.Fatal(err)
	}
	lc, err := s.ListCounts(ctx, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if b := lc["bedrijven"]; b["total"] != 2 || b["sent"] != 1 || b["bounced"] != 1 || b["queued"] != 0 || b["sending"] != 0 {
		t.Errorf("bedrijven counts %v, want 2: 1 sent, 1 bounced", b)
	}
	if sc := lc["scholen"]; sc["total"] != 1 || sc["bounced"] != 1 || sc["sent"] != 0 || sc["queued"] != 0 {
		t.Errorf("scholen counts %v, want 1 bounced", sc)
	}
	if _, ok := lc[""]; ok {
		t.Errorf("counts under no list: %v", lc[""])
	}
	for em, want := range map[string]string{"a@x.org": "bedrijven", "c@x.org": "scholen", "d@x.org": ""} {
		pd, err := s.PersonalData(ctx, em)
		if err != nil {
			t.Fatal(err)
		}
		if len(pd.Deliveries) != 1 || pd.Deliveries[0].List != want {
			t.Errorf("personal data of %s: deliveries %+v, want one from list %q", em, pd.Deliveries, want)
		}
	}

	// The earlier layout: every delivery's list in the hash, no default.
	if err := rdb.HSet(ctx, edKey(s, "e2", "st"), "a@x.org", "queued").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, edKey(s, "e2", "lst"), "a@x.org", "bedrijven").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, edKey(s, "e2", "n"), "total", 1, "queued", 1).Err(); err != nil {
		t.Fatal(err)
	}
	create("e2", "scholen", "b@x.org")
	if n, _ := rdb.Exists(ctx, edKey(s, "e2", "dl")).Result(); n != 0 {
		t.Error("an edition of the earlier layout was given a default list")
	}
	if l, _ := rdb.HGet(ctx, edKey(s, "e2", "lst"), "b@x.org").Result(); l != "scholen" {
		t.Errorf("b@x.org added to an edition of the earlier layout has list field %q, want scholen", l)
	}
	claims, err = s.Claim(ctx, "e2", nil, true, "w1", time.Minute, []string{"a@x.org", "b@x.org"})
	if err != nil {
		t.Fatal(err)
	}
	if claims[0].List != "bedrijven" || claims[1].List != "scholen" {
		t.Errorf("claims of the earlier layout: lists %q and %q, want bedrijven and scholen", claims[0].List, claims[1].List)
	}
}

// The re-check of an edition without names reads the status sets, that of
// one with names each subscriber's record: after every way a status
// changes, both say the same of every address.
func TestRecheckBySetsMatchesRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redisstore.New(redistest.Client(t), redistest.Prefix(t))
	people := []string{"active@x.org", "unsub@x.org", "back@x.org", "blocked@x.org", "unblocked@x.org",
		"adminunsub@x.org", "override@x.org", "supp@x.org", "erased@x.org", "left@x.org", "moved@x.org", "reblocked@x.org"}
	in := make([]newsletter.SubscriberInput, len(people))
	for i, p := range people {
		in[i] = newsletter.SubscriberInput{Email: p, Name: "N " + p}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []string{"l", "m"} {
		must(s.CreateList(ctx, newsletter.List{Slug: l, Name: l}))
	}
	_, err := s.ImportBatch(ctx, newsletter.ImportOptions{List: "l"}, in)
	must(err)
	_, err = s.ImportBatch(ctx, newsletter.ImportOptions{List: "m"}, []newsletter.SubscriberInput{{Email: "moved@x.org"}})
	must(err)
	must(s.Unsubscribe(ctx, "unsub@x.org", "", "one-click"))
	must(s.Unsubscribe(ctx, "back@x.org", "", "one-click"))
	must(s.SetMembership(ctx, "back@x.org", "l", true)) // their own opt-in on the preferences page
	must(s.Block(ctx, "blocked@x.org", "abuse"))
	must(s.Block(ctx, "unblocked@x.org", "mistake"))
	active, unsub := newsletter.SubscriberActive, newsletter.SubscriberUnsubscribed
	must(s.UpdateSubscriber(ctx, "unblocked@x.org", newsletter.SubscriberUpdate{Status: &active}))
	must(s.UpdateSubscriber(ctx, "adminunsub@x.org", newsletter.SubscriberUpdate{Status: &unsub}))
	must(s.Unsubscribe(ctx, "override@x.org", "", "one-click"))
	_, err = s.ImportBatch(ctx, newsletter.ImportOptions{List: "l", Override: true}, []newsletter.SubscriberInput{{Email: "override@x.org"}})
	must(err)
	_, err = s.Confirm(ctx, "override@x.org", "l") // the override asked them; they confirmed
	must(err)
	// A block over an opt-out, "overridden" by an import: back to the
	// opt-out (blocklisted → unsubscribed), asked to confirm, not confirmed.
	must(s.Unsubscribe(ctx, "reblocked@x.org", "", "one-click"))
	must(s.Block(ctx, "reblocked@x.org", "abuse"))
	_, err = s.ImportBatch(ctx, newsletter.ImportOptions{List: "m", Override: true}, []newsletter.SubscriberInput{{Email: "reblocked@x.org"}})
	must(err)
	must(s.Suppress(ctx, "supp@x.org", "bounce", "5.1.1"))
	_, err = s.Erase(ctx, "erased@x.org", nil, "", true)
	must(err)
	must(s.Unsubscribe(ctx, "left@x.org", "l", "preferences page"))
	must(s.Unsubscribe(ctx, "moved@x.org", "l", "preferences page")) // still on m
	want := map[string]string{"unsub@x.org": "unsubscribed", "blocked@x.org": "blocklisted", "adminunsub@x.org": "unsubscribed",
		"supp@x.org": "suppressed", "erased@x.org": "erased", "left@x.org": "left the list", "reblocked@x.org": "unsubscribed"}
	for _, names := range []bool{true, false} {
		queue(t, s, fmt.Sprintf("e-%v", names), "l", people...)
		cs, err := s.Claim(ctx, fmt.Sprintf("e-%v", names), []string{"l", "m"}, names, "w1", time.Minute, people)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cs {
			if !c.Claimed || c.Why != want[people[i]] {
				t.Errorf("names %v: %s claimed %v, why %q; want why %q", names, people[i], c.Claimed, c.Why, want[people[i]])
			}
			wantName := ""
			if names && people[i] != "erased@x.org" {
				wantName = "N " + people[i]
			}
			if c.Name != wantName {
				t.Errorf("names %v: %s has name %q, want %q", names, people[i], c.Name, wantName)
			}
		}
	}
}

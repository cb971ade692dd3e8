package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/redisstore"
	"newsletter/internal/redistest"
)

// The error classification of the store: only a Redis that cannot be
// reached, or cannot serve at all, is EUNAVAILABLE (retryable, 503); a
// command Redis refused and a context the caller ended keep their own
// meaning. Either way the cause stays reachable through errors.Is/As.

// edKey is the key of one part of an edition, as doc.go lays them out.
func edKey(s *redisstore.Store, id, part string) string {
	return s.Prefix() + "{e:" + id + "}:" + part
}

// wantRedisError checks that err is a refusal by Redis starting with
// prefix (e.g. "WRONGTYPE"), classified as such and not as unavailability.
func wantRedisError(t *testing.T, what string, err error, prefix string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want a %s error from Redis", what, prefix)
		return
	}
	if c := newsletter.ErrorCode(err); c == newsletter.EUNAVAILABLE {
		t.Errorf("%s: %v is %s; a command Redis refused is not an unreachable Redis", what, err, c)
	}
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		t.Errorf("%s: %v (%T) does not wrap the redis.Error", what, err, err)
	}
	if !redis.HasErrorPrefix(err, prefix) {
		t.Errorf("%s: %v: redis.HasErrorPrefix(err, %q) is false", what, err, prefix)
	}
}

func TestWrongTypeIsNotUnavailable(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	s := redisstore.New(rdb, redistest.Prefix(t))
	set := func(key string) {
		t.Helper()
		if err := rdb.Set(ctx, key, "not what the store keeps here", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}

	// A single command: the counter hash is a string.
	set(edKey(s, "e1", "n"))
	_, err := s.Counts(ctx, "e1")
	wantRedisError(t, "Counts", err, "WRONGTYPE")

	// A pipeline whose first commands find nothing (redis.Nil) and whose
	// last one is refused: the refusal must not hide behind the Nil.
	set(edKey(s, "e2", "why"))
	_, err = s.GetDelivery(ctx, "e2", "a@x.nl")
	wantRedisError(t, "GetDelivery", err, "WRONGTYPE")
	if newsletter.ErrorCode(err) == newsletter.ENOTFOUND {
		t.Errorf("GetDelivery: %v: a refused read is not a missing delivery", err)
	}

	// A set read in a pipeline.
	set(s.Prefix() + "erased")
	_, err = s.Deliverable(ctx, []string{"a@x.nl"})
	wantRedisError(t, "Deliverable", err, "WRONGTYPE")

	// Inside the transition script.
	set(edKey(s, "e3", "st"))
	_, err = s.Transition(ctx, "e3", []newsletter.Transition{{Email: "a@x.nl", To: newsletter.DeliveryQueued}})
	wantRedisError(t, "Transition", err, "WRONGTYPE")

	// A stream key holding a string: not the "no stream yet" case.
	set(s.Stream("wrongtype.v1"))
	n, err := s.Trim(ctx, "wrongtype.v1")
	wantRedisError(t, "Trim", err, "WRONGTYPE")
	if n != 0 {
		t.Errorf("Trim of a string trimmed %d", n)
	}
}

// Trim of a topic nobody wrote to yet is not an error (XINFO answers
// "no such key", recognised by its error prefix, not by its text).
func TestTrimWithoutStream(t *testing.T) {
	s := redisstore.New(redistest.Client(t), redistest.Prefix(t))
	n, err := s.Trim(context.Background(), "never.written.v1")
	if err != nil || n != 0 {
		t.Errorf("Trim of a missing stream: %d, %v; want 0, nil", n, err)
	}
}

// A script that fails inside Redis (here HINCRBY on a counter that is not
// a number) is Redis refusing a command, not Redis being unreachable.
func TestScriptErrorIsNotUnavailable(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	s := redisstore.New(rdb, redistest.Prefix(t))
	if err := rdb.HSet(ctx, edKey(s, "e1", "n"), "total", "many").Err(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Transition(ctx, "e1", []newsletter.Transition{{Email: "a@x.nl", To: newsletter.DeliveryQueued}})
	wantRedisError(t, "Transition", err, "hash value is not an integer")
}

func TestCancelledContextIsNotUnavailable(t *testing.T) {
	live := redisstore.New(redistest.Client(t), redistest.Prefix(t))
	// Nothing listens here: a cancelled caller stays cancelled even when
	// what it interrupted was a dial.
	dead := redisstore.New(redis.NewClient(&redis.Options{Addr: deadAddr(t), MaxRetries: -1}), "x:")
	t.Cleanup(func() { _ = dead.Client().Close() })

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()

	calls := map[string]func(ctx context.Context, s *redisstore.Store) error{
		"GetEdition": func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.GetEdition(ctx, "e1")
			return err
		},
		"GetDelivery (pipeline)": func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.GetDelivery(ctx, "e1", "a@x.nl")
			return err
		},
		"Transition (script)": func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.Transition(ctx, "e1", []newsletter.Transition{{Email: "a@x.nl", To: newsletter.DeliveryQueued}})
			return err
		},
		"Editions": func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.Editions(ctx, 0)
			return err
		},
	}
	for name, call := range calls {
		for _, srv := range []struct {
			name string
			s    *redisstore.Store
		}{{"live", live}, {"unreachable", dead}} {
			err := call(cancelled, srv.s)
			if !errors.Is(err, context.Canceled) || newsletter.ErrorCode(err) == newsletter.EUNAVAILABLE {
				t.Errorf("%s, %s Redis, cancelled context: %v (code %s); want context.Canceled, not %s",
					name, srv.name, err, newsletter.ErrorCode(err), newsletter.EUNAVAILABLE)
			}
		}
		err := call(expired, live)
		if !errors.Is(err, context.DeadlineExceeded) || newsletter.ErrorCode(err) == newsletter.EUNAVAILABLE {
			t.Errorf("%s, expired context: %v (code %s); want context.DeadlineExceeded, not %s",
				name, err, newsletter.ErrorCode(err), newsletter.EUNAVAILABLE)
		}
	}
	// Nothing was written by the cancelled transition.
	if _, err := live.GetDelivery(context.Background(), "e1", "a@x.nl"); newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
		t.Errorf("after a cancelled transition: %v, want not found", err)
	}
}

// deadAddr returns an address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestConnectionRefusedIsUnavailable(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: deadAddr(t), MaxRetries: -1, DialTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	s := redisstore.New(rdb, "x:")
	calls := map[string]func() error{
		"GetEdition": func() error { _, err := s.GetEdition(ctx, "e1"); return err },
		"Editions":   func() error { _, err := s.Editions(ctx, 0); return err },
		"GetDelivery (pipeline)": func() error {
			_, err := s.GetDelivery(ctx, "e1", "a@x.nl")
			return err
		},
		"Transition (script)": func() error {
			_, err := s.Transition(ctx, "e1", []newsletter.Transition{{Email: "a@x.nl", To: newsletter.DeliveryQueued}})
			return err
		},
		"Suppress (transaction)": func() error { return s.Suppress(ctx, "a@x.nl", "manual", "test") },
		"CheckPolicy":            func() error { return s.CheckPolicy(ctx) },
	}
	for name, call := range calls {
		err := call()
		if c := newsletter.ErrorCode(err); c != newsletter.EUNAVAILABLE {
			t.Errorf("%s: %v (code %q), want %s", name, err, c, newsletter.EUNAVAILABLE)
			continue
		}
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" {
			t.Errorf("%s: %v does not wrap the dial's *net.OpError", name, err)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s: %v does not wrap ECONNREFUSED", name, err)
		}
		if !strings.Contains(err.Error(), "NEWSLETTER_REDIS_URL") || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("%s: %q should name the cause and NEWSLETTER_REDIS_URL", name, err)
		}
	}
}

// A Redis that takes the connection but does not answer in time (here
// paused) is unavailable too: the read timeout is a connection failure.
func TestUnansweredRedisIsUnavailable(t *testing.T) {
	if os.Getenv("NEWSLETTER_TEST_REDIS_URL") != "" {
		t.Skip("pauses the whole server: only on the throwaway one")
	}
	redistest.SingleServer(t, "pauses one whole server through a single-node client")
	ctx := context.Background()
	admin := redistest.Client(t)
	opt, err := redis.ParseURL(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.ReadTimeout, opt.MaxRetries = 100*time.Millisecond, -1
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	s := redisstore.New(rdb, redistest.Prefix(t))
	if err := rdb.Ping(ctx).Err(); err != nil { // the connection exists before the pause
		t.Fatal(err)
	}
	const pause = 1500 * time.Millisecond
	if err := admin.Do(ctx, "CLIENT", "PAUSE", pause.Milliseconds(), "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(pause)
	t.Cleanup(func() {
		if admin.Do(context.Background(), "CLIENT", "UNPAUSE").Err() != nil {
			time.Sleep(time.Until(until))
		}
	})
	_, err = s.GetEdition(ctx, "e1")
	if c := newsletter.ErrorCode(err); c != newsletter.EUNAVAILABLE {
		t.Fatalf("paused Redis: %v (code %q), want %s", err, c, newsletter.EUNAVAILABLE)
	}
	var nerr net.Error
	if !errors.As(err, &nerr) || !nerr.Timeout() {
		t.Errorf("paused Redis: %v does not wrap the net.Error timeout", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("paused Redis: %v claims the caller's context expired", err)
	}
}

// With maxmemory-policy noeviction a full Redis refuses writes: it cannot
// serve, which is unavailability an operator fixes, not a bug.
func TestOutOfMemoryIsUnavailable(t *testing.T) {
	if os.Getenv("NEWSLETTER_TEST_REDIS_URL") != "" {
		t.Skip("limits the whole server's memory: only on the throwaway one")
	}
	redistest.SingleServer(t, "limits one server's memory with CONFIG SET")
	ctx := context.Background()
	rdb := redistest.Client(t)
	s := redisstore.New(rdb, redistest.Prefix(t))
	old, err := rdb.ConfigGet(ctx, "maxmemory").Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.ConfigSet(context.Background(), "maxmemory", old["maxmemory"]) })
	err = s.Suppress(ctx, "a@x.nl", "manual", "test")
	if c := newsletter.ErrorCode(err); c != newsletter.EUNAVAILABLE || !redis.IsOOMError(err) {
		t.Errorf("full Redis: %v (code %q), want %s wrapping the OOM error", err, c, newsletter.EUNAVAILABLE)
	}
	if !strings.Contains(fmt.Sprint(err), "maxmemory") {
		t.Errorf("full Redis: %q should say what to change", err)
	}
}

func TestEditionsCorruptOrMissingRecord(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	s := redisstore.New(rdb, redistest.Prefix(t))
	for _, id := range []string{"good1", "bad", "good2"} {
		if err := s.CreateEdition(ctx, &newsletter.Edition{ID: id, Subject: id}); err != nil {
			t.Fatal(err)
		}
	}
	if eds, err := s.Editions(ctx, 0); err != nil || len(eds) != 3 {
		t.Fatalf("Editions: %d, %v", len(eds), err)
	}

	if err := rdb.Set(ctx, edKey(s, "bad", "doc"), "{not json", 0).Err(); err != nil {
		t.Fatal(err)
	}
	eds, err := s.Editions(ctx, 0)
	if err == nil || !strings.Contains(err.Error(), "bad") || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("Editions with a corrupt record: %d editions, %v; want an error naming edition bad", len(eds), err)
	}
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		t.Errorf("Editions with a corrupt record: %v does not wrap the JSON error", err)
	}
	if c := newsletter.ErrorCode(err); c != newsletter.EINTERNAL {
		t.Errorf("Editions with a corrupt record: code %q, want %s", c, newsletter.EINTERNAL)
	}
	_, err = s.GetEdition(ctx, "bad")
	if err == nil || !strings.Contains(err.Error(), "bad") || !errors.As(err, &syn) {
		t.Errorf("GetEdition of a corrupt record: %v; want an error naming it and wrapping the JSON error", err)
	}

	if err := rdb.Del(ctx, edKey(s, "bad", "doc")).Err(); err != nil {
		t.Fatal(err)
	}
	eds, err = s.Editions(ctx, 0)
	if err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("Editions with a missing record: %d editions, %v; want an error naming edition bad", len(eds), err)
	}
	if c := newsletter.ErrorCode(err); c == newsletter.EUNAVAILABLE || c == newsletter.ENOTFOUND {
		t.Errorf("Editions with a missing record: code %q: the store is inconsistent, it is neither unreachable nor empty", c)
	}
}

// Editions reads its records in batches: every batch counts, in order.
func TestEditionsReadsEveryBatch(t *testing.T) {
	ctx := context.Background()
	s := redisstore.New(redistest.Client(t), redistest.Prefix(t))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	s.Now = func() time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	const count = 1203 // more than two batches
	for n = range count {
		if err := s.CreateEdition(ctx, &newsletter.Edition{ID: fmt.Sprintf("e%04d", n)}); err != nil {
			t.Fatal(err)
		}
	}
	eds, err := s.Editions(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(eds) != count {
		t.Fatalf("Editions: %d, want %d", len(eds), count)
	}
	for i, e := range eds {
		if want := fmt.Sprintf("e%04d", count-1-i); e.ID != want {
			t.Fatalf("Editions[%d] = %s, want %s (newest first)", i, e.ID, want)
		}
	}
	if eds, err := s.Editions(ctx, 2); err != nil || len(eds) != 2 || eds[0].ID != fmt.Sprintf("e%04d", count-1) {
		t.Errorf("Editions(2): %v, %v", eds, err)
	}
}

func TestErrorfKeepsCause(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	e := newsletter.Errorf(newsletter.EINVALID, "read %s: %w", "x.csv", cause)
	if e.Code != newsletter.EINVALID || e.Message != "read x.csv: unexpected EOF" || e.Error() != e.Message {
		t.Errorf("Errorf: code %q, message %q, Error() %q", e.Code, e.Message, e.Error())
	}
	if !errors.Is(e, cause) || e.Unwrap() != cause {
		t.Errorf("Errorf with %%w: the cause is not reachable (Unwrap %v)", e.Unwrap())
	}
	outer := fmt.Errorf("import: %w", e)
	if newsletter.ErrorCode(outer) != newsletter.EINVALID || !errors.Is(outer, cause) {
		t.Errorf("wrapped again: code %q, Is(cause) %v", newsletter.ErrorCode(outer), errors.Is(outer, cause))
	}

	// Several %w: every cause stays reachable.
	other := context.Canceled
	both := newsletter.Errorf(newsletter.EUNAVAILABLE, "first %w, then %w", cause, other)
	if !errors.Is(both, cause) || !errors.Is(both, other) || both.Message != "first unexpected EOF, then context canceled" {
		t.Errorf("two %%w: %q, Is %v %v", both.Message, errors.Is(both, cause), errors.Is(both, other))
	}

	// %v formats without keeping the cause; no verb, no cause.
	if v := newsletter.Errorf(newsletter.EINTERNAL, "read: %v", cause); errors.Is(v, cause) || v.Message != "read: unexpected EOF" {
		t.Errorf("%%v: %q, Is %v", v.Message, errors.Is(v, cause))
	}
	if plain := newsletter.Errorf(newsletter.ENOTFOUND, "no such thing"); plain.Unwrap() != nil || plain.Message != "no such thing" {
		t.Errorf("no verb: %q, Unwrap %v", plain.Message, plain.Unwrap())
	}
}

// Info answers from every master of a cluster, not from whichever node a
// cluster client picks: figures added up from it (the bench's commands and
// CPU per email) would otherwise count one node before and another after.
func TestInfoAsksEveryMaster(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	s := redisstore.New(rdb, redistest.Prefix(t))
	infos, err := s.Info(ctx, "server")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	var mu sync.Mutex
	runID := func(c redis.Cmdable) error {
		info, err := c.Info(ctx, "server").Result()
		mu.Lock()
		defer mu.Unlock()
		want[infoField(info, "run_id:")] = true
		return err
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return runID(c) })
	} else {
		err = runID(rdb)
	}
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, info := range infos {
		got[infoField(info, "run_id:")] = true
	}
	if len(infos) != len(want) || !maps.Equal(got, want) {
		t.Errorf("Info answered from servers %v (%d texts), want every master %v", got, len(infos), want)
	}
}

func infoField(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field); ok {
			return v
		}
	}
	return ""
}

package redisstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/redisstore"
	"newsletter/internal/redistest"
)

func TestTrimKeepsUnacknowledged(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	s := redisstore.New(rdb, redistest.Prefix(t))
	const topic = "trim.test.v1"
	var msgs []*message.Message
	for range 10 {
		msgs = append(msgs, message.NewMessage(watermill.NewULID(), []byte(`{}`)))
	}
	if err := s.Append(ctx, topic, msgs...); err != nil {
		t.Fatal(err)
	}
	key := s.Stream(topic)
	// Nobody has read it yet: nothing may go.
	if n, err := s.Trim(ctx, topic); err != nil || n != 0 {
		t.Fatalf("trim without groups removed %d (%v)", n, err)
	}
	for _, g := range []string{"a", "b"} {
		if err := rdb.XGroupCreate(ctx, key, g, "0").Err(); err != nil {
			t.Fatal(err)
		}
	}
	read := func(group string, n int64) []redis.XMessage {
		res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "c", Streams: []string{key, ">"}, Count: n}).Result()
		if err != nil {
			t.Fatal(err)
		}
		return res[0].Messages
	}
	// Group a reads and acks 6; group b reads 4 and acks only the first 2.
	for _, m := range read("a", 6) {
		rdb.XAck(ctx, key, "a", m.ID)
	}
	bm := read("b", 4)
	rdb.XAck(ctx, key, "b", bm[0].ID, bm[1].ID)
	n, err := s.Trim(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("trimmed %d entries, want 2 (acked by both groups)", n)
	}
	left, _ := rdb.XRange(ctx, key, "-", "+").Result()
	if len(left) != 8 || left[0].ID != bm[2].ID {
		t.Fatalf("after trim %d entries starting at %v, want 8 starting at b's first pending %s", len(left), left[0].ID, bm[2].ID)
	}
	// Everything acked by everyone: everything goes.
	rdb.XAck(ctx, key, "b", bm[2].ID, bm[3].ID)
	for _, m := range read("a", 10) {
		rdb.XAck(ctx, key, "a", m.ID)
	}
	for _, m := range read("b", 10) {
		rdb.XAck(ctx, key, "b", m.ID)
	}
	if _, err := s.Trim(ctx, topic); err != nil {
		t.Fatal(err)
	}
	if l, _ := rdb.XLen(ctx, key).Result(); l != 0 {
		t.Errorf("%d entries left after everything was acked", l)
	}
}

func TestCheckPolicyRefusesEviction(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	s := redisstore.New(rdb, redistest.Prefix(t))
	if err := s.CheckPolicy(ctx); err != nil {
		t.Fatalf("noeviction refused: %v", err)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.ConfigSet(context.Background(), "maxmemory-policy", "noeviction") })
	err := s.CheckPolicy(ctx)
	if newsletter.ErrorCode(err) != newsletter.EINVALID || !strings.Contains(err.Error(), "noeviction") {
		t.Errorf("evicting Redis: %v, want a refusal naming noeviction", err)
	}
}

func TestUnreachableRedis(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	err := redisstore.New(rdb, "x:").CheckPolicy(context.Background())
	if newsletter.ErrorCode(err) != newsletter.EUNAVAILABLE || !strings.Contains(err.Error(), "NEWSLETTER_REDIS_URL") {
		t.Errorf("unreachable Redis: %v", err)
	}
}

// The state machine: transitions are atomic, counted, and refuse moves
// from states they do not name.
func TestTransitions(t *testing.T) {
	ctx := context.Background()
	s := redisstore.New(redistest.Client(t), redistest.Prefix(t))
	q, sd, st := newsletter.DeliveryQueued, newsletter.DeliverySending, newsletter.DeliverySent
	res, err := s.Transition(ctx, "e1", []newsletter.Transition{
		{Email: "a@x.nl", To: q, List: "l1"},
		{Email: "a@x.nl", To: q, List: "l2"}, // second create: refused
		{Email: "a@x.nl", From: []newsletter.DeliveryState{q}, To: sd},
		{Email: "a@x.nl", From: []newsletter.DeliveryState{q}, To: sd}, // double claim: refused
		{Email: "a@x.nl", From: []newsletter.DeliveryState{sd}, To: st, MessageID: "m1"},
		{Email: "b@x.nl", From: []newsletter.DeliveryState{q}, To: sd}, // no delivery
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []newsletter.TransitionResult{{Done: true}, {Current: q}, {Done: true, Current: q}, {Current: sd}, {Done: true, Current: sd}, {}}
	for i := range want {
		if res[i] != want[i] {
			t.Errorf("transition %d: %+v, want %+v", i, res[i], want[i])
		}
	}
	c, _ := s.Counts(ctx, "e1")
	if c["total"] != 1 || c["sent"] != 1 || c["queued"] != 0 || c["sending"] != 0 {
		t.Errorf("counts %v", c)
	}
	lc, _ := s.ListCounts(ctx, "e1")
	if lc["l1"]["sent"] != 1 || lc["l1"]["total"] != 1 || len(lc["l2"]) != 0 {
		t.Errorf("list counts %v: the first list must keep the delivery", lc)
	}
	d, _ := s.GetDelivery(ctx, "e1", "a@x.nl")
	if d.MessageID != "m1" {
		t.Errorf("message id %q", d.MessageID)
	}
}

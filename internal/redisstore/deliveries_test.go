package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"newsletter"
	"newsletter/internal/redisstore"
	"newsletter/internal/redistest"
)

func TestDeliveryStateMachine(t *testing.T) {
	testDeliveryStateMachine(t, func(t *testing.T) *redisstore.Store {
		return redisstore.New(redistest.Client(t), redistest.Prefix(t))
	})
}

// Short names for the states.
const (
	none       newsletter.DeliveryState = "" // no delivery yet
	queued                              = newsletter.DeliveryQueued
	sending                             = newsletter.DeliverySending
	sent                                = newsletter.DeliverySent
	delivered                           = newsletter.DeliveryDelivered
	bounced                             = newsletter.DeliveryBounced
	complained                          = newsletter.DeliveryComplained
	skipped                             = newsletter.DeliverySkipped
	failed                              = newsletter.DeliveryFailed
	unknown                             = newsletter.DeliveryUnknown
)

type states = []newsletter.DeliveryState

// designFrom is the design's state graph (README, "Delivery states"):
// queued → sending → sent → delivered | bounced | complained, and from
// queued or sending: skipped, failed, unknown. A delivery is created (From
// empty) only when there is none. The store itself is a compare-and-set:
// a transition happens when the current state is one of its From; this
// table is the From each legal move is requested with.
var designFrom = map[newsletter.DeliveryState]states{
	sending:    {queued},
	sent:       {sending},
	delivered:  {sent},
	bounced:    {sent},
	complained: {sent},
	skipped:    {queued, sending},
	failed:     {queued, sending},
	unknown:    {queued, sending},
}

// pathTo is a legal way to bring a delivery into each state.
var pathTo = map[newsletter.DeliveryState]states{
	none:       {},
	queued:     {queued},
	sending:    {queued, sending},
	sent:       {queued, sending, sent},
	delivered:  {queued, sending, sent, delivered},
	bounced:    {queued, sending, sent, bounced},
	complained: {queued, sending, sent, complained},
	skipped:    {queued, skipped},
	failed:     {queued, sending, failed},
	unknown:    {queued, sending, unknown},
}

// allStates is every state a delivery can be in, "no delivery" first.
var allStates = append(states{none}, newsletter.DeliveryStates...)

// model is what the store must hold: each delivery's state and list.
type model struct {
	state map[string]newsletter.DeliveryState
	list  map[string]string
}

func newModel() *model {
	return &model{state: map[string]newsletter.DeliveryState{}, list: map[string]string{}}
}

// apply is what one transition must do: happen iff the current state is
// allowed, and report the current (or previous) state either way.
func (m *model) apply(tr newsletter.Transition) newsletter.TransitionResult {
	cur := m.state[tr.Email]
	ok := cur == none && len(tr.From) == 0 || cur != none && slices.Contains(tr.From, cur)
	if ok {
		if cur == none {
			m.list[tr.Email] = tr.List
		}
		m.state[tr.Email] = tr.To
	}
	return newsletter.TransitionResult{Done: ok, Current: cur}
}

type stateMachine struct {
	t  *testing.T
	s  *redisstore.Store
	id string
	m  *model
}

// do applies ts in one call and checks every result against the model,
// then the stored states and counters.
func (sm *stateMachine) do(ts ...newsletter.Transition) []newsletter.TransitionResult {
	sm.t.Helper()
	got, err := sm.s.Transition(context.Background(), sm.id, ts)
	if err != nil {
		sm.t.Fatalf("Transition %+v: %v", ts, err)
	}
	if len(got) != len(ts) {
		sm.t.Fatalf("Transition of %d: %d results", len(ts), len(got))
	}
	for i, tr := range ts {
		if want := sm.m.apply(tr); got[i] != want {
			sm.t.Errorf("transition %d of %d (%s: %v → %s): %+v, want %+v", i, len(ts), tr.Email, tr.From, tr.To, got[i], want)
		}
	}
	sm.check()
	return got
}

// check compares the stored states and both counter hashes with the model:
// per state, the counts equal the deliveries in that state; their sum
// equals the number of deliveries and "total"; the same per list.
func (sm *stateMachine) check() {
	sm.t.Helper()
	ctx := context.Background()
	stored := map[string]newsletter.DeliveryState{}
	err := sm.s.ScanDeliveries(ctx, sm.id, 100, func(emails []string, sts []newsletter.DeliveryState) error {
		for i, e := range emails {
			stored[e] = sts[i]
		}
		return nil
	})
	if err != nil {
		sm.t.Fatal(err)
	}
	for e, st := range sm.m.state {
		if stored[e] != st {
			sm.t.Errorf("%s is %q, want %q", e, stored[e], st)
		}
	}
	if len(stored) != len(sm.m.state) {
		sm.t.Errorf("%d deliveries stored, want %d: %v", len(stored), len(sm.m.state), stored)
	}

	want := map[string]int64{"total": int64(len(sm.m.state))}
	wantList := map[string]map[string]int64{}
	for e, st := range sm.m.state {
		want[string(st)]++
		if l := sm.m.list[e]; l != "" {
			if wantList[l] == nil {
				wantList[l] = map[string]int64{}
			}
			wantList[l]["total"]++
			wantList[l][string(st)]++
		}
	}
	c, err := sm.s.Counts(ctx, sm.id)
	if err != nil {
		sm.t.Fatal(err)
	}
	var sum int64
	for k, n := range c {
		if k == "total" {
			continue
		}
		if !slices.Contains(newsletter.DeliveryStates, newsletter.DeliveryState(k)) {
			sm.t.Errorf("Counts has %q = %d, which is not a delivery state", k, n)
		}
		sum += n
		if n != want[k] {
			sm.t.Errorf("Counts[%s] = %d, want %d (all: %v)", k, n, want[k], c)
		}
	}
	if sum != c["total"] || c["total"] != int64(len(stored)) {
		sm.t.Errorf("counts add up to %d, total %d, %d deliveries stored: %v", sum, c["total"], len(stored), c)
	}

	lc, err := sm.s.ListCounts(ctx, sm.id)
	if err != nil {
		sm.t.Fatal(err)
	}
	for l, w := range wantList {
		for k, n := range w {
			if lc[l][k] != n {
				sm.t.Errorf("ListCounts[%s][%s] = %d, want %d (all: %v)", l, k, lc[l][k], n, lc)
			}
		}
	}
	for l, byState := range lc {
		var sum int64
		for k, n := range byState {
			if k == "total" {
				continue
			}
			sum += n
			if n != wantList[l][k] {
				sm.t.Errorf("ListCounts[%s][%s] = %d, want %d (all: %v)", l, k, n, wantList[l][k], lc)
			}
		}
		if sum != byState["total"] {
			sm.t.Errorf("list %s: counts add up to %d, total %d: %v", l, sum, byState["total"], byState)
		}
	}
}

// reach brings email into state st along its legal path.
func (sm *stateMachine) reach(email string, st newsletter.DeliveryState, list string) {
	sm.t.Helper()
	for _, to := range pathTo[st] {
		tr := newsletter.Transition{Email: email, From: designFrom[to], To: to}
		if to == queued {
			tr = newsletter.Transition{Email: email, To: queued, List: list}
		}
		if res := sm.do(tr); !res[0].Done {
			sm.t.Fatalf("legal move of %s to %s refused: %+v", email, to, res[0])
		}
	}
}

// testDeliveryStateMachine is the contract of Store.Transition and the
// counters, for any store newStore returns (each call: an empty one).
func testDeliveryStateMachine(t *testing.T, newStore func(t *testing.T) *redisstore.Store) {
	start := func(t *testing.T) *stateMachine {
		s := newStore(t)
		// The edition exists: the message-id lookup asks the editions.
		if err := s.CreateEdition(context.Background(), &newsletter.Edition{ID: "ed1", Subject: "ed1"}); err != nil {
			t.Fatal(err)
		}
		return &stateMachine{t: t, s: s, id: "ed1", m: newModel()}
	}

	// Every requested move from every state: a legal one happens, any
	// other leaves state and counters alone and reports the current state.
	t.Run("every move from every state", func(t *testing.T) {
		targets := append(states{}, newsletter.DeliveryStates...)
		for _, cur := range allStates {
			for _, to := range targets {
				from := designFrom[to]
				kind := "move"
				if to == queued {
					from = nil // creation
					kind = "create"
				}
				legal := cur == none && from == nil || slices.Contains(from, cur)
				name := fmt.Sprintf("%s %s→%s legal=%v", kind, stateName(cur), to, legal)
				t.Run(name, func(t *testing.T) {
					sm := start(t)
					sm.reach("a@x.nl", cur, "l1")
					sm.reach("other@x.nl", sending, "l2") // a bystander that must not move
					res := sm.do(newsletter.Transition{Email: "a@x.nl", From: from, To: to, Reason: "why " + string(to)})
					if res[0].Done != legal || res[0].Current != cur {
						t.Errorf("from %q: %+v, want Done=%v Current=%q", cur, res[0], legal, cur)
					}
					d, err := sm.s.GetDelivery(context.Background(), sm.id, "a@x.nl")
					switch {
					case !legal && cur == none:
						if newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
							t.Errorf("a refused move created a delivery: %+v, %v", d, err)
						}
					case err != nil:
						t.Fatal(err)
					case legal && d.Reason != "why "+string(to):
						t.Errorf("reason %q, want the move's", d.Reason)
					case !legal && d.Reason != "":
						t.Errorf("a refused move set the reason %q", d.Reason)
					}
				})
			}
			// Creating any state (fan-out creates skipped deliveries
			// directly) only when there is no delivery.
			t.Run(fmt.Sprintf("create skipped over %s", stateName(cur)), func(t *testing.T) {
				sm := start(t)
				sm.reach("a@x.nl", cur, "l1")
				res := sm.do(newsletter.Transition{Email: "a@x.nl", To: skipped, Reason: "unsubscribed", List: "l2"})
				if res[0].Done != (cur == none) {
					t.Errorf("create over %q: %+v", cur, res[0])
				}
			})
		}
	})

	// The workers' own From sets (workers/track.go and send.go) are wider
	// than the design's graph; the store applies whatever From says.
	t.Run("multi-state From", func(t *testing.T) {
		sm := start(t)
		for _, st := range allStates {
			sm.reach("a-"+stateName(st)+"@x.nl", st, "l1")
		}
		evDelivered := states{sending, sent, unknown}
		evBounced := states{sending, sent, delivered, unknown}
		evComplained := states{sending, sent, delivered, unknown, bounced}
		var ts []newsletter.Transition
		for _, st := range allStates {
			e := "a-" + stateName(st) + "@x.nl"
			ts = append(ts,
				newsletter.Transition{Email: e, From: evDelivered, To: delivered},
				newsletter.Transition{Email: e, From: evBounced, To: bounced},
				newsletter.Transition{Email: e, From: evComplained, To: complained})
		}
		sm.do(ts...) // the model checks each result and the counters
	})

	// Several transitions in one call: each has its own result, later ones
	// see the effect of earlier ones, and the counters follow.
	t.Run("one call, several transitions", func(t *testing.T) {
		sm := start(t)
		res := sm.do(
			newsletter.Transition{Email: "a@x.nl", To: queued, List: "l1"},
			newsletter.Transition{Email: "b@x.nl", To: queued, List: "l2"},
			newsletter.Transition{Email: "c@x.nl", To: skipped, Reason: "suppressed"},
			newsletter.Transition{Email: "a@x.nl", To: queued, List: "l2"},                        // exists: refused, stays on l1
			newsletter.Transition{Email: "a@x.nl", From: states{queued}, To: sending, List: "l2"}, // done; List is ignored: a stays on l1
			newsletter.Transition{Email: "a@x.nl", From: states{queued}, To: sending},             // claimed already
			newsletter.Transition{Email: "b@x.nl", From: states{sending}, To: sent},               // not claimed
			newsletter.Transition{Email: "z@x.nl", From: states{queued}, To: sending},             // no delivery
			newsletter.Transition{Email: "a@x.nl", From: states{sending}, To: queued},             // retry
			newsletter.Transition{Email: "a@x.nl", From: states{queued}, To: sending},             // claimed again
			newsletter.Transition{Email: "a@x.nl", From: states{sending}, To: sent},               // done
			newsletter.Transition{Email: "c@x.nl", From: states{queued, sending}, To: failed},     // skipped is final
		)
		want := []newsletter.TransitionResult{
			{Done: true}, {Done: true}, {Done: true},
			{Current: queued}, {Done: true, Current: queued}, {Current: sending}, {Current: queued},
			{}, {Done: true, Current: sending}, {Done: true, Current: queued}, {Done: true, Current: sending},
			{Current: skipped},
		}
		if !slices.Equal(res, want) {
			t.Errorf("results\n got %+v\nwant %+v", res, want)
		}
	})

	// An unknown or empty state is refused before anything is written,
	// even the valid transitions of the same call.
	t.Run("unknown states are refused", func(t *testing.T) {
		for _, tr := range []newsletter.Transition{
			{Email: "b@x.nl", To: ""},
			{Email: "b@x.nl", To: "posted"},
			{Email: "a@x.nl", From: states{"queue"}, To: sending},
			{Email: "a@x.nl", From: states{queued, ""}, To: sending},
		} {
			sm := start(t)
			sm.reach("a@x.nl", queued, "l1")
			_, err := sm.s.Transition(context.Background(), sm.id, []newsletter.Transition{
				{Email: "c@x.nl", To: queued, List: "l1"}, tr})
			if newsletter.ErrorCode(err) != newsletter.EINVALID {
				t.Errorf("%+v: %v, want %s", tr, err, newsletter.EINVALID)
			}
			sm.check() // neither c@x.nl nor anything else changed
		}
	})

	// The SES message id is kept whatever state the delivery reached
	// meanwhile (an event may overtake the recording of the send), but a
	// delivery that does not exist gets none.
	t.Run("message id kept", func(t *testing.T) {
		ctx := context.Background()
		for _, st := range allStates {
			t.Run(stateName(st), func(t *testing.T) {
				sm := start(t)
				sm.reach("a@x.nl", st, "l1")
				mid := "ses-" + stateName(st)
				res := sm.do(newsletter.Transition{Email: "a@x.nl", From: states{sending}, To: sent, MessageID: mid})
				d, err := sm.s.GetDelivery(ctx, sm.id, "a@x.nl")
				if st == none {
					if newsletter.ErrorCode(err) != newsletter.ENOTFOUND {
						t.Errorf("recording a send created a delivery: %+v, %v", d, err)
					}
					sm.reach("a@x.nl", queued, "l1")
					if d, err := sm.s.GetDelivery(ctx, sm.id, "a@x.nl"); err != nil || d.MessageID != "" {
						t.Errorf("the refused send left message id %q (%v)", d.MessageID, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if d.MessageID != mid || d.State != sm.m.state["a@x.nl"] {
					t.Errorf("after recording the send over %s (%+v): %+v, want message id %s and state %s", st, res[0], d, mid, sm.m.state["a@x.nl"])
				}
				if err := sm.s.IndexMessageIDs(ctx, sm.id, map[string]string{"a@x.nl": mid}); err != nil {
					t.Fatal(err)
				}
				// Later events move the delivery on; the id stays.
				sm.do(newsletter.Transition{Email: "a@x.nl", From: states{sending, sent, unknown}, To: delivered},
					newsletter.Transition{Email: "a@x.nl", From: states{sending, sent, delivered, unknown}, To: complained})
				d, err = sm.s.GetDelivery(ctx, sm.id, "a@x.nl")
				if err != nil || d.MessageID != mid {
					t.Errorf("after later events: %+v, %v; want message id %s", d, err, mid)
				}
				ed, email, err := sm.s.LookupMessageID(ctx, mid, []string{"a@x.nl"})
				if err != nil || ed != sm.id || email != "a@x.nl" {
					t.Errorf("LookupMessageID(%s) = %s, %s, %v", mid, ed, email, err)
				}
			})
		}
		s := newStore(t)
		if _, _, err := s.LookupMessageID(ctx, "never-sent", []string{"a@x.nl"}); !errors.Is(err, newsletter.ErrNotFound) {
			t.Errorf("LookupMessageID of an unknown id: %v", err)
		}
	})

	// Concurrent calls: a claim is exclusive, and another client never
	// sees half of one call.
	t.Run("atomic under concurrency", func(t *testing.T) {
		ctx := context.Background()
		sm := start(t)
		const n = 40
		var batch []newsletter.Transition
		for i := range n {
			batch = append(batch, newsletter.Transition{Email: fmt.Sprintf("r%02d@x.nl", i), To: queued, List: "l1"})
		}
		sm.do(batch...)

		// Eight workers claim the same deliveries: each is claimed once.
		claims := make([]newsletter.Transition, n)
		for i := range claims {
			claims[i] = newsletter.Transition{Email: batch[i].Email, From: states{queued}, To: sending}
		}
		won := make([]int, n)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				res, err := sm.s.Transition(ctx, sm.id, claims)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for i, r := range res {
					if r.Done {
						won[i]++
					}
				}
			})
		}
		wg.Wait()
		for i, w := range won {
			if w != 1 {
				t.Errorf("%s claimed %d times", batch[i].Email, w)
			}
			sm.m.state[batch[i].Email] = sending
		}
		sm.check()

		// One writer moves all of them back and forth in single calls;
		// a reader must only ever see all or none moved.
		back := make([]newsletter.Transition, n)
		for i := range back {
			back[i] = newsletter.Transition{Email: batch[i].Email, From: states{sending}, To: queued}
		}
		done := make(chan struct{})
		var rounds int
		wg.Go(func() {
			defer close(done)
			for rounds = 0; rounds < 150; rounds++ {
				ts := back
				if rounds%2 == 1 {
					ts = claims
				}
				if _, err := sm.s.Transition(ctx, sm.id, ts); err != nil {
					t.Error(err)
					return
				}
			}
		})
		seen := 0
		for stop := false; !stop; {
			select {
			case <-done:
				stop = true
			default:
			}
			c, err := sm.s.Counts(ctx, sm.id)
			if err != nil {
				t.Fatal(err)
			}
			seen++
			if c["queued"]+c["sending"] != n || c["queued"] != 0 && c["queued"] != n || c["total"] != n {
				t.Errorf("a reader saw half a call: %v", c)
				break
			}
		}
		wg.Wait()
		t.Logf("%d reads during %d calls", seen, rounds)
		final := sending // the last round (odd) claims
		if rounds%2 == 1 {
			final = queued // an odd number of rounds ends moving back
		}
		for _, tr := range batch {
			sm.m.state[tr.Email] = final
		}
		sm.check()
	})
}

// stateName names st in test names and addresses ("none": no delivery).
func stateName(st newsletter.DeliveryState) string {
	if st == none {
		return "none"
	}
	return string(st)
}

package httpserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/redisstore"
	"newsletter/internal/redistest"
	"newsletter/workers"
)

// storeOf is the store under a's key prefix, to set up what a test needs.
func storeOf(t *testing.T, a *app.App) *redisstore.Store {
	return redisstore.New(redistest.Client(t), a.Cfg.RedisPrefix)
}

// The ledger over the API: one object with a deliveries array, filtered by
// state; a bad state and an unknown edition are errors with a status that
// says so.
func TestDeliveriesAPI(t *testing.T) {
	a := openApp(t, nil)
	h := serve(a, nil)
	ctx := context.Background()
	e, _, err := a.CreateEdition(ctx, "e.md", []byte("---\nsubject: API\n---\nTekst.\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = storeOf(t, a).Transition(ctx, e.ID, []newsletter.Transition{
		{Email: "a@example.org", To: newsletter.DeliveryQueued},
		{Email: "b@example.org", To: newsletter.DeliveryQueued},
		{Email: "b@example.org", From: []newsletter.DeliveryState{newsletter.DeliveryQueued}, To: newsletter.DeliveryUnknown, Reason: "reply lost"},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := do(h, "GET", "/api/v1/editions/"+e.ID+"/deliveries?state=unknown", "", bearer(testToken))
	var doc struct {
		Deliveries []newsletter.DeliveryRow `json:"deliveries"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if len(doc.Deliveries) != 1 || doc.Deliveries[0].Email != "b@example.org" || doc.Deliveries[0].Reason != "reply lost" {
		t.Errorf("deliveries %+v", doc.Deliveries)
	}
	if rec := do(h, "GET", "/api/v1/editions/"+e.ID+"/deliveries?state=bounced", "", bearer(testToken)); strings.TrimSpace(rec.Body.String()) != `{"deliveries":[]}` {
		t.Errorf("none bounced: %s", rec.Body)
	}
	if rec := do(h, "GET", "/api/v1/editions/"+e.ID+"/deliveries?state=weg", "", bearer(testToken)); rec.Code != http.StatusBadRequest {
		t.Errorf("bad state: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/api/v1/editions/nope/deliveries", "", bearer(testToken)); rec.Code != http.StatusNotFound {
		t.Errorf("unknown edition: %d %s", rec.Code, rec.Body)
	}
	// Pausing a draft is refused: only an edition being sent pauses.
	if rec := do(h, "POST", "/api/v1/editions/"+e.ID+"/pause", "", bearer(testToken)); rec.Code != http.StatusConflict {
		t.Errorf("pause of a draft: %d %s", rec.Code, rec.Body)
	}
}

// A malformed entry parked in the dead letters is listed and shown, and
// its replay is refused with the reason.
func TestDeadLettersAPI(t *testing.T) {
	a := openApp(t, nil)
	h := serve(a, nil)
	ctx := context.Background()
	m := map[string]any{"_watermill_message_uuid": "u1", "payload": "not json"}
	id, err := storeOf(t, a).Client().XAdd(ctx, &redis.XAddArgs{Stream: storeOf(t, a).Stream(workers.TopicPoison), Values: m}).Result()
	if err != nil {
		t.Fatal(err)
	}
	rec := do(h, "GET", "/api/v1/deadletters", "", bearer(testToken))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), id) {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "GET", "/api/v1/deadletters/"+id, "", bearer(testToken))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "not json") {
		t.Fatalf("show: %d %s", rec.Code, rec.Body)
	}
	// It names no stream a handler reads: replay is refused.
	if rec := do(h, "POST", "/api/v1/deadletters/"+id+"/replay", "", bearer(testToken)); rec.Code != http.StatusConflict {
		t.Errorf("replay: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/api/v1/deadletters?limit=0", "", bearer(testToken)); rec.Code != http.StatusBadRequest {
		t.Errorf("limit 0: %d", rec.Code)
	}
}

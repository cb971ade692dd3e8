package workers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"

	"newsletter"
	"newsletter/internal/redisstore"
	"newsletter/internal/redistest"
	"newsletter/internal/render"
	"newsletter/workers"
)

// env is one test's pipeline: the real handlers on a real Redis under a key
// prefix of its own, with an in-test SES sender. Handlers are called
// directly, one message at a time, so every test is deterministic.
type env struct {
	t      *testing.T
	ctx    context.Context
	store  *redisstore.Store
	sender *fakeSender
	fan    *workers.FanOut
	send   *workers.Send
	track  *workers.Track
	// greeting is the greeting line of the editions publish makes ("":
	// the default, without the name).
	greeting string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	rdb := redistest.Client(t)
	store := redisstore.New(rdb, redistest.Prefix(t))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := render.New(render.Brand{ProductName: "Leerwerkakkoord", ProductLink: "https://example.org"})
	if err != nil {
		t.Fatal(err)
	}
	sender := &fakeSender{}
	return &env{
		t: t, ctx: context.Background(), store: store, sender: sender,
		fan: &workers.FanOut{Store: store, Batch: 2, Chunk: 2, Logger: logger},
		send: &workers.Send{Store: store, Sender: sender, Renderer: r, Links: testLinks{}, Limiter: unlimited{},
			From: "Nieuwsbrief <nieuwsbrief@example.org>", Concurrency: 4, Logger: logger},
		track: &workers.Track{Store: store, Logger: logger},
	}
}

// forEachAPI runs test on an env of each SES API: SendEmail per
// recipient, and SendBulkEmail.
func forEachAPI(t *testing.T, test func(t *testing.T, e *env)) {
	t.Parallel()
	for _, api := range []string{"single", "bulk"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if api == "bulk" {
				e.send.Bulk = e.sender
			}
			test(t, e)
		})
	}
}

// list creates a list and imports emails into it as confirmed members.
func (e *env) list(slug string, emails ...string) {
	e.t.Helper()
	if err := e.store.CreateList(e.ctx, newsletter.List{Slug: slug, Name: slug}); err != nil {
		e.t.Fatal(err)
	}
	e.importInto(newsletter.ImportOptions{List: slug}, emails...)
}

func (e *env) importInto(opts newsletter.ImportOptions, emails ...string) []newsletter.RowResult {
	e.t.Helper()
	in := make([]newsletter.SubscriberInput, len(emails))
	for i, em := range emails {
		in[i] = newsletter.SubscriberInput{Email: em, Name: "Naam " + em}
	}
	res, err := e.store.ImportBatch(e.ctx, opts, in)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, r := range res {
		if r.Outcome == newsletter.OutcomeRejected {
			e.t.Fatalf("import of %s rejected: %s", emails[i], r.Reason)
		}
	}
	return res
}

// publish creates an edition and freezes it for lists, as publishing does
// before it asks for the fan-out.
func (e *env) publish(lists ...string) *newsletter.Edition {
	e.t.Helper()
	ed := &newsletter.Edition{Subject: "Nieuws van het akkoord", Language: "nl", Body: "Hallo allemaal.", Format: "markdown", Greeting: e.greeting}
	if err := e.store.CreateEdition(e.ctx, ed); err != nil {
		e.t.Fatal(err)
	}
	ed, _, err := e.store.Freeze(e.ctx, ed.ID, lists)
	if err != nil {
		e.t.Fatal(err)
	}
	return ed
}

// publishedPayload is the payload publishing puts on the editions stream.
func (e *env) publishedPayload(ed *newsletter.Edition) workers.EditionPublished {
	return workers.EditionPublished{EditionID: ed.ID, Lists: ed.Lists, Hash: ed.Hash, At: ed.PublishedAt}
}

// publishedMessage is the message publishing puts on the editions stream.
func (e *env) publishedMessage(ed *newsletter.Edition) *message.Message {
	e.t.Helper()
	m, err := workers.NewMessage(e.publishedPayload(ed))
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// fanOut runs the fan-out handler on the published message of ed.
func (e *env) fanOut(ed *newsletter.Edition) {
	e.t.Helper()
	if err := e.fan.Handle(e.publishedMessage(ed)); err != nil {
		e.t.Fatalf("fan-out: %v", err)
	}
}

// streamJob is one entry of the deliveries stream, decoded.
type streamJob struct {
	id  string // stream entry id
	msg *message.Message
	job workers.DeliveryJob
}

// jobs reads the whole deliveries stream with XRANGE and decodes every
// entry the way the router's subscriber does.
func (e *env) jobs() []streamJob {
	e.t.Helper()
	xs, err := e.store.Client().XRange(e.ctx, e.store.Stream(workers.TopicDeliveries), "-", "+").Result()
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]streamJob, len(xs))
	for i, x := range xs {
		msg, err := redisstream.DefaultMarshallerUnmarshaller{}.Unmarshal(x.Values)
		if err != nil {
			e.t.Fatalf("stream entry %s: %v", x.ID, err)
		}
		out[i] = streamJob{id: x.ID, msg: msg}
		if err := json.Unmarshal(msg.Payload, &out[i].job); err != nil {
			e.t.Fatalf("stream entry %s is not a DeliveryJob: %v", x.ID, err)
		}
	}
	return out
}

// queuedCount counts how often each address appears in the jobs of
// edition id.
func queuedCount(jobs []streamJob, id string) map[string]int {
	n := map[string]int{}
	for _, j := range jobs {
		if j.job.EditionID == id {
			for _, r := range j.job.Recipients {
				n[r]++
			}
		}
	}
	return n
}

// runJobs hands each job to the send handler, as the router would.
func (e *env) runJobs(jobs []streamJob) {
	e.t.Helper()
	for _, j := range jobs {
		if err := e.send.Handle(j.msg); err != nil {
			e.t.Fatalf("send job %s: %v", j.id, err)
		}
	}
}

func (e *env) delivery(id, email string) *newsletter.Delivery {
	e.t.Helper()
	d, err := e.store.GetDelivery(e.ctx, id, email)
	if err != nil {
		e.t.Fatalf("delivery to %s: %v", email, err)
	}
	return d
}

// sesEvent wraps an SES notification as the webhook puts it on the events
// stream.
func sesEvent(t *testing.T, ev map[string]any) *message.Message {
	t.Helper()
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	m, err := workers.NewMessage(workers.SESEvent{Event: raw})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mailObject is the "mail" part of an SES event about sent.
func mailObject(sent sentEmail, at time.Time) map[string]any {
	tags := map[string][]string{}
	for k, v := range sent.Tags {
		tags[k] = []string{v}
	}
	return map[string]any{"timestamp": at.UTC().Format(time.RFC3339Nano), "messageId": sent.MessageID,
		"source": "nieuwsbrief@example.org", "destination": []string{sent.To}, "tags": tags}
}

// transientBounce is SES's event for a soft bounce of sent.
func transientBounce(t *testing.T, sent sentEmail, at time.Time) *message.Message {
	return sesEvent(t, map[string]any{"eventType": "Bounce", "mail": mailObject(sent, at),
		"bounce": map[string]any{"bounceType": "Transient", "bounceSubType": "MailboxFull", "timestamp": at.UTC().Format(time.RFC3339Nano),
			"bouncedRecipients": []map[string]any{{"emailAddress": sent.To, "action": "failed", "status": "4.2.2", "diagnosticCode": "smtp; 452 4.2.2 mailbox full"}}}})
}

// complaint is SES's event for a complaint about sent.
func complaint(t *testing.T, sent sentEmail, at time.Time) *message.Message {
	return sesEvent(t, map[string]any{"eventType": "Complaint", "mail": mailObject(sent, at),
		"complaint": map[string]any{"complaintFeedbackType": "abuse", "timestamp": at.UTC().Format(time.RFC3339Nano),
			"complainedRecipients": []map[string]any{{"emailAddress": sent.To}}}})
}

// sentEmail is what the fake SES kept of one accepted email.
type sentEmail struct {
	MessageID, To, Subject string
	Tags                   map[string]string
	// Personal is what was personal in it: the text of a single send,
	// the template data of a bulk entry.
	Personal string
}

// fakeSender stands in for SES: it accepts every email and hands out
// message ids. onSend, when set, runs before an email is accepted.
type fakeSender struct {
	mu     sync.Mutex
	sent   []sentEmail
	onSend func(m *newsletter.Email)
}

func (f *fakeSender) Send(ctx context.Context, m *newsletter.Email) (string, error) {
	if f.onSend != nil {
		f.onSend(m)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("ses-%03d", len(f.sent)+1)
	f.sent = append(f.sent, sentEmail{MessageID: id, To: m.To, Subject: m.Subject, Tags: m.Tags, Personal: string(m.Text)})
	return id, nil
}

// SendBulk accepts every entry, as one SES call: onSend runs once per
// entry, with the entry rendered as a plain email.
func (f *fakeSender) SendBulk(ctx context.Context, m *newsletter.BulkEmail) ([]newsletter.BulkResult, error) {
	out := make([]newsletter.BulkResult, len(m.Entries))
	for i, en := range m.Entries {
		em := &newsletter.Email{From: m.From, To: en.To, Subject: m.Subject, Headers: en.Headers, Tags: en.Tags}
		if f.onSend != nil {
			f.onSend(em)
		}
		f.mu.Lock()
		id := fmt.Sprintf("ses-%03d", len(f.sent)+1)
		f.sent = append(f.sent, sentEmail{MessageID: id, To: en.To, Subject: m.Subject, Tags: en.Tags, Personal: string(en.Data)})
		f.mu.Unlock()
		out[i].MessageID = id
	}
	return out, nil
}

func (f *fakeSender) emails() []sentEmail {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// to returns the addresses mailed, sorted.
func (f *fakeSender) to() []string {
	var out []string
	for _, s := range f.emails() {
		out = append(out, s.To)
	}
	slices.Sort(out)
	return out
}

// last returns the last email accepted for to.
func (f *fakeSender) last(t *testing.T, to string) sentEmail {
	t.Helper()
	es := f.emails()
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].To == to {
			return es[i]
		}
	}
	t.Fatalf("nothing was sent to %s", to)
	return sentEmail{}
}

type unlimited struct{}

func (unlimited) Wait(context.Context, int) error { return nil }

type testLinks struct{}

func (testLinks) Unsubscribe(email, editionID string) string {
	return "https://example.org/u/" + editionID + "/" + email
}
func (testLinks) Preferences(email string) string { return "https://example.org/p/" + email }
func (testLinks) WebVersion(editionID string) string {
	return "https://example.org/archive/" + editionID
}
func (testLinks) Confirm(email, list string) string {
	return "https://example.org/c/" + list + "/" + email
}

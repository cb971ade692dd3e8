package webhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"newsletter"
	"newsletter/internal/sesevent"
	"newsletter/internal/snsverify"
)

// DefaultMaxBody is the largest request body accepted when Handler.MaxBody
// is zero. SNS messages are at most 256 KiB of payload plus an envelope.
const DefaultMaxBody = 256 << 10

// Sink stores what the webhook accepts. The Redis store implements it.
type Sink interface {
	// Claim marks snsMessageID, atomically, as being enqueued by this
	// delivery, unless it is marked already, and says which (replay
	// protection that holds under concurrent deliveries of one message).
	Claim(ctx context.Context, snsMessageID string) (Claim, error)
	// Enqueue durably puts the SES event on the ses.events stream. raw is
	// the SES notification JSON (the SNS Message field). Called before
	// responding 200.
	Enqueue(ctx context.Context, ev *sesevent.Event, raw []byte) error
	// Done turns the claim into the lasting replay mark.
	Done(ctx context.Context, snsMessageID string) error
	// Release drops the claim of an event that could not be enqueued, so
	// that SNS's retry is taken.
	Release(ctx context.Context, snsMessageID string) error
}

// Claim is what Sink.Claim found.
type Claim int

const (
	// ClaimNew: this delivery holds the claim and enqueues the event.
	ClaimNew Claim = iota
	// ClaimPending: another delivery is enqueueing it now (or crashed
	// doing so; the claim then expires and a retry goes through).
	ClaimPending
	// ClaimDone: the event was enqueued before.
	ClaimDone
)

// Handler serves POST /webhooks/ses.
type Handler struct {
	Verifier *snsverify.Verifier
	Sink     Sink
	MaxBody  int64        // 0 means DefaultMaxBody
	Logger   *slog.Logger // nil means slog.Default()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// ServeHTTP answers 200 once a message is handled (or is a known
// duplicate), 400 for malformed input including a malformed SES payload
// (SNS retries it a few times, which is harmless, and the failure shows in
// SNS's delivery logs), 403 when verification refuses the message, 405 and
// 413 for wrong method and oversized bodies, and 503 when storage or the
// certificate fetch fails so that SNS retries.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		text(w, http.StatusMethodNotAllowed, "method not allowed: POST SNS messages here")
		return
	}
	maxBody := h.MaxBody
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	if r.ContentLength > maxBody {
		text(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			text(w, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		text(w, http.StatusBadRequest, "could not read request body")
		return
	}
	ctx := r.Context()
	log := h.logger()

	m, err := h.Verifier.Verify(ctx, body)
	if err != nil {
		log.Warn("SNS message refused", "err", err, "remote_addr", r.RemoteAddr)
		h.fail(w, err)
		return
	}
	log = log.With("sns_message_id", m.MessageId, "sns_type", m.Type, "topic_arn", m.TopicArn)
	if t := r.Header.Get("X-Amz-Sns-Message-Type"); t != "" && t != m.Type {
		text(w, http.StatusBadRequest, "x-amz-sns-message-type header does not match the message Type")
		return
	}

	switch m.Type {
	case snsverify.TypeSubscriptionConfirmation:
		if err := h.Verifier.ConfirmSubscription(ctx, m); err != nil {
			log.Error("SNS subscription not confirmed", "err", err)
			h.fail(w, err)
			return
		}
		log.Info("SNS subscription confirmed")
		text(w, http.StatusOK, "subscription confirmed")
	case snsverify.TypeUnsubscribeConfirmation:
		log.Warn("SNS subscription ended: SES events will no longer arrive from this topic")
		text(w, http.StatusOK, "ok")
	case snsverify.TypeNotification:
		h.notification(ctx, w, log, m)
	default: // Verify accepts only the three types above.
		text(w, http.StatusBadRequest, "unknown SNS message type")
	}
}

func (h *Handler) notification(ctx context.Context, w http.ResponseWriter, log *slog.Logger, m *snsverify.Message) {
	raw := []byte(m.Message)
	ev, err := sesevent.Parse(raw)
	if err != nil {
		log.Warn("SES notification refused", "err", err)
		h.fail(w, err)
		return
	}
	log = log.With("ses_message_id", ev.MessageID, "ses_event", ev.RawType)
	if ev.MessageID == "" {
		// An SES notice about the topic itself, such as
		// AmazonSnsSubscriptionSucceeded: nothing to track.
		log.Info("SES notification without a message ignored")
		text(w, http.StatusOK, "ok")
		return
	}
	claim, err := h.Sink.Claim(ctx, m.MessageId)
	if err != nil {
		log.Error("check SNS replay", "err", err)
		h.fail(w, unavailable(err))
		return
	}
	switch claim {
	case ClaimDone:
		log.Info("duplicate SNS message dropped")
		text(w, http.StatusOK, "duplicate")
		return
	case ClaimPending:
		// Answer 503: SNS retries, and then finds it done (or, if the
		// other delivery crashed, the expired claim lets it through).
		log.Info("SNS message being enqueued by a concurrent delivery")
		text(w, http.StatusServiceUnavailable, "in progress, retry")
		return
	}
	if err := h.Sink.Enqueue(ctx, ev, raw); err != nil {
		log.Error("enqueue SES event", "err", err)
		if rerr := h.Sink.Release(context.WithoutCancel(ctx), m.MessageId); rerr != nil {
			log.Warn("release SNS claim; SNS's retry is taken once the claim expires", "err", rerr)
		}
		h.fail(w, unavailable(err))
		return
	}
	// The event is safe on the stream: answer 200 whatever happens to
	// the mark; the claim alone still holds off duplicates for a while.
	if err := h.Sink.Done(ctx, m.MessageId); err != nil {
		log.Warn("mark SNS message done; a redelivery after the claim expires would be enqueued again", "err", err)
	}
	text(w, http.StatusOK, "ok")
}

// unavailable marks a storage error retryable at the edge, whatever it
// is: SNS retries on 503, and a later attempt may well succeed.
func unavailable(err error) error {
	return newsletter.Errorf(newsletter.EUNAVAILABLE, "store unavailable: %v", err)
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	switch newsletter.ErrorCode(err) {
	case newsletter.EINVALID:
		text(w, http.StatusBadRequest, err.Error())
	case newsletter.EUNAUTHORIZED:
		text(w, http.StatusForbidden, err.Error())
	case newsletter.EUNAVAILABLE:
		text(w, http.StatusServiceUnavailable, "temporarily unavailable, retry later")
	default:
		text(w, http.StatusInternalServerError, "internal error")
	}
}

func text(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

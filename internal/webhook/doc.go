// Package webhook is the HTTP endpoint Amazon SNS posts SES events to
// (POST /webhooks/ses). It verifies each message with snsverify, confirms
// subscriptions for allowed topics, and durably enqueues SES events through
// a Sink before answering 200, so an event is never acknowledged to SNS
// before it is safe.
//
// Replay protection and enqueueing are ordered so that a failure never
// loses an event: Seen (a read-only check) drops known SNS MessageIds,
// then Enqueue, and only after Enqueue succeeded does FirstSeen mark the
// id. A failed Enqueue answers 503 with nothing marked, so SNS's retry
// enqueues it. The price is a possible duplicate (two concurrent
// deliveries of one message, or a failed mark): the ses.events consumer
// must apply events idempotently, which it has to anyway because streams
// deliver at least once.
package webhook

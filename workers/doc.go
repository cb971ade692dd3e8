// Package workers holds the Watermill handlers of the pipeline, one per file:
// fan-out (an edition published → one delivery job per chunk of
// recipients), send (claim, re-check, rate-limit, personalise, SendEmail,
// record) and track (SES events → delivery states, suppression). The router
// and its middleware live in router.go; topics and payloads in messages.go.
package workers

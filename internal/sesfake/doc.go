// Package sesfake is an in-process Amazon SES v2 endpoint for `newsletter dev` and
// for tests: the real sesv2 client talks to it through BaseEndpoint, every accepted
// email lands in an outbox (memory, optional .eml files, a small web page), and the
// SES mailbox simulator addresses produce the same event JSON that SES would publish.
//
// Fault injection (latency, errors, throttling, rejections, outages) lets tests
// exercise the sender's retry and classification logic without AWS.
package sesfake

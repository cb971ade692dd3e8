// Package devenv provides the embedded defaults of `newsletter dev`: a Redis
// (a redis-server child process if one is on the PATH, else an in-process
// Redis-compatible server), an SES v2-compatible endpoint with an outbox,
// and SNS notifications signed with a local certificate and posted back to
// the webhook, so the whole loop — including bounces and complaints from
// the SES mailbox simulator — runs on one machine.
package devenv

// Package metrics is the Prometheus side of the program: counters and
// histograms recorded at the edges (the SES sender, the rate limiter, the
// recorded delivery transitions), a collector that reads stream, consumer
// group and edition figures from Redis at scrape time, and the /healthz and
// /readyz answers that `serve` and `work` share.
package metrics

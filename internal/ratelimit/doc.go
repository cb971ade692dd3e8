// Package ratelimit is the sending rate limiter shared by every worker
// process: a GCRA limiter kept in Redis (github.com/go-redis/redis_rate), so
// ten processes together still stay under the SES account's rate.
package ratelimit

// Package redisstore keeps everything the newsletter stores in Redis: lists,
// subscribers, editions, deliveries, suppressions, and the pipelined writes to
// the streams. Redis is the only datastore, so it must run with
// maxmemory-policy noeviction (CheckPolicy refuses anything else).
//
// Key layout (P is the configurable prefix, e.g. "nl:"). Keys that one Lua
// script touches together share a hash tag, so the same code runs on Redis
// Cluster:
//
//	P lists                      zset   slug → created (unix ms): live lists
//	P list:<slug>                hash   name, description, double_opt_in, created_at, deleted_at
//	P {l:<slug>}:members         set    normalised emails subscribed to the list
//	P {l:<slug>}:deleted:<ms>    set    the members a deleted list had (history)
//	P subs                       zset   every subscriber email (score 0, lexical order for export/search)
//	P {s:<email>}:sub            hash   email, name, organisation, status, attrs (JSON), created_at, updated_at
//	P {s:<email>}:lists          hash   slug → membership status (subscribed, unconfirmed, unsubscribed)
//	P supp                       hash   email → JSON Suppression
//	P supp:log                   list   JSON audit of suppress/unsuppress with reasons
//	P erased                     set    SHA-256 of erased addresses (never re-imported silently)
//	P editions                   zset   edition id → created (unix ms)
//	P {e:<id>}:doc               string JSON newsletter.Edition
//	P {e:<id>}:st                hash   email → delivery state
//	P {e:<id>}:mid               hash   email → SES MessageId
//	P {e:<id>}:why               hash   email → reason (skipped, failed, bounce detail)
//	P {e:<id>}:n                 hash   state → count, plus "total"
//	P {e:<id>}:test              hash   test-send address → SES MessageId (not counted)
//	P msg:<ses message id>       string "<edition id> <email>", 45 days: matches SES events to deliveries
//	P sns:<sns message id>       string "1", 7 days: webhook replay protection
//	P sched                      zset   edition id → fire time (unix ms), leased while firing
//	P sched:lists, sched:at      hash   edition id → lists, originally scheduled time
//	P mark:<key>                 string handler run markers (fan-out resume)
//	P bounces:<email>            zset   transient bounce timestamps (window for soft-bounce suppression)
//	P <topic>                    stream Watermill streams, e.g. P newsletter.deliveries.v1
package redisstore

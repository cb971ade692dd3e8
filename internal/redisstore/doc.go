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
//	P {l:<slug>}:unconfirmed     set    double opt-in: asked to confirm, not yet members (never mailed)
//	P {l:<slug>}:left            set    emails that unsubscribed from the list (counts; import refuses them)
//	P {l:<slug>}:deleted:<ms>    set    the members a deleted list had (history); also :deleted:<ms>:unconfirmed, :left
//	P subs                       zset   every subscriber email (score 0, lexical order for export/search)
//	P {s:<email>}:sub            hash   email, name, organisation, status, attrs (JSON), created_at, updated_at
//	P {s:<email>}:lists          hash   slug → membership status (subscribed, unconfirmed, unsubscribed, list_deleted)
//	P status:unsubscribed        set    emails whose global status is unsubscribed (counts)
//	P status:blocklisted         set    emails an admin blocklisted (counts); active = subs minus both
//	P supp                       hash   email → JSON Suppression
//	P supp:log                   list   JSON audit of suppress/unsuppress/block/erase with reasons
//	                                    (an erased address's lines are rewritten to "sha256:<hash>")
//	P erased                     set    SHA-256 of erased addresses (never re-imported silently, never mailed)
//	P editions                   zset   edition id → created (unix ms)
//	P {e:<id>}:doc               string JSON newsletter.Edition
//	P {e:<id>}:st                hash   email → delivery state: "<state>" as created, "<state>\t<ms>" once
//	                                    moved, "sending\t<ms>\t<owner>\t<lease until ms>" while claimed for
//	                                    an SES call (owner: consumer name, process nonce, job attempt)
//	P {e:<id>}:mid               hash   email → SES MessageId (also the index for events without tags)
//	P {e:<id>}:why               hash   email → reason (skipped, failed, bounce detail)
//	P {e:<id>}:n                 hash   state → count, plus "total"
//	P {e:<id>}:lst               hash   email → list the delivery came from, when not the default ("": none)
//	P {e:<id>}:dl                string the edition's default list: its deliveries from it have no lst
//	                                    field (editions of earlier versions have none: every list is in lst)
//	P {e:<id>}:ln                hash   "<list>\t<state>" → count, plus "<list>\ttotal"
//	P {e:<id>}:at, {e:<id>}:own  hash   written by earlier versions (times and claim holders), still read
//	P {e:<id>}:test              hash   test-send address → SES MessageId (not counted)
//	P msgs:<day>, msg:<id>       hash, string  earlier versions' message-id index, still read until it expires
//	P sns:<sns message id>       string "1", 7 days: webhook replay protection
//	P sched                      zset   edition id → fire time (unix ms), leased while firing
//	P sched:lists, sched:at      hash   edition id → lists, originally scheduled time
//	P mark:<key>                 string handler run markers (fan-out resume)
//	P bounces:<email>            zset   transient bounce timestamps (window for soft-bounce suppression)
//	P <topic>                    stream Watermill streams, e.g. P newsletter.deliveries.v1
//	P {acct}:a:<email>           hash   account: email, role, lang, pw (argon2id PHC string), created_at
//	P {acct}:all                 zset   account email → created (unix ms)
//	P {acct}:admins              set    emails of admin accounts (never emptied: ErrLastAdmin)
//	P {acct}:toks:<email>        hash   API token name → SHA-256 of the token
//	P {acct}:tok:<sha256>        hash   email, name, created_at of one API token
//	P {sess:<sha256>}            hash   a signed-in session (key: its id's hash): email, csrf, client, created, last_seen
//	P {audit}:log                stream the audit log: at, actor, role, action, target, before, after (MAXLEN ~ 100000)
//	P {audit}:about:<target>     list   newest ids of the log's entries about one target (≤ 1000)
//
// One recipient's ledger row is HGET of st, why and mid under the same
// email; ScanDeliveries/HSCAN of st walks an edition. The send step claims
// a call's recipients (Claim: queued → sending with owner and lease in the
// state field, the re-check of the addresses in the same round trip) and
// records their outcomes (Record: states with their time, counters, :mid)
// in one more.
//
// Erasure (Erase) removes an address from every key above: its {s:} keys,
// every {l:} set, subs, the status sets, supp, bounces:, its fields of
// every {e:} hash except the counters (statistics), the msg: keys of its
// message ids, and rewrites its audit lines with the hash; the app deletes
// its entries of {audit}:log (ForgetAudit) and records the erasure under
// the hash. Stream entries
// that every consumer group acknowledged are trimmed; entries still
// unprocessed are counted, not deleted (the send step skips an erased
// address), and matching entries of the poison stream are deleted.
package redisstore

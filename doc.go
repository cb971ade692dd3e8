// Package newsletter holds the domain of the newsletter pipeline: lists,
// subscribers, editions, deliveries and their states, and the errors the rest
// of the program speaks in. It imports no infrastructure; Redis, SES, HTTP and
// the workers are adapters around it.
package newsletter

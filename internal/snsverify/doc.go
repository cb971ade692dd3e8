// Package snsverify checks that an HTTP(S) message really comes from Amazon
// SNS: it validates the topic against an allow-list, fetches the signing
// certificate only from an SNS host over HTTPS, and verifies the RSA
// signature (SignatureVersion 1 and 2) over the canonical string AWS
// documents. It also holds a Signer, used by tests and by the embedded dev
// SES endpoint to produce messages that pass the same checks.
package snsverify

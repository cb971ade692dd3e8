// Package ses sends email through Amazon SES v2 with the AWS SDK, and
// classifies its failures for the pipeline: permanent (do not retry),
// unknown outcome (the request may have been accepted: never resend
// automatically), or passing (retry later).
package ses

// Package templates embeds the sample content that `newsletter dev` loads
// on first start: partner lists, subscribers (including SES mailbox
// simulator addresses, so bounces and complaints happen locally) and an
// edition written for this project.
package templates

import "embed"

// Files holds sample-edition.md and sample-subscribers.csv.
//
//go:embed sample-edition.md sample-subscribers.csv
var Files embed.FS

// Package render turns an edition into an email: HTML with inlined CSS and a
// plain-text part. Each edition is rendered once with hermes, with random
// placeholder tokens for the per-recipient parts (name, unsubscribe,
// preferences and web-version links); Personalise then fills them per
// recipient by concatenating precomputed segments with escaped values.
//
// The body Markdown is converted with goldmark and sanitised with bluemonday
// before it reaches the hermes template, so edition content can never add
// scripts, event handlers or placeholder tokens of its own.
package render

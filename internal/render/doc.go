// Package render turns an edition into an email: HTML with inlined CSS and a
// plain-text part, in the edition's language. Each edition is rendered once
// with hermes, with random placeholder tokens for the per-recipient parts;
// Personalise then fills them per recipient by concatenating precomputed
// segments with escaped values.
//
// The per-recipient parts (Slot) are exactly four: the greeting line when
// the edition's greeting uses the name ("Beste {naam},"; Template.Greeting
// gives its HTML and text values, with the neutral form for a recipient
// without a name), and the unsubscribe, preferences and web-version URLs.
// Template.Segments hands out each part cut around them, so a sender can
// fill them itself (e.g. as SES template variables).
//
// The body Markdown is converted with goldmark and sanitised with bluemonday
// before it reaches the hermes template, so edition content can never add
// scripts, event handlers or placeholder tokens of its own.
package render

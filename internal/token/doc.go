// Package token makes and checks the signed, URL-safe tokens in the links
// of every email: unsubscribe, preferences, double-opt-in confirmation and
// the web version. A token carries its claims (address, optional list and
// edition, expiry) and an HMAC-SHA256 tag under a key derived for its
// purpose, so no server-side state is needed to honour a link and a token
// made for one purpose is refused for another.
package token

// Package address turns an email address as a person typed it into the
// canonical form that keys a subscriber everywhere else (Redis keys,
// suppression, de-duplication), and refuses, with a reason and a fix,
// anything that is not exactly one plain address.
//
// Hash gives a one-way form of a normalised address, so that an erased
// person's address can be recognised (and not re-imported) without keeping it.
package address

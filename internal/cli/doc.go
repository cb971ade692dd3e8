// Package cli is the `newsletter` command line: one cobra command per
// subcommand of the contract in the design notes, each a thin layer over
// internal/app. Errors come back to main, which prints one line and exits
// non-zero.
package cli

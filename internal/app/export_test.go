package app

import "newsletter/internal/redisstore"

// Store gives the package's own tests the store behind the use cases; the
// edges (CLI, HTTP) have no such door.
func (a *App) Store() *redisstore.Store { return a.store }

// SplitRate divides the account's rate between editions and service emails.
var SplitRate = splitRate

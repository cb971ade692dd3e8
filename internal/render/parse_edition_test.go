package render

import (
	"newsletter"
	"newsletter/internal/edition"
)

// parseEdition reads an edition file the way the CLI does.
func parseEdition(name string, data []byte) (*newsletter.Edition, error) {
	e, _, err := edition.Parse(name, data)
	return e, err
}

package render

import (
	"newsletter"
	"newsletter/internal/edition"
)

func parseSeed(name string, data []byte) (*newsletter.Edition, error) {
	e, _, err := edition.Parse(name, data)
	return e, err
}

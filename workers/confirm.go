package workers

import (
	"context"
	"errors"

	"newsletter"
)

// runConfirm sends double opt-in confirmation emails.
func (s *Send) runConfirm(ctx context.Context, job DeliveryJob) error {
	return newsletter.Permanent(errors.New("confirmation emails are not implemented yet"))
}

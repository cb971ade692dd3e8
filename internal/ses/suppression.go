package ses

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// AccountSuppression mirrors suppressions to and from the SES account-level
// suppression list, so an address suppressed here is also refused by SES
// for other senders of the account, and one SES suppressed is skipped here
// before it costs a send.
type AccountSuppression struct {
	Client *sesv2.Client
}

// Put adds email to the account list (reason "bounce" or "complaint").
func (a *AccountSuppression) Put(ctx context.Context, email, reason string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r := types.SuppressionListReasonBounce
	if reason == "complaint" {
		r = types.SuppressionListReasonComplaint
	}
	_, err := a.Client.PutSuppressedDestination(ctx, &sesv2.PutSuppressedDestinationInput{EmailAddress: aws.String(email), Reason: r})
	if err != nil {
		return fmt.Errorf("SES PutSuppressedDestination %s: %w", email, err)
	}
	return nil
}

// Delete removes email from the account list (an admin unsuppressed it).
func (a *AccountSuppression) Delete(ctx context.Context, email string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := a.Client.DeleteSuppressedDestination(ctx, &sesv2.DeleteSuppressedDestinationInput{EmailAddress: aws.String(email)})
	var nf *types.NotFoundException
	if err != nil && !errorsAs(err, &nf) {
		return fmt.Errorf("SES DeleteSuppressedDestination %s: %w", email, err)
	}
	return nil
}

// Since lists addresses SES suppressed since t, calling fn for each.
func (a *AccountSuppression) Since(ctx context.Context, t time.Time, fn func(email, reason string, at time.Time) error) error {
	var token *string
	for {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := a.Client.ListSuppressedDestinations(cctx, &sesv2.ListSuppressedDestinationsInput{StartDate: aws.Time(t), NextToken: token, PageSize: aws.Int32(1000)})
		cancel()
		if err != nil {
			return fmt.Errorf("SES ListSuppressedDestinations: %w", err)
		}
		for _, s := range out.SuppressedDestinationSummaries {
			if err := fn(aws.ToString(s.EmailAddress), string(s.Reason), aws.ToTime(s.LastUpdateTime)); err != nil {
				return err
			}
		}
		if out.NextToken == nil {
			return nil
		}
		token = out.NextToken
	}
}

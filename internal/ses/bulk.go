package ses

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"newsletter"
)

// MaxBulkEntries is the most destinations SES takes in one SendBulkEmail.
const MaxBulkEntries = 50

// SendBulk sends one SendBulkEmail with the template inline and returns
// one result per entry, in order. The error is for the call as a whole
// (classified like Send's); then no entry has a result.
func (s *Sender) SendBulk(ctx context.Context, m *newsletter.BulkEmail) ([]newsletter.BulkResult, error) {
	if len(m.Entries) == 0 || len(m.Entries) > MaxBulkEntries {
		return nil, newsletter.Permanent(fmt.Errorf("SendBulkEmail takes 1 to %d entries, not %d", MaxBulkEntries, len(m.Entries)))
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	in := &sesv2.SendBulkEmailInput{
		FromEmailAddress: aws.String(m.From),
		DefaultContent: &types.BulkEmailContent{Template: &types.Template{
			TemplateContent: &types.EmailTemplateContent{Subject: aws.String(m.Subject), Html: aws.String(m.HTML), Text: aws.String(m.Text)},
			// SES wants default data; every entry has all of its own.
			TemplateData: aws.String("{}"),
			Headers:      headers(m.Headers),
		}},
		BulkEmailEntries: make([]types.BulkEmailEntry, len(m.Entries)),
	}
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet)
	}
	for i, e := range m.Entries {
		in.BulkEmailEntries[i] = types.BulkEmailEntry{
			Destination: &types.Destination{ToAddresses: []string{e.To}},
			ReplacementEmailContent: &types.ReplacementEmailContent{
				ReplacementTemplate: &types.ReplacementTemplate{ReplacementTemplateData: aws.String(string(e.Data))}},
			ReplacementHeaders: headers(e.Headers),
			ReplacementTags:    tags(e.Tags),
		}
	}
	out, err := s.Client.SendBulkEmail(ctx, in)
	if err != nil {
		return nil, Classify(err)
	}
	if len(out.BulkEmailEntryResults) != len(m.Entries) {
		// SES answered, but not entry by entry: which of them it took
		// cannot be known.
		return nil, fmt.Errorf("%w: SendBulkEmail answered %d results for %d entries", newsletter.ErrUnknownOutcome, len(out.BulkEmailEntryResults), len(m.Entries))
	}
	res := make([]newsletter.BulkResult, len(m.Entries))
	for i, r := range out.BulkEmailEntryResults {
		res[i] = entryResult(r)
	}
	return res, nil
}

// entryResult maps one entry's status into the pipeline's error kinds.
func entryResult(r types.BulkEmailEntryResult) newsletter.BulkResult {
	why := func() string {
		if msg := aws.ToString(r.Error); msg != "" {
			return string(r.Status) + ": " + msg
		}
		return string(r.Status)
	}
	switch r.Status {
	case types.BulkEmailStatusSuccess:
		if aws.ToString(r.MessageId) == "" {
			return newsletter.BulkResult{Err: fmt.Errorf("%w: SES reported SUCCESS without a message id", newsletter.ErrUnknownOutcome)}
		}
		return newsletter.BulkResult{MessageID: aws.ToString(r.MessageId)}
	case types.BulkEmailStatusMessageRejected, types.BulkEmailStatusMailFromDomainNotVerified,
		types.BulkEmailStatusConfigurationSetNotFound, types.BulkEmailStatusTemplateNotFound,
		types.BulkEmailStatusInvalidSendingPoolName, types.BulkEmailStatusInvalidParameter,
		types.BulkEmailStatusFailed:
		return newsletter.BulkResult{Err: newsletter.Permanent(errors.New("SES refused the email: " + why()))}
	case types.BulkEmailStatusAccountDailyQuotaExceeded:
		return newsletter.BulkResult{Err: fmt.Errorf("%w: %s", newsletter.ErrDailyQuota, why())}
	default:
		// ACCOUNT_THROTTLED, TRANSIENT_FAILURE, paused or suspended
		// sending, and statuses added later: SES did not take it; retry.
		return newsletter.BulkResult{Err: errors.New("SES did not send the email: " + why())}
	}
}

func headers(hs [][2]string) []types.MessageHeader {
	if len(hs) == 0 {
		return nil
	}
	out := make([]types.MessageHeader, len(hs))
	for i, h := range hs {
		out[i] = types.MessageHeader{Name: aws.String(h[0]), Value: aws.String(h[1])}
	}
	return out
}

func tags(t map[string]string) []types.MessageTag {
	if len(t) == 0 {
		return nil
	}
	out := make([]types.MessageTag, 0, len(t))
	for k, v := range t {
		out = append(out, types.MessageTag{Name: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// isDailyQuota tells SES's daily-quota refusal of a single send from other
// throttling.
func isDailyQuota(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "daily message quota")
}

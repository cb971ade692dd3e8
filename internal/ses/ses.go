package ses

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"newsletter"
)

// Sender sends through one SES v2 client.
type Sender struct {
	Client           *sesv2.Client
	ConfigurationSet string
	// Timeout bounds one SendEmail call.
	Timeout time.Duration
}

// NewClient returns an SES v2 client. The SDK's own retries are off: a
// retried SendEmail after a dropped connection can send an email twice, so
// the pipeline decides what to retry. Request bodies are written by
// protocol: an edition's content is encoded once, and no answer is lost to
// the SDK closing a body net/http still reads.
func NewClient(cfg aws.Config, endpoint string) *sesv2.Client {
	return sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.Retryer = aws.NopRetryer{}
		o.Protocol = newProtocol(o.Protocol)
		o.APIOptions = append(o.APIOptions, addKnownPayloadHash, dropRetryLoop)
	})
}

// dropRetryLoop takes the SDK's retry loop out of the stack: with
// aws.NopRetryer it makes one attempt anyway, and its bookkeeping (the
// attempt's copy of the request, its header, metrics and spans) was a tenth
// of the allocations of every SendEmail. A call is made once, as before.
func dropRetryLoop(st *middleware.Stack) error {
	if _, ok := st.Finalize.Get("Retry"); !ok {
		return nil
	}
	_, err := st.Finalize.Remove("Retry")
	return err
}

// Send implements workers.Sender.
func (s *Sender) Send(ctx context.Context, m *newsletter.Email) (string, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.From),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(m.Subject), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Html: &types.Content{Data: aws.String(string(m.HTML)), Charset: aws.String("UTF-8")},
				Text: &types.Content{Data: aws.String(string(m.Text)), Charset: aws.String("UTF-8")},
			},
		}},
	}
	in.Content.Simple.Headers = headers(m.Headers)
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet)
	}
	// Tags come back in event notifications and match them to the edition
	// even before the MessageId index is written.
	in.EmailTags = tags(m.Tags)
	out, err := s.Client.SendEmail(ctx, in)
	if err != nil {
		return "", Classify(err)
	}
	return aws.ToString(out.MessageId), nil
}

// Classify maps an SDK error to the pipeline's error kinds.
func Classify(err error) error {
	var (
		rejected  *types.MessageRejected
		notVerif  *types.MailFromDomainNotVerifiedException
		badReq    *types.BadRequestException
		notFound  *types.NotFoundException
		throttled *types.TooManyRequestsException
		limit     *types.LimitExceededException
	)
	switch {
	case errors.As(err, &rejected), errors.As(err, &notVerif), errors.As(err, &badReq), errors.As(err, &notFound):
		return newsletter.Permanent(fmt.Errorf("SES refused the email: %w", err))
	case errors.As(err, &throttled), errors.As(err, &limit):
		if isDailyQuota(err.Error()) {
			return fmt.Errorf("%w: %v", newsletter.ErrDailyQuota, err)
		}
		return fmt.Errorf("SES throttled the send: %w", err)
	}
	// A transport failure is also a ResponseError, with status 0: only a
	// real status means SES answered.
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		if re.HTTPStatusCode() < 300 {
			// SES said yes, then reading or decoding the answer failed (or
			// our deadline hit mid-body): it accepted the email.
			return fmt.Errorf("%w: SES answered HTTP %d but the reply was lost: %v", newsletter.ErrUnknownOutcome, re.HTTPStatusCode(), err)
		}
		// SES answered with an error: it did not accept the email. Paused
		// or suspended accounts and 5xx are passing from our point of view.
		return fmt.Errorf("SES error (HTTP %d): %w", re.HTTPStatusCode(), err)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return fmt.Errorf("SES error %s: %w", api.ErrorCode(), err)
	}
	// No response. If the connection was never made, nothing was sent.
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return fmt.Errorf("SES endpoint unreachable: %w", err)
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return fmt.Errorf("SES endpoint unreachable: %w", err)
	}
	// Timeouts, resets, shutdown mid-call: the request may have arrived.
	return fmt.Errorf("%w: %v", newsletter.ErrUnknownOutcome, err)
}

// ErrRefused means SES answered a call with a client error (4xx): access
// denied, or an endpoint that does not offer it. SES itself is working.
var ErrRefused = errors.New("SES refused the call")

// MaxSendRate asks SES for the account's sending rate (emails/s). No
// answer or a 5xx is an error; a 4xx wraps ErrRefused.
func MaxSendRate(ctx context.Context, c *sesv2.Client) (float64, error) {
	q, err := GetQuota(ctx, c)
	return q.MaxSendRate, err
}

// Quota is the account's sending quota as SES reports it.
type Quota struct {
	MaxSendRate     float64 `json:"max_send_rate"`    // emails per second
	Max24HourSend   float64 `json:"max_24_hour_send"` // emails per rolling 24 hours
	SentLast24Hours float64 `json:"sent_last_24_hours"`
}

// GetQuota asks SES for the account's quota (GetAccount), with the same
// errors as MaxSendRate.
func GetQuota(ctx context.Context, c *sesv2.Client) (Quota, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := c.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil {
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500 {
			return Quota{}, fmt.Errorf("SES GetAccount: %w: %v", ErrRefused, err)
		}
		return Quota{}, fmt.Errorf("SES GetAccount: %w", err)
	}
	if out.SendQuota == nil {
		return Quota{}, errors.New("SES GetAccount returned no send quota")
	}
	return Quota{MaxSendRate: out.SendQuota.MaxSendRate, Max24HourSend: out.SendQuota.Max24HourSend, SentLast24Hours: out.SendQuota.SentLast24Hours}, nil
}

// DailyQuota implements workers.QuotaSource: how many more emails the
// account may send in the current 24 hours (negative: no limit known).
func (s *Sender) DailyQuota(ctx context.Context) (float64, error) {
	q, err := GetQuota(ctx, s.Client)
	if err != nil {
		return -1, err
	}
	if q.Max24HourSend < 0 {
		return -1, nil // SES reports -1 for unlimited
	}
	return q.Max24HourSend - q.SentLast24Hours, nil
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

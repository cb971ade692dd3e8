package sesevent

import (
	"bytes"
	"encoding/json"
	"net/mail"
	"strings"
	"time"

	"newsletter"
)

// Kind is the normalised event type.
type Kind string

const (
	KindSend             Kind = "send"
	KindDelivery         Kind = "delivery"
	KindBounce           Kind = "bounce"
	KindComplaint        Kind = "complaint"
	KindReject           Kind = "reject"
	KindDeliveryDelay    Kind = "delivery_delay"
	KindOpen             Kind = "open"
	KindClick            Kind = "click"
	KindRenderingFailure Kind = "rendering_failure"
	KindSubscription     Kind = "subscription"
	KindUnknown          Kind = "unknown"
)

var kinds = map[string]Kind{
	"Send":              KindSend,
	"Delivery":          KindDelivery,
	"Bounce":            KindBounce,
	"Complaint":         KindComplaint,
	"Reject":            KindReject,
	"DeliveryDelay":     KindDeliveryDelay,
	"Open":              KindOpen,
	"Click":             KindClick,
	"Rendering Failure": KindRenderingFailure,
	"Subscription":      KindSubscription,
}

// Event is one SES notification, reduced to what the pipeline uses.
type Event struct {
	Kind    Kind
	RawType string // eventType or notificationType as SES sent it
	// MessageID is SES's mail.messageId, the id SendEmail returned.
	MessageID string
	// Timestamp is when the event happened (bounce.timestamp, ...), or
	// mail.timestamp for events that carry no time of their own.
	Timestamp time.Time
	Source    string              // mail.source as sent, e.g. "Name <a@b>"
	Tags      map[string][]string // mail.tags
	// Recipients are the bounced, complained, delivered or delayed
	// recipients; for other kinds, mail.destination.
	Recipients    []Recipient
	BounceType    string // Permanent, Transient, Undetermined
	BounceSubType string
	// FeedbackID is SES's id of one bounce notice: the same bounce
	// delivered twice carries the same one.
	FeedbackID            string
	ComplaintFeedbackType string
	// Detail is the reject reason, the rendering failure's error message
	// or the delivery delay type.
	Detail string
	Link   string // the clicked link, for clicks
}

// Recipient is one address an event is about. Email is the bare address,
// lower-cased.
type Recipient struct {
	Email      string
	Action     string // bounces: "failed", ...
	Status     string // SMTP enhanced status, e.g. "5.1.1"
	Diagnostic string // diagnosticCode, or the delivery's smtpResponse
}

// Permanent reports whether e is a permanent (hard) bounce.
func (e *Event) Permanent() bool {
	return e != nil && e.Kind == KindBounce && e.BounceType == "Permanent"
}

type recipientJSON struct {
	EmailAddress   string `json:"emailAddress"`
	Action         string `json:"action"`
	Status         string `json:"status"`
	DiagnosticCode string `json:"diagnosticCode"`
}

type payload struct {
	EventType        *string `json:"eventType"`
	NotificationType *string `json:"notificationType"`
	Mail             *struct {
		Timestamp   string              `json:"timestamp"`
		MessageID   string              `json:"messageId"`
		Source      string              `json:"source"`
		Destination []string            `json:"destination"`
		Tags        map[string][]string `json:"tags"`
	} `json:"mail"`
	Bounce *struct {
		BounceType        string          `json:"bounceType"`
		BounceSubType     string          `json:"bounceSubType"`
		BouncedRecipients []recipientJSON `json:"bouncedRecipients"`
		Timestamp         string          `json:"timestamp"`
		FeedbackID        string          `json:"feedbackId"`
	} `json:"bounce"`
	Complaint *struct {
		ComplainedRecipients  []recipientJSON `json:"complainedRecipients"`
		ComplaintFeedbackType string          `json:"complaintFeedbackType"`
		Timestamp             string          `json:"timestamp"`
	} `json:"complaint"`
	Delivery *struct {
		Recipients   []string `json:"recipients"`
		SMTPResponse string   `json:"smtpResponse"`
		Timestamp    string   `json:"timestamp"`
	} `json:"delivery"`
	DeliveryDelay *struct {
		DelayType         string          `json:"delayType"`
		DelayedRecipients []recipientJSON `json:"delayedRecipients"`
		Timestamp         string          `json:"timestamp"`
	} `json:"deliveryDelay"`
	Reject *struct {
		Reason string `json:"reason"`
	} `json:"reject"`
	Failure *struct {
		ErrorMessage string `json:"errorMessage"`
	} `json:"failure"`
	Open *struct {
		Timestamp string `json:"timestamp"`
	} `json:"open"`
	Click *struct {
		Link      string `json:"link"`
		Timestamp string `json:"timestamp"`
	} `json:"click"`
	Subscription *struct {
		Timestamp string `json:"timestamp"`
	} `json:"subscription"`
}

// Parse reads one SES notification. Unknown types come back as KindUnknown
// with RawType set, not as an error; such events may lack a MessageID (SES
// sends "AmazonSnsSubscriptionSucceeded" without a mail object). Anything
// that is not a JSON object, a known type without mail.messageId, or an
// object with neither a type nor a messageId is a *newsletter.Error with
// code EINVALID.
func Parse(data []byte) (*Event, error) {
	if trimmed := bytes.TrimSpace(data); len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, newsletter.Errorf(newsletter.EINVALID, "SES notification is not a JSON object")
	}
	var p payload
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, newsletter.Errorf(newsletter.EINVALID, "SES notification is not valid JSON: %v", err)
	}
	e := &Event{Kind: KindUnknown}
	switch {
	case p.EventType != nil:
		e.RawType = *p.EventType
	case p.NotificationType != nil:
		e.RawType = *p.NotificationType
	}
	if k, ok := kinds[e.RawType]; ok {
		e.Kind = k
	}
	var ts string
	if p.Mail != nil {
		e.MessageID = p.Mail.MessageID
		e.Source = p.Mail.Source
		e.Tags = p.Mail.Tags
		ts = p.Mail.Timestamp
	}
	if e.MessageID == "" {
		switch {
		case e.RawType == "":
			return nil, newsletter.Errorf(newsletter.EINVALID, "not an SES notification: no eventType, notificationType or mail.messageId")
		case e.Kind != KindUnknown:
			return nil, newsletter.Errorf(newsletter.EINVALID, "SES %s notification has no mail.messageId", e.RawType)
		}
	}
	// A section only counts when it matches the type, so a stray object
	// cannot turn, say, a delivery into a bounce.
	switch e.Kind {
	case KindBounce:
		if b := p.Bounce; b != nil {
			e.BounceType, e.BounceSubType, e.FeedbackID = b.BounceType, b.BounceSubType, b.FeedbackID
			e.Recipients = recipients(b.BouncedRecipients)
			ts = first(b.Timestamp, ts)
		}
	case KindComplaint:
		if c := p.Complaint; c != nil {
			e.ComplaintFeedbackType = c.ComplaintFeedbackType
			e.Recipients = recipients(c.ComplainedRecipients)
			ts = first(c.Timestamp, ts)
		}
	case KindDelivery:
		if d := p.Delivery; d != nil {
			for _, a := range d.Recipients {
				if email := Address(a); email != "" {
					e.Recipients = append(e.Recipients, Recipient{Email: email, Diagnostic: d.SMTPResponse})
				}
			}
			ts = first(d.Timestamp, ts)
		}
	case KindDeliveryDelay:
		if d := p.DeliveryDelay; d != nil {
			e.Detail = d.DelayType
			e.Recipients = recipients(d.DelayedRecipients)
			ts = first(d.Timestamp, ts)
		}
	case KindReject:
		if r := p.Reject; r != nil {
			e.Detail = r.Reason
		}
	case KindRenderingFailure:
		if f := p.Failure; f != nil {
			e.Detail = f.ErrorMessage
		}
	case KindOpen:
		if o := p.Open; o != nil {
			ts = first(o.Timestamp, ts)
		}
	case KindClick:
		if c := p.Click; c != nil {
			e.Link = c.Link
			ts = first(c.Timestamp, ts)
		}
	case KindSubscription:
		if s := p.Subscription; s != nil {
			ts = first(s.Timestamp, ts)
		}
	}
	if len(e.Recipients) == 0 && p.Mail != nil {
		for _, a := range p.Mail.Destination {
			if email := Address(a); email != "" {
				e.Recipients = append(e.Recipients, Recipient{Email: email})
			}
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
		e.Timestamp = t
	}
	return e, nil
}

func recipients(rs []recipientJSON) []Recipient {
	var out []Recipient
	for _, r := range rs {
		email := Address(r.EmailAddress)
		if email == "" {
			continue
		}
		out = append(out, Recipient{Email: email, Action: r.Action, Status: r.Status, Diagnostic: r.DiagnosticCode})
	}
	return out
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Address returns the bare, lower-cased address in s, which may be a bare
// address or a name-addr such as `"Jan" <jan@x.nl>`. It returns "" when s
// holds nothing address-like.
func Address(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if a, err := mail.ParseAddress(s); err == nil {
		return strings.ToLower(a.Address)
	}
	// SES passes through what the sender wrote; keep the part in angle
	// brackets when the whole does not parse as RFC 5322.
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			s = strings.TrimSpace(s[i+1 : i+j])
		}
	}
	if !strings.Contains(s, "@") {
		return ""
	}
	return strings.ToLower(s)
}

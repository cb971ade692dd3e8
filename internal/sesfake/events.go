package sesfake

import (
	"bytes"
	"context"
	"encoding/json"
	"net/mail"
	"strings"
	"time"
)

// Event is the JSON SES publishes for a configuration set's event destination
// (the Message of the SNS notification). Only the fields SES sets for the
// events sesfake produces are present.
type Event struct {
	EventType string     `json:"eventType"`
	Mail      EventMail  `json:"mail"`
	Send      *struct{}  `json:"send,omitempty"`
	Delivery  *Delivery  `json:"delivery,omitempty"`
	Bounce    *Bounce    `json:"bounce,omitempty"`
	Complaint *Complaint `json:"complaint,omitempty"`
}

// EventMail describes the original email.
type EventMail struct {
	Timestamp        string              `json:"timestamp"`
	Source           string              `json:"source"`
	SourceArn        string              `json:"sourceArn"`
	SendingAccountID string              `json:"sendingAccountId"`
	MessageID        string              `json:"messageId"`
	Destination      []string            `json:"destination"`
	HeadersTruncated bool                `json:"headersTruncated"`
	Headers          []EventHeader       `json:"headers"`
	CommonHeaders    CommonHeaders       `json:"commonHeaders"`
	Tags             map[string][]string `json:"tags"`
}

// EventHeader is one entry of mail.headers.
type EventHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// CommonHeaders are the decoded headers SES always reports.
type CommonHeaders struct {
	From      []string `json:"from"`
	To        []string `json:"to,omitempty"`
	Cc        []string `json:"cc,omitempty"`
	MessageID string   `json:"messageId"`
	Subject   string   `json:"subject"`
	Date      string   `json:"date,omitempty"`
}

// Delivery is the delivery object of a Delivery event.
type Delivery struct {
	Timestamp            string   `json:"timestamp"`
	ProcessingTimeMillis int      `json:"processingTimeMillis"`
	Recipients           []string `json:"recipients"`
	SMTPResponse         string   `json:"smtpResponse"`
	ReportingMTA         string   `json:"reportingMTA"`
	RemoteMtaIP          string   `json:"remoteMtaIp"`
}

// Bounce is the bounce object of a Bounce event.
type Bounce struct {
	BounceType        string             `json:"bounceType"`
	BounceSubType     string             `json:"bounceSubType"`
	BouncedRecipients []BouncedRecipient `json:"bouncedRecipients"`
	Timestamp         string             `json:"timestamp"`
	FeedbackID        string             `json:"feedbackId"`
	ReportingMTA      string             `json:"reportingMTA"`
}

// BouncedRecipient is one recipient of a Bounce.
type BouncedRecipient struct {
	EmailAddress   string `json:"emailAddress"`
	Action         string `json:"action"`
	Status         string `json:"status"`
	DiagnosticCode string `json:"diagnosticCode"`
}

// Complaint is the complaint object of a Complaint event.
type Complaint struct {
	FeedbackID            string                `json:"feedbackId"`
	ComplaintSubType      *string               `json:"complaintSubType"`
	ComplainedRecipients  []ComplainedRecipient `json:"complainedRecipients"`
	Timestamp             string                `json:"timestamp"`
	UserAgent             string                `json:"userAgent"`
	ComplaintFeedbackType string                `json:"complaintFeedbackType"`
	ArrivalDate           string                `json:"arrivalDate"`
}

// ComplainedRecipient is one recipient of a Complaint.
type ComplainedRecipient struct {
	EmailAddress string `json:"emailAddress"`
}

const (
	simulatorDomain = "simulator.amazonses.com"
	accountID       = "123456789012"
	reportingMTA    = "a8-70.smtp-out.amazonses.com"
	suppressedDiag  = "Amazon SES did not send the message to this address because it is on the suppression list for your account. For more information about removing addresses from the suppression list, see the Amazon SES Developer Guide at https://docs.aws.amazon.com/ses/latest/DeveloperGuide/sending-email-suppression-list.html"
)

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// simulatorKind is "success", "bounce", ... for a simulator address
// (plus-labels allowed), else "".
func simulatorKind(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || !strings.EqualFold(domain, simulatorDomain) {
		return ""
	}
	local, _, _ = strings.Cut(local, "+")
	return strings.ToLower(local)
}

// events lists what SES would publish for m, recipient by recipient, in order.
func (s *Server) events(m Message) []Event {
	suppressed := map[string]bool{}
	for _, a := range m.Suppressed {
		suppressed[bareAddress(a)] = true
	}
	now := s.o.Now()
	var evs []Event
	if s.o.EmitSend {
		// One per email, with every destination and the email's tags.
		evs = append(evs, Event{EventType: "Send", Mail: s.eventMail(m), Send: &struct{}{}})
	}
	for _, rcpt := range m.Recipients() {
		addr := bareAddress(rcpt)
		kind := simulatorKind(addr)
		if suppressed[addr] {
			kind = "suppressionlist"
		}
		switch kind {
		case "success", "ooto":
			evs = append(evs, s.delivery(m, addr, now))
		case "bounce":
			evs = append(evs, s.bounce(m, addr, now, "General", "smtp; 550 5.1.1 user unknown"))
		case "complaint":
			evs = append(evs, s.delivery(m, addr, now), s.complaint(m, addr, now))
		case "suppressionlist":
			evs = append(evs, s.bounce(m, addr, now, "OnAccountSuppressionList", suppressedDiag))
		case "":
			if s.o.EmitDelivery {
				evs = append(evs, s.delivery(m, addr, now))
			}
		}
		if kind == "ooto" {
			s.log.Info("simulator out-of-office: SES would deliver and send an auto-reply to the sender; no event", "message_id", m.MessageID, "to", addr)
		}
	}
	return evs
}

func (s *Server) eventMail(m Message) EventMail {
	dest := make([]string, 0, len(m.To)+len(m.Cc)+len(m.Bcc))
	for _, a := range m.Recipients() {
		dest = append(dest, bareAddress(a))
	}
	tags := map[string][]string{
		"ses:source-ip":       {"127.0.0.1"},
		"ses:caller-identity": {"sesfake"},
		"ses:from-domain":     {fromDomain(m.From)},
	}
	if m.ConfigurationSet != "" {
		tags["ses:configuration-set"] = []string{m.ConfigurationSet}
	}
	for k, v := range m.Tags {
		tags[k] = []string{v}
	}
	hs := rawHeaders(m.Raw)
	eh := make([]EventHeader, len(hs))
	for i, h := range hs {
		eh[i] = EventHeader{Name: h.Name, Value: h.Value}
	}
	return EventMail{
		Timestamp:        isoTime(m.ReceivedAt),
		Source:           m.From,
		SourceArn:        "arn:aws:ses:eu-west-1:" + accountID + ":identity/" + fromDomain(m.From),
		SendingAccountID: accountID,
		MessageID:        m.MessageID,
		Destination:      dest,
		Headers:          eh,
		CommonHeaders: CommonHeaders{
			From:      []string{m.From},
			To:        m.To,
			Cc:        m.Cc,
			MessageID: m.MessageID,
			Subject:   m.Subject,
			Date:      m.ReceivedAt.Format(time.RFC1123Z),
		},
		Tags: tags,
	}
}

func fromDomain(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		from = a.Address
	}
	_, d, _ := strings.Cut(from, "@")
	return strings.ToLower(d)
}

func (s *Server) delivery(m Message, addr string, now time.Time) Event {
	return Event{EventType: "Delivery", Mail: s.eventMail(m), Delivery: &Delivery{
		Timestamp:            isoTime(now),
		ProcessingTimeMillis: int(now.Sub(m.ReceivedAt).Milliseconds()),
		Recipients:           []string{addr},
		SMTPResponse:         "250 2.6.0 Message received",
		ReportingMTA:         reportingMTA,
		RemoteMtaIP:          "127.0.0.1",
	}}
}

func (s *Server) bounce(m Message, addr string, now time.Time, subType, diag string) Event {
	mta := "dsn; " + reportingMTA
	if subType == "OnAccountSuppressionList" {
		mta = "dns; amazonses.com"
	}
	return Event{EventType: "Bounce", Mail: s.eventMail(m), Bounce: &Bounce{
		BounceType:    "Permanent",
		BounceSubType: subType,
		BouncedRecipients: []BouncedRecipient{{
			EmailAddress: addr, Action: "failed", Status: "5.1.1", DiagnosticCode: diag,
		}},
		Timestamp:    isoTime(now),
		FeedbackID:   newMessageID(now),
		ReportingMTA: mta,
	}}
}

func (s *Server) complaint(m Message, addr string, now time.Time) Event {
	return Event{EventType: "Complaint", Mail: s.eventMail(m), Complaint: &Complaint{
		FeedbackID:            newMessageID(now),
		ComplainedRecipients:  []ComplainedRecipient{{EmailAddress: addr}},
		Timestamp:             isoTime(now),
		UserAgent:             "Amazon SES Mailbox Simulator",
		ComplaintFeedbackType: "abuse",
		ArrivalDate:           isoTime(now),
	}}
}

// publish hands m's events to Notify in the background, in order, each retried
// with doubling backoff; a failure is logged once and the next event still goes.
func (s *Server) publish(m Message) {
	if s.o.Notify == nil {
		return
	}
	evs := s.events(m)
	if len(evs) == 0 {
		return
	}
	payloads := make([][]byte, 0, len(evs))
	for _, ev := range evs {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // SES writes "<" in addresses as is
		if err := enc.Encode(ev); err != nil {
			s.log.Error("marshal event", "message_id", m.MessageID, "err", err)
			return
		}
		payloads = append(payloads, bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	}
	id := m.MessageID // not m: the goroutine would move every m to the heap
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for i, p := range payloads {
			if err := s.notify(p); err != nil {
				s.log.Warn("notify failed, event dropped", "message_id", id,
					"event_type", evs[i].EventType, "attempts", s.o.NotifyAttempts, "err", err)
			}
		}
	}()
}

func (s *Server) notify(payload []byte) error {
	wait := s.o.NotifyBackoff
	var err error
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		err = s.o.Notify(ctx, payload)
		cancel()
		if err == nil || attempt >= s.o.NotifyAttempts {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return err
		}
		wait = min(2*wait, 30*time.Second)
	}
}

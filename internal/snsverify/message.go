package snsverify

import (
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"strings"

	"newsletter"
)

// Message types SNS posts to HTTP(S) endpoints.
const (
	TypeNotification             = "Notification"
	TypeSubscriptionConfirmation = "SubscriptionConfirmation"
	TypeUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// Message is the JSON document SNS posts to an HTTP(S) subscriber.
type Message struct {
	Type             string `json:"Type"`
	MessageId        string `json:"MessageId"`
	Token            string `json:"Token,omitempty"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject,omitempty"`
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	SubscribeURL     string `json:"SubscribeURL,omitempty"`
	UnsubscribeURL   string `json:"UnsubscribeURL,omitempty"`
}

// stringToSign builds the canonical string SNS signs: selected fields in
// byte order of their names, each as "Name\nValue\n". Subject takes part
// only when the message has one.
//
// The format is ambiguous when a value holds a newline: a Subject folded
// into the MessageId ("id\nSubject\ntext") gives the same string as the
// signed message with that Subject, and a new MessageId passes the replay
// check. So every field after Message (which comes first, and which SNS
// itself writes with newlines) must be a single line.
func stringToSign(m *Message) (string, error) {
	for _, f := range []struct{ name, value string }{
		{"MessageId", m.MessageId}, {"Subject", m.Subject}, {"SubscribeURL", m.SubscribeURL}, {"Timestamp", m.Timestamp},
		{"Token", m.Token}, {"TopicArn", m.TopicArn}, {"Type", m.Type},
	} {
		if strings.ContainsAny(f.value, "\n\r") {
			return "", newsletter.Errorf(newsletter.EINVALID, "SNS message field %s holds a line break, which no genuine SNS message has: refused", f.name)
		}
	}
	var b strings.Builder
	add := func(k, v string) {
		b.WriteString(k)
		b.WriteByte('\n')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	switch m.Type {
	case TypeNotification:
		add("Message", m.Message)
		add("MessageId", m.MessageId)
		if m.Subject != "" {
			add("Subject", m.Subject)
		}
		add("Timestamp", m.Timestamp)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	case TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
		add("Message", m.Message)
		add("MessageId", m.MessageId)
		add("SubscribeURL", m.SubscribeURL)
		add("Timestamp", m.Timestamp)
		add("Token", m.Token)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	default:
		return "", newsletter.Errorf(newsletter.EINVALID, "unknown SNS message Type %q", clip(m.Type))
	}
	return b.String(), nil
}

// clip shortens attacker-supplied text before it goes into an error message.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// digest hashes the canonical string with the hash the SignatureVersion
// names (SHA1 for "1", SHA256 for "2").
func digest(hash crypto.Hash, canonical string) []byte {
	if hash == crypto.SHA1 {
		d := sha1.Sum([]byte(canonical))
		return d[:]
	}
	d := sha256.Sum256([]byte(canonical))
	return d[:]
}

package sesevent

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"newsletter"
)

// mail builds a realistic mail object; extra is spliced in after it.
func mailJSON(dest string) string {
	return `"mail":{
    "timestamp":"2026-03-14T09:00:00.000Z",
    "source":"Leerwerkakkoord <nieuwsbrief@example.org>",
    "sourceArn":"arn:aws:ses:eu-west-1:123456789012:identity/example.org",
    "sendingAccountId":"123456789012",
    "messageId":"0102018e3c5f6a7b-1c2d3e4f-aaaa-bbbb-cccc-123456789abc-000000",
    "destination":[` + dest + `],
    "headersTruncated":false,
    "headers":[{"name":"From","value":"Leerwerkakkoord <nieuwsbrief@example.org>"},{"name":"To","value":"jan@school.nl"}],
    "commonHeaders":{"from":["Leerwerkakkoord <nieuwsbrief@example.org>"],"to":["jan@school.nl"],"messageId":"0102018e3c5f6a7b","subject":"Nieuwsbrief maart"},
    "tags":{"ses:configuration-set":["newsletter"],"ses:source-ip":["192.0.2.1"],"edition_id":["ed-7"],"delivery_id":["d-1","d-2"]}
  }`
}

const msgID = "0102018e3c5f6a7b-1c2d3e4f-aaaa-bbbb-cccc-123456789abc-000000"

var mailTime = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParse(t *testing.T) {
	tags := map[string][]string{
		"ses:configuration-set": {"newsletter"}, "ses:source-ip": {"192.0.2.1"},
		"edition_id": {"ed-7"}, "delivery_id": {"d-1", "d-2"},
	}
	oneDest := `"Jan de Vries <Jan@School.NL>"`
	tests := []struct {
		name      string
		json      string
		want      Event
		permanent bool
	}{
		{"event bounce permanent, several recipients", `{"eventType":"Bounce",
  "bounce":{"feedbackId":"0102018e-fb","bounceType":"Permanent","bounceSubType":"General",
    "bouncedRecipients":[
      {"emailAddress":"\"Jan\" <jan@x.nl>","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"},
      {"emailAddress":"Piet@Gemeente.NL","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 no such user"}],
    "timestamp":"2026-03-14T09:00:02.669Z","reportingMTA":"dsn; a1-2.smtp-out.eu-west-1.amazonses.com"},
  ` + mailJSON(`"jan@x.nl","piet@gemeente.nl","kees@bedrijf.nl"`) + `}`,
			Event{Kind: KindBounce, RawType: "Bounce", MessageID: msgID, Timestamp: at("2026-03-14T09:00:02.669Z"),
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{
					{Email: "jan@x.nl", Action: "failed", Status: "5.1.1", Diagnostic: "smtp; 550 5.1.1 user unknown"},
					{Email: "piet@gemeente.nl", Action: "failed", Status: "5.1.1", Diagnostic: "smtp; 550 no such user"}},
				BounceType: "Permanent", BounceSubType: "General", FeedbackID: "0102018e-fb"}, true},
		{"identity bounce transient", `{"notificationType":"Bounce",
  "bounce":{"bounceType":"Transient","bounceSubType":"MailboxFull",
    "bouncedRecipients":[{"emailAddress":"vol@school.nl","action":"failed","status":"4.2.2","diagnosticCode":"smtp; 452 4.2.2 mailbox full"}],
    "timestamp":"2026-03-14T10:00:00Z","feedbackId":"x"},
  ` + mailJSON(`"vol@school.nl"`) + `}`,
			Event{Kind: KindBounce, RawType: "Bounce", MessageID: msgID, Timestamp: at("2026-03-14T10:00:00Z"),
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{{Email: "vol@school.nl", Action: "failed", Status: "4.2.2", Diagnostic: "smtp; 452 4.2.2 mailbox full"}},
				BounceType: "Transient", BounceSubType: "MailboxFull", FeedbackID: "x"}, false},
		{"suppression list bounce", `{"eventType":"Bounce",
  "bounce":{"bounceType":"Permanent","bounceSubType":"OnAccountSuppressionList",
    "bouncedRecipients":[{"emailAddress":"weg@school.nl","action":"failed","status":"5.1.1","diagnosticCode":"Amazon SES did not send the message to this address because it is on the suppression list for your account."}],
    "timestamp":"2026-03-14T09:00:01.000Z","feedbackId":"y","reportingMTA":"dns; amazonses.com"},
  ` + mailJSON(`"weg@school.nl"`) + `}`,
			Event{Kind: KindBounce, RawType: "Bounce", MessageID: msgID, Timestamp: at("2026-03-14T09:00:01Z"),
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{{Email: "weg@school.nl", Action: "failed", Status: "5.1.1", Diagnostic: "Amazon SES did not send the message to this address because it is on the suppression list for your account."}},
				BounceType: "Permanent", BounceSubType: "OnAccountSuppressionList", FeedbackID: "y"}, true},
		{"event complaint", `{"eventType":"Complaint",
  "complaint":{"feedbackId":"fb","complaintSubType":null,
    "complainedRecipients":[{"emailAddress":"boos@bedrijf.nl"}],
    "timestamp":"2026-03-15T08:00:00.000Z","userAgent":"ExampleCorp Feedback Loop (V0.01)",
    "complaintFeedbackType":"abuse","arrivalDate":"2026-03-15T07:59:00.000Z"},
  ` + mailJSON(`"boos@bedrijf.nl"`) + `}`,
			Event{Kind: KindComplaint, RawType: "Complaint", MessageID: msgID, Timestamp: at("2026-03-15T08:00:00Z"),
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients:            []Recipient{{Email: "boos@bedrijf.nl"}},
				ComplaintFeedbackType: "abuse"}, false},
		{"identity complaint without feedback type", `{"notificationType":"Complaint",
  "complaint":{"complainedRecipients":[{"emailAddress":"A@B.NL"}],"timestamp":"2026-03-15T08:00:00.000Z","feedbackId":"f"},
  ` + mailJSON(`"a@b.nl"`) + `}`,
			Event{Kind: KindComplaint, RawType: "Complaint", MessageID: msgID, Timestamp: at("2026-03-15T08:00:00Z"),
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{{Email: "a@b.nl"}}}, false},
		{"event delivery", `{"eventType":"Delivery",
  ` + mailJSON(`"jan@school.nl","piet@school.nl"`) + `,
  "delivery":{"timestamp":"2026-03-14T09:00:01.500Z","processingTimeMillis":546,
    "recipients":["jan@school.nl","Piet <PIET@school.nl>"],
    "smtpResponse":"250 2.6.0 Message received","reportingMTA":"a8-70.smtp-out.amazonses.com","remoteMtaIp":"192.0.2.9"}}`,
			Event{Kind: KindDelivery, RawType: "Delivery", MessageID: msgID, Timestamp: at("2026-03-14T09:00:01.5Z"),
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{
					{Email: "jan@school.nl", Diagnostic: "250 2.6.0 Message received"},
					{Email: "piet@school.nl", Diagnostic: "250 2.6.0 Message received"}}}, false},
		{"event send", `{"eventType":"Send",` + mailJSON(oneDest) + `,"send":{}}`,
			Event{Kind: KindSend, RawType: "Send", MessageID: msgID, Timestamp: mailTime,
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{{Email: "jan@school.nl"}}}, false},
		{"event reject", `{"eventType":"Reject",` + mailJSON(oneDest) + `,"reject":{"reason":"Bad content"}}`,
			Event{Kind: KindReject, RawType: "Reject", MessageID: msgID, Timestamp: mailTime,
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{{Email: "jan@school.nl"}}, Detail: "Bad content"}, false},
		{"event delivery delay", `{"eventType":"DeliveryDelay",` + mailJSON(`"traag@school.nl"`) + `,
  "deliveryDelay":{"timestamp":"2026-03-14T12:00:00.000Z","delayType":"TransientCommunicationFailure",
    "expirationTime":"2026-03-15T09:00:00.000Z","delayedRecipients":[
      {"emailAddress":"traag@school.nl","status":"4.4.1","diagnosticCode":"smtp; 421 4.4.1 Unable to connect"}]}}`,
			Event{Kind: KindDeliveryDelay, RawType: "DeliveryDelay", MessageID: msgID, Timestamp: at("2026-03-14T12:00:00Z"),
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{{Email: "traag@school.nl", Status: "4.4.1", Diagnostic: "smtp; 421 4.4.1 Unable to connect"}},
				Detail:     "TransientCommunicationFailure"}, false},
		{"event open", `{"eventType":"Open",` + mailJSON(oneDest) + `,
  "open":{"ipAddress":"192.0.2.1","timestamp":"2026-03-14T11:00:00.000Z","userAgent":"Mozilla/5.0"}}`,
			Event{Kind: KindOpen, RawType: "Open", MessageID: msgID, Timestamp: at("2026-03-14T11:00:00Z"),
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{{Email: "jan@school.nl"}}}, false},
		{"event click", `{"eventType":"Click",` + mailJSON(oneDest) + `,
  "click":{"ipAddress":"192.0.2.1","link":"https://example.org/agenda","linkTags":{"samplekey0":["samplevalue0"]},
    "timestamp":"2026-03-14T11:01:00.000Z","userAgent":"Mozilla/5.0"}}`,
			Event{Kind: KindClick, RawType: "Click", MessageID: msgID, Timestamp: at("2026-03-14T11:01:00Z"),
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{{Email: "jan@school.nl"}}, Link: "https://example.org/agenda"}, false},
		{"event rendering failure", `{"eventType":"Rendering Failure",` + mailJSON(oneDest) + `,
  "failure":{"errorMessage":"Attribute 'naam' is not present in the rendering data.","templateName":"nieuwsbrief"}}`,
			Event{Kind: KindRenderingFailure, RawType: "Rendering Failure", MessageID: msgID, Timestamp: mailTime,
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{{Email: "jan@school.nl"}}, Detail: "Attribute 'naam' is not present in the rendering data."}, false},
		{"event subscription", `{"eventType":"Subscription",` + mailJSON(oneDest) + `,
  "subscription":{"contactList":"partners","timestamp":"2026-03-14T13:00:00.000Z","source":"UnsubscribeHeader",
    "newTopicPreferences":{"unsubscribeAll":true,"topicSubscriptionStatus":[{"topicName":"nieuws","subscriptionStatus":"OptOut"}]},
    "oldTopicPreferences":{"unsubscribeAll":false,"topicSubscriptionStatus":[{"topicName":"nieuws","subscriptionStatus":"OptIn"}]}}}`,
			Event{Kind: KindSubscription, RawType: "Subscription", MessageID: msgID, Timestamp: at("2026-03-14T13:00:00Z"),
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{{Email: "jan@school.nl"}}}, false},
		{"unknown type kept", `{"eventType":"Teleport","teleport":{"to":"mars"},` + mailJSON(oneDest) + `}`,
			Event{Kind: KindUnknown, RawType: "Teleport", MessageID: msgID, Timestamp: mailTime,
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{{Email: "jan@school.nl"}}}, false},
		{"unknown type without mail", `{"notificationType":"AmazonSnsSubscriptionSucceeded","message":"You have successfully subscribed your Amazon SNS topic"}`,
			Event{Kind: KindUnknown, RawType: "AmazonSnsSubscriptionSucceeded"}, false},
		{"bounce without recipients falls back to destination", `{"eventType":"Bounce","bounce":{"bounceType":"Undetermined","bounceSubType":"Undetermined"},` + mailJSON(`"a@b.nl"," C@D.NL "`) + `}`,
			Event{Kind: KindBounce, RawType: "Bounce", MessageID: msgID, Timestamp: mailTime,
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{{Email: "a@b.nl"}, {Email: "c@d.nl"}},
				BounceType: "Undetermined", BounceSubType: "Undetermined"}, false},
		{"stray bounce section ignored on delivery", `{"eventType":"Delivery","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"x@y.nl"}]},` + mailJSON(oneDest) + `}`,
			Event{Kind: KindDelivery, RawType: "Delivery", MessageID: msgID, Timestamp: mailTime,
				Source: "Leerwerkakkoord <nieuwsbrief@example.org>", Tags: tags,
				Recipients: []Recipient{{Email: "jan@school.nl"}}}, false},
		{"no tags, odd timestamp", `{"notificationType":"Delivery","mail":{"timestamp":"gisteren","messageId":"m1","source":"a@b.nl","destination":["x@y.nl"]},"delivery":{"recipients":["x@y.nl"]}}`,
			Event{Kind: KindDelivery, RawType: "Delivery", MessageID: "m1", Source: "a@b.nl",
				Recipients: []Recipient{{Email: "x@y.nl"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.json))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
			if got.Permanent() != tt.permanent {
				t.Errorf("Permanent() = %v, want %v", got.Permanent(), tt.permanent)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct{ name, json, msg string }{
		{"empty", ``, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"array", `[{"eventType":"Bounce"}]`, "not a JSON object"},
		{"string", `"Bounce"`, "not a JSON object"},
		{"truncated", `{"eventType":"Bounce","mail":{"messageId":"m`, "not valid JSON"},
		{"wrong field type", `{"eventType":"Bounce","mail":{"messageId":"m","destination":"a@b.nl"}}`, "not valid JSON"},
		{"no messageId", `{"eventType":"Bounce","bounce":{"bounceType":"Permanent"},"mail":{"destination":["a@b.nl"]}}`, "Bounce notification has no mail.messageId"},
		{"no type, no messageId", `{"hello":"world"}`, "not an SES notification"},
		{"empty object", `{}`, "not an SES notification"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse([]byte(tt.json))
			if ev != nil || newsletter.ErrorCode(err) != newsletter.EINVALID || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %+v, %v; want EINVALID containing %q", ev, err, tt.msg)
			}
		})
	}
}

func TestAddress(t *testing.T) {
	tests := map[string]string{
		"jan@x.nl":                   "jan@x.nl",
		`"Jan" <jan@x.nl>`:           "jan@x.nl",
		"Jan de Vries <Jan@X.NL>":    "jan@x.nl",
		`"de Vries, Jan" <JAN@x.nl>`: "jan@x.nl",
		"  Jan@X.nl  ":               "jan@x.nl",
		"José <josé@voorbeeld.nl>":   "josé@voorbeeld.nl",
		"Broken \"name <jan@x.nl>":   "jan@x.nl",
		"<jan@x.nl>":                 "jan@x.nl",
		"":                           "",
		"undisclosed-recipients":     "",
		"Name <>":                    "",
		"=?utf-8?q?Jan?= <jan@x.nl>": "jan@x.nl",
	}
	for in, want := range tests {
		if got := Address(in); got != want {
			t.Errorf("Address(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPermanentNil(t *testing.T) {
	var e *Event
	if e.Permanent() {
		t.Error("nil event is a permanent bounce")
	}
}

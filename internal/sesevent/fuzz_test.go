package sesevent

import (
	"strings"
	"testing"

	"newsletter"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"\"J\" <j@x.nl>"}]},"mail":{"messageId":"m","destination":["j@x.nl"],"tags":{"a":["b"]}}}`,
		`{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"a@b"}]},"mail":{"messageId":"m"}}`,
		`{"eventType":"Delivery","delivery":{"recipients":["a@b"],"timestamp":"2026-01-01T00:00:00Z"},"mail":{"messageId":"m"}}`,
		`{"eventType":"DeliveryDelay","deliveryDelay":{"delayedRecipients":[{"emailAddress":"a@b"}]},"mail":{"messageId":"m"}}`,
		`{"eventType":"Click","click":{"link":"https://x"},"mail":{"messageId":"m"}}`,
		`{"eventType":"Rendering Failure","failure":{"errorMessage":"x"},"mail":{"messageId":"m"}}`,
		`{"notificationType":"AmazonSnsSubscriptionSucceeded"}`,
		`{}`, `null`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Parse(data)
		if err != nil {
			if ev != nil || newsletter.ErrorCode(err) != newsletter.EINVALID {
				t.Fatalf("got %+v, %v; want nil and EINVALID", ev, err)
			}
			return
		}
		if ev.Kind == "" || (ev.MessageID == "" && ev.Kind != KindUnknown) {
			t.Fatalf("inconsistent event %+v", ev)
		}
		for _, r := range ev.Recipients {
			if r.Email == "" || r.Email != strings.ToLower(r.Email) {
				t.Fatalf("recipient email %q not normalised", r.Email)
			}
		}
		_ = ev.Permanent()
	})
}

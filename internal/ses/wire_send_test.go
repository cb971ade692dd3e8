package ses_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// sendInput is a SendEmail as Sender.Send makes it.
func sendInput(html, text, name string) *sesv2.SendEmailInput {
	utf8 := aws.String("UTF-8")
	return &sesv2.SendEmailInput{
		FromEmailAddress:     aws.String(name + " <a@example.org>"),
		Destination:          &types.Destination{ToAddresses: []string{"b@example.org"}},
		ConfigurationSetName: aws.String("cs"),
		ReplyToAddresses:     []string{"r@example.org"},
		EmailTags:            []types.MessageTag{{Name: aws.String("edition_id"), Value: aws.String("e1")}, {Name: aws.String("kind"), Value: aws.String("newsletter")}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String("Over " + name), Charset: utf8},
			Body:    &types.Body{Html: &types.Content{Data: aws.String(html), Charset: utf8}, Text: &types.Content{Data: aws.String(text), Charset: utf8}},
			Headers: []types.MessageHeader{{Name: aws.String("List-Unsubscribe"), Value: aws.String("<https://example.org/u/" + name + ">")}},
		}},
	}
}

func sendBodies(t testing.TB, in *sesv2.SendEmailInput) (ours, sdk captured) {
	t.Helper()
	return wireBodies(t, func(c *sesv2.Client) error {
		_, err := c.SendEmail(context.Background(), in)
		return err
	})
}

// A SendEmail's body is written by the client's encoder, and it is what
// the SDK's own serialiser writes, escapes and invalid UTF-8 included; its
// signature covers it.
func TestSendBodyMatchesSDK(t *testing.T) {
	for name, in := range map[string]*sesv2.SendEmailInput{
		"plain":   sendInput("<p>Beste Jan</p>", "Beste Jan", "Nieuwsbrief"),
		"escapes": sendInput("<p class=\"x\">\\{{lb}}\t\r\n\x00\x1f\x7f</p>", "\"quoted\" \\ back \u2028", "Café \"Zuid\""),
		"badUTF8": sendInput("<p>\xff\xfe half \xe2\x82</p>", "\xc3", "x\xffy"),
		"bare": {FromEmailAddress: aws.String("a@example.org"), Destination: &types.Destination{CcAddresses: []string{"c@example.org"}, BccAddresses: []string{}},
			Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("")}, Body: &types.Body{Text: &types.Content{Data: aws.String("t")}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			ours, sdk := sendBodies(t, in)
			sameRequest(t, ours, sdk)
		})
	}
}

// A SendEmail with a member the encoder does not write (attachments,
// list management, a raw message) goes through the SDK's serialiser.
func TestSendBodyUnknownMemberGoesToSDK(t *testing.T) {
	withList := sendInput("<p>x</p>", "x", "N")
	withList.ListManagementOptions = &types.ListManagementOptions{ContactListName: aws.String("partners")}
	withFile := sendInput("<p>x</p>", "x", "N")
	withFile.Content.Simple.Attachments = []types.Attachment{{FileName: aws.String("a.txt"), RawContent: []byte("hoi")}}
	raw := &sesv2.SendEmailInput{FromEmailAddress: aws.String("a@example.org"), Content: &types.EmailContent{Raw: &types.RawMessage{Data: []byte("Subject: x\r\n\r\nx")}}}
	for name, c := range map[string]struct {
		in   *sesv2.SendEmailInput
		want func(map[string]any) bool
	}{
		"list management": {withList, func(b map[string]any) bool { return b["ListManagementOptions"] != nil }},
		"attachment": {withFile, func(b map[string]any) bool {
			return b["Content"].(map[string]any)["Simple"].(map[string]any)["Attachments"] != nil
		}},
		"raw": {raw, func(b map[string]any) bool { return b["Content"].(map[string]any)["Raw"] != nil }},
	} {
		t.Run(name, func(t *testing.T) {
			ours, sdk := sendBodies(t, c.in)
			sameRequest(t, ours, sdk)
			var b map[string]any
			_ = json.Unmarshal(ours.body, &b)
			if !c.want(b) {
				t.Errorf("the member is missing from %s", ours.body)
			}
		})
	}
}

func FuzzSendBody(f *testing.F) {
	f.Add("<p>{{x}}</p>", "tekst", "Naam")
	f.Add("\\{{lb}}\x00\"", "\xff", "\u2028\t")
	f.Fuzz(func(t *testing.T, html, text, name string) {
		ours, sdk := sendBodies(t, sendInput(html, text, name))
		sameRequest(t, ours, sdk)
	})
}

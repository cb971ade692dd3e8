package ses

import (
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// DecodeBulkOutput is decodeBulkOutput for the tests.
func DecodeBulkOutput(b []byte) ([]types.BulkEmailEntryResult, bool) {
	var o sesv2.SendBulkEmailOutput
	ok := decodeBulkOutput(b, &o)
	return o.BulkEmailEntryResults, ok
}

// DecodeSendOutput is decodeSendOutput for the tests.
func DecodeSendOutput(b []byte) (string, bool) {
	var o sesv2.SendEmailOutput
	ok := decodeSendOutput(b, &o)
	if o.MessageId == nil {
		return "", ok
	}
	return *o.MessageId, ok
}

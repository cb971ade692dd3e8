package sesfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"path/filepath"
	"strings"
	"unsafe"
)

type sendBulkEmailRequest struct {
	FromEmailAddress     string
	ReplyToAddresses     []string
	DefaultContent       *defaultContent
	BulkEmailEntries     []bulkEntryFields
	DefaultEmailTags     []Header
	ConfigurationSetName string
}

type defaultContent struct{ Template *bulkTemplateField }

type bulkTemplateField struct {
	TemplateName    string
	TemplateArn     string
	TemplateContent *templateFields
	TemplateData    string
	Headers         []Header
}

type templateFields struct{ Subject, Html, Text string }

type bulkEntryFields struct {
	Destination             *destination
	ReplacementEmailContent *replacementContent
	ReplacementHeaders      []Header
	ReplacementTags         []Header
}

type replacementContent struct{ ReplacementTemplate *replacementTemplate }

type replacementTemplate struct{ ReplacementTemplateData string }

type bulkResult struct {
	Status    string
	MessageId string `json:",omitempty"`
	Error     string `json:",omitempty"`
}

// Rendering is a bulk entry SES took (SUCCESS, with a message id) but could
// not render: SES sends nothing and reports a Rendering Failure event.
type Rendering struct {
	MessageID, To, Error string
}

// RenderingFailures returns the bulk entries whose template did not render.
func (s *Server) RenderingFailures() []Rendering {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Rendering(nil), s.failures...)
}

// statusOf maps the error types admit answers with to bulk entry statuses.
var statusOf = map[string]string{
	"MessageRejected":           "MESSAGE_REJECTED",
	"TooManyRequestsException":  "ACCOUNT_THROTTLED",
	"LimitExceededException":    "ACCOUNT_DAILY_QUOTA_EXCEEDED",
	"SendingPausedException":    "ACCOUNT_SENDING_PAUSED",
	"AccountSuspendedException": "ACCOUNT_SUSPENDED",
	"BadRequestException":       "INVALID_PARAMETER",
}

// sendBulkEmail is SendBulkEmail with inline template content (or a
// template name, refused: sesfake keeps no stored templates). Call-level
// faults answer the whole call as SendEmail's do; each entry is then
// rendered (without escaping), validated and admitted on its own, and gets
// its own status.
func (s *Server) sendBulkEmail(w http.ResponseWriter, r *http.Request) {
	f := s.currentFaults()
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException", "read body: "+err.Error())
		return
	}
	var req sendBulkEmailRequest
	// body is not changed again: its string can share it.
	if !decodeBulk(unsafe.String(unsafe.SliceData(body), len(body)), &req) {
		req = sendBulkEmailRequest{}
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException", "invalid JSON body: "+err.Error())
		return
	}
	tpl, defaults, err := bulkTemplate(&req)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException", err.Error())
		return
	}
	c := s.newBulkCall(&req, tpl, defaults)
	results := make([]bulkResult, len(req.BulkEmailEntries))
	for i := range req.BulkEmailEntries {
		results[i] = s.bulkEntry(f, &req, i, c)
	}
	if b, ok := bulkResultsJSON(results); ok {
		writeJSONBytes(w, http.StatusOK, b)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"BulkEmailEntryResults": results})
}

// bulkResultsJSON is json.Marshal's answer for results, written directly
// when no string needs escaping (TestBulkResultsJSON compares).
func bulkResultsJSON(results []bulkResult) ([]byte, bool) {
	b := make([]byte, 0, 32+len(results)*96)
	b = append(b, `{"BulkEmailEntryResults":[`...)
	for i, r := range results {
		if !plainJSON(r.Status) || !plainJSON(r.MessageId) || !plainJSON(r.Error) {
			return nil, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Status":"`...)
		b = append(b, r.Status...)
		b = append(b, '"')
		if r.MessageId != "" {
			b = append(b, `,"MessageId":"`...)
			b = append(b, r.MessageId...)
			b = append(b, '"')
		}
		if r.Error != "" {
			b = append(b, `,"Error":"`...)
			b = append(b, r.Error...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), true
}

// plainJSON reports whether json.Marshal writes s as it is, in quotes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// bulkCall is what the entries of one call share: the templates, parsed
// once, the default data, and whether the sender's address parses.
type bulkCall struct {
	subject, html, text *compiledTemplate
	hasHTML, hasText    bool
	defaults            map[string]string
	fromOK              bool
	own                 []kv // an entry's own data; reused
}

func (s *Server) newBulkCall(req *sendBulkEmailRequest, tpl templateContent, defaults map[string]string) *bulkCall {
	_, err := mail.ParseAddress(req.FromEmailAddress)
	return &bulkCall{subject: compileTemplate(tpl.Subject), html: compileTemplate(tpl.HTML), text: compileTemplate(tpl.Text),
		hasHTML: tpl.HTML != "", hasText: tpl.Text != "", defaults: defaults, fromOK: err == nil}
}

type templateContent struct{ Subject, HTML, Text string }

// bulkTemplate checks the call as a whole, as SES does before any entry.
func bulkTemplate(req *sendBulkEmailRequest) (templateContent, map[string]string, error) {
	var t templateContent
	switch {
	case req.DefaultContent == nil || req.DefaultContent.Template == nil:
		return t, nil, errors.New("DefaultContent.Template is required")
	case req.DefaultContent.Template.TemplateName != "" || req.DefaultContent.Template.TemplateArn != "":
		return t, nil, errors.New("sesfake keeps no stored templates; give DefaultContent.Template.TemplateContent inline")
	case req.DefaultContent.Template.TemplateContent == nil:
		return t, nil, errors.New("DefaultContent.Template needs TemplateContent")
	case len(req.BulkEmailEntries) == 0:
		return t, nil, errors.New("BulkEmailEntries needs at least one entry")
	case len(req.BulkEmailEntries) > maxRecipients:
		return t, nil, fmt.Errorf("BulkEmailEntries has %d entries; at most %d are allowed", len(req.BulkEmailEntries), maxRecipients)
	}
	c := req.DefaultContent.Template.TemplateContent
	if c.Subject == "" || (c.Html == "" && c.Text == "") {
		return t, nil, errors.New("TemplateContent needs a Subject and Html or Text")
	}
	defaults, err := templateData(req.DefaultContent.Template.TemplateData)
	if err != nil {
		return t, nil, fmt.Errorf("DefaultContent.Template.TemplateData: %v", err)
	}
	return templateContent{c.Subject, c.Html, c.Text}, defaults, nil
}

// templateData decodes template data: a JSON object of strings.
func templateData(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return map[string]string{}, nil
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64, bool:
			out[k] = fmt.Sprint(v)
		default:
			return nil, fmt.Errorf("value of %q is not a string, number or boolean (sesfake renders simple variables only)", k)
		}
	}
	return out, nil
}

func (s *Server) bulkEntry(f Faults, req *sendBulkEmailRequest, i int, c *bulkCall) bulkResult {
	e := &req.BulkEmailEntries[i]
	for status, p := range f.EntryStatus {
		if chance(p) {
			return bulkResult{Status: status, Error: "sesfake: EntryStatus fault"}
		}
	}
	data := tplData{defaults: c.defaults}
	if e.ReplacementEmailContent != nil && e.ReplacementEmailContent.ReplacementTemplate != nil {
		own, err := parseTemplateData(e.ReplacementEmailContent.ReplacementTemplate.ReplacementTemplateData, c.own[:0])
		if err != nil {
			return bulkResult{Status: "INVALID_PARAMETER", Error: "ReplacementTemplateData: " + err.Error()}
		}
		// SES merges: an entry's keys override the default data's.
		c.own, data.own = own, own
	}
	// One request of SendEmail's shape per entry, so that validation, MIME
	// and admission are the same.
	one := &sendEmailRequest{FromEmailAddress: req.FromEmailAddress, ReplyToAddresses: req.ReplyToAddresses,
		ConfigurationSetName: req.ConfigurationSetName, Destination: e.Destination, fromOK: c.fromOK}
	one.EmailTags = mergeByName(req.DefaultEmailTags, e.ReplacementTags, false)
	// With Discard nothing keeps the bodies, and only events read the
	// subject: the templates are only checked then, not rendered.
	var subject, html, text string
	var errS, errH, errT error
	if s.o.Discard && s.o.Notify == nil {
		errS = c.subject.check(&data)
	} else {
		subject, errS = c.subject.render(&data)
	}
	if s.o.Discard {
		errH, errT = c.html.check(&data), c.text.check(&data)
	} else {
		html, errH = c.html.render(&data)
		text, errT = c.text.render(&data)
	}
	renderErr := errors.Join(errS, errH, errT)
	simple := &simpleContent{Subject: &contentPart{Data: subject}, Body: &struct{ Text, Html *contentPart }{},
		Headers: mergeByName(req.DefaultContent.Template.Headers, e.ReplacementHeaders, true)}
	one.Content = &emailContent{Simple: simple}
	if c.hasHTML {
		simple.Body.Html = &contentPart{Data: html}
	}
	if c.hasText {
		simple.Body.Text = &contentPart{Data: text}
	}
	msg, err := s.buildMessage(one)
	if err == nil && renderErr != nil {
		// SES takes the entry and fails it later, asynchronously.
		s.mu.Lock()
		s.failures = append(s.failures, Rendering{MessageID: msg.MessageID, To: strings.Join(msg.To, ","), Error: renderErr.Error()})
		s.mu.Unlock()
		s.log.Info("bulk entry did not render", "message_id", msg.MessageID, "err", renderErr)
		return bulkResult{Status: "SUCCESS", MessageId: msg.MessageID}
	}
	if err == nil {
		err = s.admit(f, &msg)
	}
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			st, ok := statusOf[ae.typ]
			if !ok {
				st = "FAILED"
			}
			return bulkResult{Status: st, Error: ae.msg}
		}
		return bulkResult{Status: "TRANSIENT_FAILURE", Error: err.Error()}
	}
	if s.o.OutboxDir != "" && !s.o.Discard {
		if err := writeFileAtomic(filepath.Join(s.o.OutboxDir, msg.MessageID+".eml"), msg.Raw); err != nil {
			s.log.Warn("write outbox file", "message_id", msg.MessageID, "err", err)
		}
	}
	s.publish(msg)
	return bulkResult{Status: "SUCCESS", MessageId: msg.MessageID}
}

// mergeByName is defaults with each of own replacing the default of the
// same name (case-insensitively for headers), then the rest of own.
func mergeByName(defaults, own []Header, fold bool) []Header {
	if len(own) == 0 {
		return defaults
	}
	if len(defaults) == 0 {
		return own
	}
	same := func(a, b string) bool {
		if fold {
			return strings.EqualFold(a, b)
		}
		return a == b
	}
	out := make([]Header, 0, len(defaults)+len(own))
	for _, d := range defaults {
		replaced := false
		for _, o := range own {
			if same(o.Name, d.Name) {
				replaced = true
			}
		}
		if !replaced {
			out = append(out, d)
		}
	}
	return append(out, own...)
}

package sesfake

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unsafe"
)

// Message is one accepted email.
type Message struct {
	MessageID        string
	From             string
	ReplyTo          []string
	To, Cc, Bcc      []string
	Subject          string
	HTML, Text       string   // as sent (Simple) or decoded from the MIME parts (Raw)
	Headers          []Header // custom headers of a Simple send, or all top-level headers of a Raw one
	Tags             map[string]string
	ConfigurationSet string
	ReceivedAt       time.Time
	Raw              []byte // the .eml: built for Simple, as received for Raw
	Suppressed       []string
}

// Header is one message header, in the order given.
type Header struct{ Name, Value string }

// Header returns the values of the named headers, case-insensitively.
func (m Message) Header(name string) []string {
	var vs []string
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			vs = append(vs, h.Value)
		}
	}
	return vs
}

// Recipients are To, Cc and Bcc together.
func (m Message) Recipients() []string {
	return append(append(append([]string(nil), m.To...), m.Cc...), m.Bcc...)
}

// recipients is Recipients, not to be modified: To itself if there are
// no others.
func (m *Message) recipients() []string {
	if len(m.Cc) == 0 && len(m.Bcc) == 0 {
		return m.To
	}
	return m.Recipients()
}

type sendEmailRequest struct {
	FromEmailAddress     string
	ReplyToAddresses     []string
	Destination          *destination
	Content              *emailContent
	EmailTags            []Header
	ConfigurationSetName string

	fromOK bool // FromEmailAddress is known to parse (a bulk call checks it once)
}

type destination struct {
	ToAddresses, CcAddresses, BccAddresses []string
}

type emailContent struct {
	Simple   *simpleContent
	Raw      *struct{ Data []byte }
	Template json.RawMessage
}

type simpleContent struct {
	Subject     *contentPart
	Body        *struct{ Text, Html *contentPart }
	Headers     []Header
	Attachments []json.RawMessage
}

type contentPart struct {
	Data    string
	Charset string
}

const maxRecipients = 50

var (
	// What validTag and validHeaderName check, byte by byte (the tests
	// compare them).
	tagRE        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	headerNameRE = regexp.MustCompile("^[!-9;-~]+$") // printable ASCII without ':'
	// Headers sesfake writes itself; letting a request set them would give the
	// .eml two of each.
	reservedHeaders = []string{"from", "to", "cc", "bcc", "subject", "date",
		"message-id", "mime-version", "content-type",
		"content-transfer-encoding", "reply-to"}
)

// callFault answers send call number n with an injected throttle or
// internal failure, and reports whether it did; the faults are f.
func callFault(w http.ResponseWriter, f Faults, n int) bool {
	switch {
	case every(n, f.ThrottleEvery) || chance(f.ThrottleRate):
		writeError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Maximum sending rate exceeded. (sesfake: throttle fault)")
	case every(n, f.ErrorEvery) || chance(f.ErrorRate):
		writeError(w, http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error. (sesfake: error fault)")
	default:
		return false
	}
	return true
}

// every reports whether call n is an n-th one of every (0: never).
func every(n, every int) bool { return every > 0 && n%every == 0 }

func (s *Server) sendEmail(w http.ResponseWriter, r *http.Request) {
	f := s.currentFaults()
	var req sendEmailRequest
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException", "read body: "+err.Error())
		return
	}
	// body is not changed again: its string can share it.
	if !decodeSingle(unsafe.String(unsafe.SliceData(body), len(body)), &req) {
		req = sendEmailRequest{}
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException", "invalid JSON body: "+err.Error())
		return
	}
	msg, err := s.buildMessage(&req)
	if err == nil {
		err = s.admit(f, &msg)
	}
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			writeError(w, ae.status, ae.typ, ae.msg)
		} else {
			writeError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
		}
		return
	}
	if s.o.OutboxDir != "" {
		if err := writeFileAtomic(filepath.Join(s.o.OutboxDir, msg.MessageID+".eml"), msg.Raw); err != nil {
			// The email is accepted either way, as SES would; the outbox is a convenience.
			s.log.Warn("write outbox file", "message_id", msg.MessageID, "err", err)
		}
	}
	s.publish(msg)
	s.log.Info("email accepted", "message_id", msg.MessageID, "to", msg.To, "subject", msg.Subject)
	writeJSON(w, http.StatusOK, map[string]string{"MessageId": msg.MessageID})
}

// buildMessage validates the request like SES does for the basics and turns it
// into a Message with its .eml.
func (s *Server) buildMessage(req *sendEmailRequest) (Message, error) {
	m := Message{
		From:             req.FromEmailAddress,
		ReplyTo:          req.ReplyToAddresses,
		ConfigurationSet: req.ConfigurationSetName,
		ReceivedAt:       s.o.Now(),
	}
	if req.Destination != nil {
		m.To, m.Cc, m.Bcc = req.Destination.ToAddresses, req.Destination.CcAddresses, req.Destination.BccAddresses
	}
	if len(req.EmailTags) > 0 {
		// Only kept emails and events show the tags.
		keep := !s.o.Discard || s.o.Notify != nil
		if keep {
			m.Tags = make(map[string]string, len(req.EmailTags))
		}
		for _, t := range req.EmailTags {
			if !validTag(t.Name) || !validTag(t.Value) {
				return m, badRequest(fmt.Sprintf("invalid EmailTag %q=%q: names and values need 1-256 characters of A-Z a-z 0-9 _ -", t.Name, t.Value))
			}
			if keep {
				m.Tags[t.Name] = t.Value
			}
		}
	}
	c := req.Content
	switch {
	case c == nil:
		return m, badRequest("Content is required")
	case len(c.Template) > 0 && string(c.Template) != "null":
		return m, badRequest("sesfake does not support Content.Template; send Simple or Raw content")
	case c.Simple != nil && c.Raw != nil:
		return m, badRequest("Content must have exactly one of Simple, Raw, Template")
	case c.Raw != nil:
		if len(c.Raw.Data) == 0 {
			return m, badRequest("Content.Raw.Data is required")
		}
		if err := fillFromRaw(&m, c.Raw.Data); err != nil {
			return m, badRequest("cannot parse Content.Raw.Data as a MIME message: " + err.Error())
		}
	case c.Simple != nil:
		sc := c.Simple
		if sc.Subject == nil {
			return m, badRequest("Content.Simple.Subject is required")
		}
		if sc.Body == nil || (sc.Body.Text == nil && sc.Body.Html == nil) {
			return m, badRequest("Content.Simple.Body needs Text or Html")
		}
		if len(sc.Attachments) > 0 {
			return m, badRequest("sesfake does not support attachments")
		}
		m.Subject = sc.Subject.Data
		if sc.Body.Text != nil {
			m.Text = sc.Body.Text.Data
		}
		if sc.Body.Html != nil {
			m.HTML = sc.Body.Html.Data
		}
		for _, h := range sc.Headers {
			switch {
			case !validHeaderName(h.Name):
				return m, badRequest(fmt.Sprintf("invalid header name %q", h.Name))
			case reservedHeader(h.Name):
				return m, badRequest(fmt.Sprintf("header %q is set by SES and cannot be given in Content.Simple.Headers", h.Name))
			case strings.ContainsAny(h.Value, "\r\n"):
				return m, badRequest(fmt.Sprintf("header %s: value must not contain line breaks", h.Name))
			}
		}
		m.Headers = sc.Headers
	default:
		return m, badRequest("Content must have one of Simple, Raw, Template")
	}

	if m.From == "" {
		return m, badRequest("FromEmailAddress is required")
	}
	if req.fromOK {
		// checked by the caller
	} else if err := checkAddress(m.From); err != nil {
		return m, badRequest(fmt.Sprintf("invalid FromEmailAddress %q: %v", m.From, err))
	}
	rcpts := m.recipients()
	if len(rcpts) == 0 {
		return m, badRequest("Destination needs at least one of ToAddresses, CcAddresses, BccAddresses")
	}
	if len(rcpts) > maxRecipients {
		return m, badRequest(fmt.Sprintf("Recipient count exceeds %d", maxRecipients))
	}
	for _, as := range [][]string{rcpts, m.ReplyTo} {
		for _, a := range as {
			if err := checkAddress(a); err != nil {
				return m, badRequest(fmt.Sprintf("invalid address %q: %v", a, err))
			}
		}
	}

	m.MessageID = newMessageID(m.ReceivedAt)
	if c.Raw != nil {
		m.Raw = c.Raw.Data
	} else if !s.o.Discard {
		raw, err := buildMIME(&m)
		if err != nil {
			return m, err
		}
		m.Raw = raw
	}
	return m, nil
}

// admit applies the account-level checks and, if the email passes, stores it.
func (s *Server) admit(f Faults, m *Message) error {
	switch {
	case f.Suspended:
		return &apiError{http.StatusBadRequest, "AccountSuspendedException", "Your account has been suspended. (sesfake: Suspended fault)"}
	case f.Paused:
		return &apiError{http.StatusBadRequest, "SendingPausedException", "Email sending is paused for this account. (sesfake: Paused fault)"}
	}
	rcpts := m.recipients()
	for _, a := range rcpts {
		if len(f.Reject) == 0 {
			break // nothing to look up
		}
		if reason, ok := lookupFold(f.Reject, bareAddress(a)); ok {
			return &apiError{http.StatusBadRequest, "MessageRejected", reason}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.o.EnforceDailyQuota && float64(s.sentLast24h()+len(rcpts)) > s.o.Max24HourSend {
		return &apiError{http.StatusBadRequest, "LimitExceededException", "Daily message quota exceeded."}
	}
	if s.o.EnforceRate {
		now := time.Now()
		s.tokens = min(s.o.MaxSendRate, s.tokens+now.Sub(s.tokensAt).Seconds()*s.o.MaxSendRate)
		s.tokensAt = now
		need := float64(len(rcpts))
		if s.tokens < need && !(s.tokens >= s.o.MaxSendRate && need > s.o.MaxSendRate) {
			return &apiError{http.StatusTooManyRequests, "TooManyRequestsException", "Maximum sending rate exceeded."}
		}
		s.tokens -= need
	}
	for _, a := range rcpts {
		if len(s.suppressed) == 0 {
			break // nothing to look up
		}
		if _, ok := s.suppressed[bareAddress(a)]; ok {
			m.Suppressed = append(m.Suppressed, a)
		}
	}
	s.accepted += len(rcpts)
	if s.o.OnAccept != nil {
		for _, a := range rcpts {
			s.o.OnAccept(a, m.ReceivedAt)
		}
	}
	if s.o.Discard {
		return nil
	}
	s.byID[m.MessageID] = len(s.msgs)
	s.msgs = append(s.msgs, *m)
	return nil
}

// sentLast24h counts the recipients accepted in the last 24 hours (all of
// them when Discard keeps no timestamps). s.mu is held.
func (s *Server) sentLast24h() int {
	if s.o.Discard {
		return s.accepted
	}
	since := s.o.Now().Add(-24 * time.Hour)
	sent := 0
	for i := len(s.msgs) - 1; i >= 0 && s.msgs[i].ReceivedAt.After(since); i-- {
		sent += len(s.msgs[i].Recipients())
	}
	return sent
}

func lookupFold(m map[string]string, key string) (string, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// bareAddress is the lower-cased addr-spec of "Name <a@b>" or "a@b".
func bareAddress(s string) string {
	if plainAddress(s) {
		return strings.ToLower(s) // what ParseAddress would give
	}
	if a, err := mail.ParseAddress(s); err == nil {
		return strings.ToLower(a.Address)
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// checkAddress is mail.ParseAddress's error for a, without parsing the
// plain addresses it takes as they are.
func checkAddress(a string) error {
	if plainAddress(a) {
		return nil
	}
	_, err := mail.ParseAddress(a)
	return err
}

// plainAddress reports whether a is local@domain, both dot-atoms of
// letters, digits, "_", "+" and "-": an address mail.ParseAddress accepts
// and returns unchanged (TestPlainAddress checks).
func plainAddress(a string) bool {
	at := strings.IndexByte(a, '@')
	return at > 0 && dotAtom(a[:at]) && dotAtom(a[at+1:])
}

func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '+', c == '-':
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// validTag is tagRE.MatchString(s), byte by byte.
func validTag(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// validHeaderName is headerNameRE.MatchString(s), byte by byte.
func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < '!' || c > '~' || c == ':' {
			return false
		}
	}
	return s != ""
}

// reservedHeader reports whether strings.ToLower(name) is one of
// reservedHeaders, for a valid (ASCII) header name, without lower-casing.
func reservedHeader(name string) bool {
	for _, r := range reservedHeaders {
		if len(r) == len(name) && strings.EqualFold(r, name) {
			return true
		}
	}
	return false
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	f := s.currentFaults()
	s.mu.Lock()
	sent := s.sentLast24h()
	s.mu.Unlock()
	enforcement := "HEALTHY"
	if f.Suspended {
		enforcement = "SHUTDOWN"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"SendQuota": map[string]float64{
			"Max24HourSend":   s.o.Max24HourSend,
			"MaxSendRate":     s.o.MaxSendRate,
			"SentLast24Hours": float64(sent),
		},
		"SendingEnabled":               !f.Paused && !f.Suspended,
		"ProductionAccessEnabled":      true,
		"EnforcementStatus":            enforcement,
		"DedicatedIpAutoWarmupEnabled": false,
	})
}

// newMessageID imitates SES ids: 16 hex digits (a version prefix and the time
// in milliseconds), a random UUID, and a sequence suffix.
func newMessageID(t time.Time) string {
	var b [16 + 1 + 36 + 7]byte
	ms := uint64(t.UnixMilli()) & 0xffffffffffff
	copy(b[:], "0102")
	for i := 15; i >= 4; i-- {
		b[i] = hexDigits[ms&0xf]
		ms >>= 4
	}
	b[16] = '-'
	putUUID(b[17:53])
	copy(b[53:], "-000000")
	return string(b[:])
}

const hexDigits = "0123456789abcdef"

func newUUID() string {
	var b [36]byte
	putUUID(b[:])
	return string(b[:])
}

// putUUID writes a random (version 4) UUID into b, 36 bytes.
func putUUID(b []byte) {
	var r [16]byte
	rand.Read(r[:])
	r[6] = r[6]&0x0f | 0x40
	r[8] = r[8]&0x3f | 0x80
	j := 0
	for i, c := range r {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.eml")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

package sesfake

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"
)

// buildMIME renders a Simple send as SES would deliver it: RFC 5322 headers
// (non-ASCII as RFC 2047 encoded-words), then text and HTML as UTF-8
// quoted-printable, in multipart/alternative when both are present.
func buildMIME(m *Message) ([]byte, error) {
	var b bytes.Buffer
	writeHeader(&b, "Date", m.ReceivedAt.Format(time.RFC1123Z))
	writeHeader(&b, "From", encodeAddress(m.From))
	if len(m.ReplyTo) > 0 {
		writeHeader(&b, "Reply-To", encodeAddresses(m.ReplyTo))
	}
	if len(m.To) > 0 {
		writeHeader(&b, "To", encodeAddresses(m.To))
	}
	if len(m.Cc) > 0 {
		writeHeader(&b, "Cc", encodeAddresses(m.Cc))
	}
	writeHeader(&b, "Message-ID", "<"+m.MessageID+"@email.amazonses.com>")
	writeHeader(&b, "Subject", encodeText(m.Subject))
	writeHeader(&b, "MIME-Version", "1.0")
	for _, h := range m.Headers {
		writeHeader(&b, h.Name, encodeText(h.Value))
	}

	switch {
	case m.HTML != "" && m.Text != "":
		mw := multipart.NewWriter(&b)
		writeHeader(&b, "Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
		b.WriteString("\r\n")
		for _, p := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
			pw, err := mw.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {p.typ + "; charset=UTF-8"},
				"Content-Transfer-Encoding": {"quoted-printable"},
			})
			if err != nil {
				return nil, err
			}
			if err := writeQP(pw, p.body); err != nil {
				return nil, err
			}
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
	default:
		typ, body := "text/plain", m.Text
		if m.HTML != "" {
			typ, body = "text/html", m.HTML
		}
		writeHeader(&b, "Content-Type", typ+"; charset=UTF-8")
		writeHeader(&b, "Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, body); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, s); err != nil {
		return err
	}
	return qp.Close()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func encodeText(s string) string {
	if isASCII(s) {
		return s
	}
	return mime.QEncoding.Encode("UTF-8", s)
}

func encodeAddress(s string) string {
	if isASCII(s) {
		return s
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return s
	}
	return a.String() // encodes a non-ASCII display name
}

func encodeAddresses(as []string) string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = encodeAddress(a)
	}
	return strings.Join(out, ", ")
}

// writeHeader writes "Name: value", folded at single spaces so lines stay near
// 78 characters; unfolding (joining with one space) gives back the exact value.
func writeHeader(b *bytes.Buffer, name, value string) {
	b.WriteString(name + ": ")
	width := len(name) + 2
	for width+len(value) > 78 {
		// The last single space within the limit, else the first one after it.
		cut := -1
		for i := 1; i < len(value)-1; i++ {
			if value[i] != ' ' || value[i-1] == ' ' || value[i+1] == ' ' {
				continue
			}
			if cut > 0 && width+i > 78 {
				break
			}
			cut = i
		}
		if cut < 0 {
			break
		}
		b.WriteString(value[:cut])
		b.WriteString("\r\n ")
		value = value[cut+1:]
		width = 1
	}
	b.WriteString(value)
	b.WriteString("\r\n")
}

// fillFromRaw takes subject, sender, recipients, headers and bodies from a raw
// MIME message; fields the request already set (From, Destination) win.
func fillFromRaw(m *Message, raw []byte) error {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	dec := new(mime.WordDecoder)
	m.Headers = rawHeaders(raw)
	subj := msg.Header.Get("Subject")
	if d, err := dec.DecodeHeader(subj); err == nil {
		subj = d
	}
	m.Subject = subj
	if m.From == "" {
		m.From = msg.Header.Get("From")
	}
	if len(m.To)+len(m.Cc)+len(m.Bcc) == 0 {
		m.To = headerAddresses(msg.Header, "To")
		m.Cc = headerAddresses(msg.Header, "Cc")
		m.Bcc = headerAddresses(msg.Header, "Bcc")
	}
	walkParts(m, textproto.MIMEHeader(msg.Header), msg.Body, 0)
	return nil
}

func headerAddresses(h mail.Header, key string) []string {
	list, err := h.AddressList(key)
	if err != nil {
		return nil
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.String()
	}
	return out
}

// walkParts picks the first text/plain and text/html parts, decoding base64 and
// quoted-printable. Parts it cannot read are skipped: the raw message is stored
// regardless.
func walkParts(m *Message, h textproto.MIMEHeader, body io.Reader, depth int) {
	if depth > 10 {
		return
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return
			}
			walkParts(m, p.Header, p, depth+1)
		}
	}
	if strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
		return
	}
	var r io.Reader = body
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &newlineSkipper{r: body})
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return
	}
	switch {
	case mt == "text/plain" && m.Text == "":
		m.Text = string(data)
	case mt == "text/html" && m.HTML == "":
		m.HTML = string(data)
	}
}

// newlineSkipper drops CR and LF so base64 bodies wrapped at 76 columns decode.
type newlineSkipper struct{ r io.Reader }

func (n *newlineSkipper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// rawHeaders returns the top-level headers of a MIME message in order,
// unfolded, with encoded-words decoded.
func rawHeaders(raw []byte) []Header {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	dec := new(mime.WordDecoder)
	var hs []Header
	for {
		line, err := r.ReadContinuedLine()
		if err != nil || line == "" {
			return hs
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		if d, err := dec.DecodeHeader(value); err == nil {
			value = d
		}
		hs = append(hs, Header{Name: strings.TrimSpace(name), Value: value})
	}
}

package sesfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/mail"
	"newsletter/internal/jsonstr"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// templateCases are the tricky templates: escapes, braces, failures of
// every kind, and failures after other failures.
var templateCases = []string{
	"", "plain", "Hallo {{name}}!", "{{name}}", "{{ name }} en {{{name}}}", "{{{ name }}}",
	`letterlijk \{{name}} en {{name}}`, `twee \\{{lb}}`, `drie \\\{{name}}`, `\{{a\{{name}}`, `\{{a\\{{name}}`,
	`\{{name}}`, `\\{{name}}`, `x\`, `\{{`, `\\{{`, `{{`, `{{{`, `}}`, "geen {accolades} hier }}",
	"{{missing}}", "{{name}}{{missing}}", "{{missing}}{{#if name}}", "{{#if name}}{{missing}}",
	"{{#if name}}x{{/if}}", "{{name}}}", "{{{name}}", "{{name", "{{{name", "{{> partial}}", "{{!comment}}",
	"{{else}}", "{{elsewhere}}", "{{}}", "{{ }}", "{{a b}}", "{{a\tb}}", "{{^x}}", "{{&x}}", "{{~x}}", "{{=x}}",
	"é{{name}}\x80{{lb}}", "{{lb}}{{lb}}{{lb}}", "{{name}}\\{{name}}\\\\{{name}}", "{{{name}}}}", "{{name}}}}",
}

// referenceRender is RenderTemplate written as one pass over the template,
// without compiling it: what the compiled templates are compared with.
func referenceRender(tpl string, data map[string]string) (string, error) {
	var b strings.Builder
	b.Grow(len(tpl) + len(tpl)/8)
	for {
		i := strings.Index(tpl, "{{")
		if i < 0 {
			b.WriteString(tpl)
			return b.String(), nil
		}
		text := tpl[:i]
		switch {
		case strings.HasSuffix(text, `\\`):
			b.WriteString(text[:len(text)-1])
		case strings.HasSuffix(text, `\`):
			// Escaped: "{{" and what follows, up to the next mustache, are
			// literal.
			b.WriteString(text[:len(text)-1])
			rest := tpl[i+2:]
			j := strings.Index(rest, "{{")
			if j < 0 {
				j = len(rest)
			} else if strings.HasSuffix(rest[:j], `\`) {
				j-- // the next mustache is escaped itself
				if strings.HasSuffix(rest[:j], `\`) {
					j--
				}
			}
			b.WriteString("{{")
			b.WriteString(rest[:j])
			tpl = rest[j:]
			continue
		default:
			b.WriteString(text)
		}
		rest := tpl[i+2:]
		open, close := "{{", "}}"
		if strings.HasPrefix(rest, "{") {
			open, close, rest = "{{{", "}}}", rest[1:]
		}
		j := strings.Index(rest, close)
		if j < 0 {
			return "", fmt.Errorf("unclosed %s at offset %d", open, i)
		}
		if open == "{{" && strings.HasPrefix(rest[j+2:], "}") {
			return "", fmt.Errorf("parse error at offset %d: {{%s}}} closes with three braces what two opened", i, rest[:j])
		}
		name := strings.TrimSpace(rest[:j])
		if name == "" || strings.ContainsAny(name, "#/>!^&~{}= \t\n") || strings.HasPrefix(name, "else") {
			return "", fmt.Errorf("unsupported mustache %s%s%s at offset %d", open, rest[:j], close, i)
		}
		v, ok := data[name]
		if !ok {
			return "", fmt.Errorf("Attribute '%s' is not present in the rendering data.", name)
		}
		b.WriteString(v)
		tpl = rest[j+len(close):]
	}
}

// data is the data the tests render with: own values over defaults.
func testData(own, defaults map[string]string) (*tplData, map[string]string) {
	d := &tplData{defaults: defaults}
	for k, v := range own {
		d.own = append(d.own, kv{k, v})
	}
	merged := maps.Clone(defaults)
	maps.Copy(merged, own)
	return d, merged
}

func sameRendering(t *testing.T, tpl string, own, defaults map[string]string) {
	t.Helper()
	d, merged := testData(own, defaults)
	want, wantErr := referenceRender(tpl, merged)
	c := compileTemplate(tpl)
	got, err := c.render(d)
	if got != want || errText(err) != errText(wantErr) {
		t.Fatalf("template %q with %v over %v:\ncompiled %q, %v\nRenderTemplate %q, %v", tpl, own, defaults, got, err, want, wantErr)
	}
	if err := c.check(d); errText(err) != errText(wantErr) {
		t.Fatalf("template %q: check says %v, RenderTemplate %v", tpl, err, wantErr)
	}
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestCompiledTemplate(t *testing.T) {
	own := map[string]string{"name": `<b>A & "B"</b>`, "lb": "{"}
	for _, tpl := range templateCases {
		sameRendering(t, tpl, own, map[string]string{})
		sameRendering(t, tpl, map[string]string{"lb": "{"}, map[string]string{"name": "default", "lb": "x"})
		sameRendering(t, tpl, nil, map[string]string{})
	}
}

func FuzzCompiledTemplate(f *testing.F) {
	for _, tpl := range templateCases {
		f.Add(tpl, "name", `<b>"v"</b>`, "lb")
	}
	f.Fuzz(func(t *testing.T, tpl, k, v, defaultKey string) {
		sameRendering(t, tpl, map[string]string{k: v, "name": "n"}, map[string]string{defaultKey: "d", "a": "{{x}}"})
	})
}

// dataCases are template data, valid and not, that the in-place reader
// takes or hands to templateData.
var dataCases = []string{
	"", " ", "{}", " { } ", `{"a":"b"}`, ` {"a" : "b" , "c":"d"} `, `{"a":"b",}`, `{"a":"b"`, `{"a":"b"}x`, `{"a":"b"}}`,
	`{"a":1}`, `{"a":true}`, `{"a":null}`, `{"a":[]}`, `{"a":{}}`, `{"a":"b","a":"c"}`, `{"a":"b","a":2}`,
	`{"a":"\"\\\/\b\f\n\r\t"}`, `{"a":"\u00e9\u003c\u2028"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\ud83d"}`, `{"a":"\ud83dx"}`,
	`{"a":"\ude00\ud83d"}`, `{"a":"\ud83d\u0041"}`, `{"a":"\u12"}`, `{"a":"\uzzzz"}`, `{"a":"\'"}`, `{"a":"\x"}`,
	`{"\u0061":"b"}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", "{\"a\":\"é\"}", `{"a":"b"`, `{"a"}`, `{"a":}`, `{,}`, `[]`, `"a"`,
	`{"a":"b" "c":"d"}`, `{"a":"\`, `{"a":"\"}`,
}

func sameData(t *testing.T, s string) {
	t.Helper()
	if jsonstr.HasControl(s) != strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 }) {
		t.Fatalf("HasControl(%q) = %v", s, jsonstr.HasControl(s))
	}
	want, wantErr := templateData(s)
	own, err := parseTemplateData(s, []kv{{"stale", "x"}}[:0])
	if errText(err) != errText(wantErr) {
		t.Fatalf("data %q: error %v, templateData %v", s, err, wantErr)
	}
	if err != nil {
		return
	}
	got := map[string]string{}
	for _, p := range own {
		got[p.k] = p.v // the last of a name wins, as get reads them
	}
	if !maps.Equal(got, want) {
		t.Fatalf("data %q: %q, templateData %q", s, got, want)
	}
	d := &tplData{own: own}
	for k, v := range want {
		if g, ok := d.get(k); !ok || g != v {
			t.Fatalf("data %q: get(%q) = %q, %v; want %q", s, k, g, ok, v)
		}
	}
}

func TestTemplateDataInPlace(t *testing.T) {
	for _, s := range dataCases {
		sameData(t, s)
	}
	// What the pipeline sends reads in place.
	b, _ := json.Marshal(map[string]string{"a": `<"x"> & \ é`, "b": "\u2028"})
	if _, ok := flatStrings(string(b), nil); !ok {
		t.Errorf("flatStrings(%s) did not read it", b)
	}
}

func FuzzTemplateData(f *testing.F) {
	for _, s := range dataCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameData(t, s) })
}

func sameValidation(t *testing.T, s string) {
	t.Helper()
	if validTag(s) != tagRE.MatchString(s) {
		t.Fatalf("validTag(%q) = %v", s, validTag(s))
	}
	if validHeaderName(s) != headerNameRE.MatchString(s) {
		t.Fatalf("validHeaderName(%q) = %v", s, validHeaderName(s))
	}
	if validHeaderName(s) && reservedHeader(s) != slices.Contains(reservedHeaders, strings.ToLower(s)) {
		t.Fatalf("reservedHeader(%q) = %v", s, reservedHeader(s))
	}
	a, err := mail.ParseAddress(s)
	if plainAddress(s) && (err != nil || a.Address != s || a.Name != "") {
		t.Fatalf("plainAddress(%q), but mail.ParseAddress gives %v, %v", s, a, err)
	}
	if errText(checkAddress(s)) != errText(err) {
		t.Fatalf("checkAddress(%q) = %v; mail.ParseAddress %v", s, checkAddress(s), err)
	}
	if plainAddress(s) && bareAddress(s) != strings.ToLower(a.Address) {
		t.Fatalf("bareAddress(%q) = %q", s, bareAddress(s))
	}
}

var validationCases = []string{
	"", "a", "a@b", "a.b@c.d", "a..b@c", ".a@b", "a.@b", "a@.b", "a@b.", "a@b..c", "@b", "a@", "a@@b", "a@b@c",
	"A_B+c-d@Ex-ample.ORG", "a b@c", "<a@b>", "Name <a@b>", "a@[1.2.3.4]", `"a"@b`, "é@b", "a@b\x80",
	"List-Unsubscribe", "Content-Type", "CONTENT-TYPE", "X:Y", "X Y", "x\x7f", strings.Repeat("a", 256), strings.Repeat("a", 257),
	"kind", "edition-id_1", "Subject", "reply-to", "Reply-To",
}

func TestValidators(t *testing.T) {
	for _, s := range validationCases {
		sameValidation(t, s)
	}
}

func FuzzValidators(f *testing.F) {
	for _, s := range validationCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameValidation(t, s) })
}

// bulkSeeds are SendBulkEmail bodies: the SDK's shape and variations of
// it that encoding/json reads differently or not at all.
var bulkSeeds = []string{
	`{"BulkEmailEntries":[{"Destination":{"ToAddresses":["a@example.org"]},"ReplacementEmailContent":{"ReplacementTemplate":{"ReplacementTemplateData":"{\"x\":\"<\\\"1\\\">\"}"}},"ReplacementHeaders":[{"Name":"List-Unsubscribe","Value":"<https://x/u>"}],"ReplacementTags":[{"Name":"kind","Value":"n"}]}],"DefaultContent":{"Template":{"Headers":[{"Name":"List-Id","Value":"L <l.example.org>"}],"TemplateContent":{"Html":"<p class=\"x\">{{x}}</p>\n","Subject":"S \u00e9 {{x}}","Text":"T {{x}}"},"TemplateData":"{}"}},"FromEmailAddress":"B <b@example.org>"}`,
	`{"FromEmailAddress":"b@example.org","ReplyToAddresses":[],"DefaultEmailTags":[],"ConfigurationSetName":"c","BulkEmailEntries":[{"Destination":{"ToAddresses":[],"CcAddresses":["c@x"],"BccAddresses":["d@x"]}},{}]}`,
	`{}`, ` {} `, `{"DefaultContent":{}}`, `{"DefaultContent":{"Template":{"TemplateName":"t","TemplateArn":"a"}}}`,
	`{"FromEmailAddress":"a","FromEmailAddress":"b"}`, `{"fromEmailAddress":"a"}`, `{"Other":1}`, `{"FromEmailAddress":null}`,
	`{"DefaultContent":{"Template":{}},"DefaultContent":{"Template":{"TemplateData":"x"}}}`, `{"BulkEmailEntries":[{},]}`,
	`{"BulkEmailEntries":[{}]`, `{"BulkEmailEntries":[{}]}}`, `{"FromEmailAddress":"a\u0000"}`, "{\"FromEmailAddress\":\"a\xff\"}",
	"{\n\"FromEmailAddress\" : \"a\"\n}", `{"FromEmailAddress":"\ud800\udc00\ud800"}`, `null`, `[]`, ``,
}

func FuzzDecodeBulk(f *testing.F) {
	for _, s := range bulkSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var got, want sendBulkEmailRequest
		if !decodeBulk(body, &got) {
			return // encoding/json decodes it
		}
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("decodeBulk took %q; json.Unmarshal: %v", body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeBulk(%q) = %+v\njson.Unmarshal %+v", body, got, want)
		}
	})
}

func TestDecodeBulk(t *testing.T) {
	if !decodeBulk(bulkSeeds[0], new(sendBulkEmailRequest)) || !decodeBulk(bulkSeeds[1], new(sendBulkEmailRequest)) {
		t.Error("decodeBulk does not read the SDK's shape of body")
	}
}

func TestBulkResultsJSON(t *testing.T) {
	strs := []string{"", "SUCCESS", "0102019a-x-000000", "sesfake: EntryStatus fault", `a "b"`, `<a@b>`, "a & b", `\`, "é", "\x7f", "\n", "\u2028"}
	for _, st := range strs {
		for _, id := range strs {
			for _, e := range strs {
				rs := []bulkResult{{Status: "SUCCESS", MessageId: "m"}, {Status: st, MessageId: id, Error: e}}
				want, _ := json.Marshal(map[string]any{"BulkEmailEntryResults": rs})
				if got, ok := bulkResultsJSON(rs); ok && string(got) != string(want) {
					t.Fatalf("bulkResultsJSON(%q) = %s; json.Marshal %s", rs, got, want)
				}
			}
		}
	}
	if _, ok := bulkResultsJSON([]bulkResult{{Status: "SUCCESS", MessageId: "0102019a-x-000000"}}); !ok {
		t.Error("bulkResultsJSON does not write a plain answer")
	}
}

// singleSeeds are SendEmail bodies, as for bulkSeeds.
var singleSeeds = []string{
	`{"Content":{"Simple":{"Body":{"Html":{"Charset":"UTF-8","Data":"<p class=\"x\">h\u00e9</p>\n"},"Text":{"Data":"t"}},"Headers":[{"Name":"List-Unsubscribe","Value":"<https://x/u>"}],"Subject":{"Data":"S"}}},"Destination":{"ToAddresses":["a@example.org"]},"EmailTags":[{"Name":"kind","Value":"n"}],"FromEmailAddress":"B <b@example.org>"}`,
	`{"FromEmailAddress":"b@x","ReplyToAddresses":["r@x"],"ConfigurationSetName":"c","Destination":{"CcAddresses":[],"BccAddresses":["d@x"]},"Content":{"Simple":{"Subject":{},"Body":{}}}}`,
	`{"Content":{"Raw":{"Data":"aGVsbG8="}}}`, `{"Content":{"Template":{}}}`, `{"Content":{"Simple":{"Attachments":[]}}}`,
	`{"Content":{}}`, `{"Content":{"Simple":{"Subject":{"Data":"a"},"Subject":{"Charset":"b"}}}}`, `{"EmailTags":[{"name":"a"}]}`,
}

func FuzzDecodeSingle(f *testing.F) {
	for _, s := range append(singleSeeds, bulkSeeds...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var got, want sendEmailRequest
		if !decodeSingle(body, &got) {
			return // encoding/json decodes it
		}
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("decodeSingle took %q; json.Unmarshal: %v", body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeSingle(%q) = %+v\njson.Unmarshal %+v", body, got, want)
		}
	})
}

func TestDecodeSingle(t *testing.T) {
	if !decodeSingle(singleSeeds[0], new(sendEmailRequest)) || !decodeSingle(singleSeeds[1], new(sendEmailRequest)) {
		t.Error("decodeSingle does not read the SDK's shape of body")
	}
}

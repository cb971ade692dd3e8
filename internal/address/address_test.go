package address_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"newsletter"
	"newsletter/internal/address"
)

func TestNormalizeAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"jan@example.nl", "jan@example.nl"},
		{"  Jan.Jansen@Gemeente.NL \t", "jan.jansen@gemeente.nl"},
		{"\u00a0jan@example.nl\u00a0", "jan@example.nl"},   // no-break space from a spreadsheet
		{"\ufeffjan@example.nl", "jan@example.nl"},         // stray BOM
		{"jan@example.nl\u200b", "jan@example.nl"},         // zero-width space from copy-paste
		{"info@bücher.de", "info@xn--bcher-kva.de"},        // IDN
		{"info@BÜCHER.de", "info@xn--bcher-kva.de"},        // IDN, upper case
		{"info@xn--bcher-kva.de", "info@xn--bcher-kva.de"}, // already punycode
		{"a@straße.de", "a@xn--strae-oqa.de"},              // non-transitional: ß kept
		{"x@例え.テスト", "x@xn--r8jz45g.xn--zckzah"},           // IDN TLD
		{"x@例え。テスト", "x@xn--r8jz45g.xn--zckzah"},           // ideographic full stop maps to a dot
		{"o'brien+news@sub.example.co.uk", "o'brien+news@sub.example.co.uk"},
		{"!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com"},
		{strings.Repeat("a", 64) + "@example.nl", strings.Repeat("a", 64) + "@example.nl"},
		{"a@b-c.nl", "a@b-c.nl"},
		{"a@1.2.3.nl", "a@1.2.3.nl"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := address.Normalize(tt.in)
			if err != nil {
				t.Fatalf("Normalize(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := address.Normalize(got)
			if err != nil || again != got {
				t.Fatalf("Normalize(%q) = %q, %v; want it unchanged", got, again, err)
			}
		})
	}
}

func TestNormalizeRefuses(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 60)
	tests := []struct {
		name, in string
		want     []string // substrings of the message
	}{
		{"empty", "", []string{"empty", "e.g. jan@example.nl"}},
		{"blank", " \t ", []string{"empty"}},
		{"display name", "Jan <jan@x.nl>", []string{"write only the address, e.g. jan@x.nl"}},
		{"display name quoted", `"Jan Jansen" <Jan@X.nl>`, []string{"write only the address, e.g. Jan@X.nl"}},
		{"brackets only", "<jan@x.nl>", []string{"write only the address, e.g. jan@x.nl"}},
		{"half bracket", "jan@x.nl>", []string{"< or >", "write only the address"}},
		{"two addresses semicolon", "a@x.nl; b@y.nl", []string{"one address per row"}},
		{"two addresses comma", "a@x.nl,b@y.nl", []string{"one address per row"}},
		{"two addresses space", "a@x.nl b@y.nl", []string{"one address per row"}},
		{"trailing semicolon", "a@x.nl;", []string{"comma or semicolon", "remove it"}},
		{"two ats", "a@b@x.nl", []string{"more than one @"}},
		{"no at", "jan.example.nl", []string{"no @", "jan@example.nl"}},
		{"no local", "@example.nl", []string{"nothing before the @"}},
		{"no domain", "jan@", []string{"no domain"}},
		{"no tld", "jan@localhost", []string{"no top-level domain"}},
		{"numeric tld", "jan@1.2.3.4", []string{"top-level domain"}},
		{"one-letter tld", "jan@example.n", []string{"top-level domain"}},
		{"ip literal", "jan@[192.0.2.1]", []string{"IP address"}},
		{"trailing dot", "jan@example.nl.", []string{"ends with a dot"}},
		{"empty label", "jan@example..nl", []string{"invalid domain"}},
		{"leading hyphen label", "jan@-example.nl", []string{"invalid domain"}},
		{"underscore in domain", "jan@ex_ample.nl", []string{"invalid domain"}},
		{"bad punycode", "jan@xn--a.nl", []string{"invalid domain"}},
		{"long label", "jan@" + strings.Repeat("a", 64) + ".nl", []string{"invalid domain"}},
		{"space inside", "jan jansen@example.nl", []string{"contains a space"}},
		{"tab inside", "jan\t@example.nl", []string{"contains a space"}},
		{"control char", "jan\x00@example.nl", []string{"control character"}},
		{"quoted local", `"jan jansen"@example.nl`, []string{"quoted addresses are not accepted"}},
		{"quoted local no space", `"jan"@example.nl`, []string{"quoted addresses are not accepted"}},
		{"comment", "jan(work)@example.nl", []string{"comments are not accepted"}},
		{"leading dot", ".jan@example.nl", []string{"dot at the start or end"}},
		{"double dot", "jan..jansen@example.nl", []string{"two dots in a row"}},
		{"unicode local", "jöhn@example.nl", []string{"outside ASCII"}},
		{"backslash", `jan\x@example.nl`, []string{`"\\"`}},
		{"local too long", strings.Repeat("a", 65) + "@example.nl", []string{"longer than 64"}},
		{"address too long", long + "@" + long + "." + long + "." + long + "." + long + ".nl", []string{"longer than 254"}},
		{"invalid utf8", "jan@ex\xffample.nl", []string{"UTF-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := address.Normalize(tt.in)
			if err == nil {
				t.Fatalf("Normalize(%q) = %q, want an error", tt.in, got)
			}
			var e *newsletter.Error
			if !errors.As(err, &e) || e.Code != newsletter.EINVALID {
				t.Fatalf("Normalize(%q) error %v (%T): want *newsletter.Error EINVALID", tt.in, err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("Normalize(%q) message %q lacks %q", tt.in, e.Message, w)
				}
			}
		})
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	// sha256("jan@example.nl"), computed independently with sha256sum.
	const want = "a5a44ec75c51b7cc477320c7c519e21b911ae44b3b93c9014dfc36164e195a13"
	got := address.Hash("jan@example.nl")
	if got != want {
		t.Fatalf("Hash = %q, want %q", got, want)
	}
	if address.Hash("jan@example.nl") != got || address.Hash("jan@example.com") == got {
		t.Fatal("Hash is not a function of its input")
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"jan@example.nl", "Jan <jan@x.nl>", "a@x.nl; b@y.nl", "info@bücher.de",
		"x@例え。テスト", "\"q\"@x.nl", "jan@xn--bcher-kva.de", "a@b", "@", "",
		"a@xn--ls8h.la", "A@Ｅxample.nl", "a@straße.de", "a@ß.de",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := address.Normalize(s)
		if err != nil {
			if newsletter.ErrorCode(err) != newsletter.EINVALID {
				t.Fatalf("Normalize(%q) error %v has code %q", s, err, newsletter.ErrorCode(err))
			}
			return
		}
		if strings.Count(out, "@") != 1 {
			t.Fatalf("Normalize(%q) = %q: want exactly one @", s, out)
		}
		domain := out[strings.IndexByte(out, '@')+1:]
		for i := 0; i < len(domain); i++ {
			if domain[i] >= utf8.RuneSelf {
				t.Fatalf("Normalize(%q) = %q: domain not ASCII", s, out)
			}
		}
		if len(out) > 254 {
			t.Fatalf("Normalize(%q) = %q: longer than 254", s, out)
		}
		again, err := address.Normalize(out)
		if err != nil || again != out {
			t.Fatalf("Normalize(%q) = %q but Normalize(%q) = %q, %v", s, out, out, again, err)
		}
	})
}

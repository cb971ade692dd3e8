package sesfake_test

import (
	"testing"

	"newsletter/internal/sesfake"
)

// SES fills variables without escaping, honours Handlebars' escapes, and
// fails to render (rather than leave a hole) on a missing variable.
func TestRenderTemplate(t *testing.T) {
	data := map[string]string{"name": `<b>A & "B"</b>`, "lb": "{"}
	for _, c := range []struct{ tpl, want string }{
		{"Hallo {{name}}!", `Hallo <b>A & "B"</b>!`},
		{"Hallo {{ name }} en {{{name}}}", `Hallo <b>A & "B"</b> en <b>A & "B"</b>`},
		{`letterlijk \{{name}} en {{name}}`, `letterlijk {{name}} en <b>A & "B"</b>`},
		{`twee \\{{lb}}`, `twee \{`},
		{"geen {accolades} hier }}", "geen {accolades} hier }}"},
	} {
		got, err := sesfake.RenderTemplate(c.tpl, data)
		if err != nil || got != c.want {
			t.Errorf("RenderTemplate(%q) = %q, %v; want %q", c.tpl, got, err, c.want)
		}
	}
	for _, bad := range []string{"{{missing}}", "{{#if name}}x{{/if}}", "{{name}}}", "{{name", "{{> partial}}"} {
		if got, err := sesfake.RenderTemplate(bad, data); err == nil {
			t.Errorf("RenderTemplate(%q) = %q, want a rendering failure", bad, got)
		}
	}
}

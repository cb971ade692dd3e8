package httpserver

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

// Wherever a sign-in's next points, the redirect stays on this site,
// under /admin/, on a clean path.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/admin/", "/admin/lists?q=a", "//evil.example", "/\\evil", "https://x/", "/admin/../x", "/admin/%2e%2e/x", "/admin//x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(got, "/admin/") || strings.HasPrefix(got, "//") ||
			strings.ContainsAny(got, "\\\r\n") || path.Clean(u.Path) != strings.TrimSuffix(u.Path, "/") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
	})
}

package seedtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of
// stopping, so the decision itself can be checked.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skipf(f string, args ...any)  { r.skipped = fmt.Sprintf(f, args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }
func (r *recorder) Logf(string, ...any)          {}

func TestDirMissing(t *testing.T) {
	gone := filepath.Join(t.TempDir(), "shared", "seeds")

	t.Setenv(EnvCI, "")
	r := &recorder{TB: t}
	dirAt(r, gone)
	if r.failed != "" || !strings.Contains(r.skipped, gone) || !strings.Contains(r.skipped, "not found") {
		t.Errorf("without CI: skipped %q, failed %q; want a skip naming %s", r.skipped, r.failed, gone)
	}

	t.Setenv(EnvCI, "true")
	r = &recorder{TB: t}
	dirAt(r, gone)
	if r.skipped != "" || !strings.Contains(r.failed, gone) || !strings.Contains(r.failed, "CI") {
		t.Errorf("with CI: skipped %q, failed %q; want a failure naming %s and CI", r.skipped, r.failed, gone)
	}
}

func TestDirPresent(t *testing.T) {
	t.Setenv(EnvCI, "true")
	dir := t.TempDir()
	r := &recorder{TB: t}
	if got := dirAt(r, dir); got != dir || r.skipped != "" || r.failed != "" {
		t.Errorf("dirAt(%s) = %q, skipped %q, failed %q", dir, got, r.skipped, r.failed)
	}
	file := filepath.Join(dir, "seeds")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r = &recorder{TB: t}
	dirAt(r, file)
	if !strings.Contains(r.failed, "not a directory") {
		t.Errorf("a file where the seeds should be: failed %q", r.failed)
	}
}

func TestFixtures(t *testing.T) {
	files := Fixtures(t)
	var names []string
	for _, f := range files {
		if !filepath.IsAbs(f) {
			t.Errorf("fixture path %s is not absolute", f)
		}
		names = append(names, filepath.Base(f))
	}
	if len(names) < 4 {
		t.Errorf("fixtures %v, want at least 4", names)
	}
	if p := Fixture(t, "najaar.txt"); filepath.Base(p) != "najaar.txt" {
		t.Errorf("Fixture = %s", p)
	}
}

func TestPath(t *testing.T) {
	p, err := Path()
	if err != nil {
		t.Fatal(err)
	}
	root, _ := ModuleRoot()
	if want := filepath.Join(filepath.Dir(root), "shared", "seeds"); p != want {
		t.Errorf("Path = %s, want %s", p, want)
	}
}

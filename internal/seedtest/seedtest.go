package seedtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// EnvCI is the environment variable that, when non-empty, turns missing
// seeds from a skip into a failure.
const EnvCI = "CI"

// seedsRel is where the seeds are, relative to the module root.
var seedsRel = filepath.Join("..", "shared", "seeds")

// fixturesRel is where the fixtures are, relative to the module root.
var fixturesRel = filepath.Join("testdata", "editions")

// ModuleRoot returns the absolute path of the directory holding go.mod,
// found by walking up from the working directory (go test runs a test in its
// package's directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above it")
		}
		dir = parent
	}
}

// Path returns the absolute path where the seeds are expected, whether or
// not they are there.
func Path() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, seedsRel), nil
}

// Dir returns the absolute path of the seed directory. When it is missing
// Dir skips tb, or fails it when CI is set; either way the message names the
// path where the seeds would be.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := Path()
	if err != nil {
		tb.Fatalf("seedtest: cannot tell where the seed editions are: %v", err)
	}
	return dirAt(tb, dir)
}

// dirAt is Dir for seeds expected at dir.
func dirAt(tb testing.TB, dir string) string {
	tb.Helper()
	info, err := os.Stat(dir)
	if err == nil && info.IsDir() {
		return dir
	}
	why := "no such directory"
	if err == nil {
		why = "not a directory"
	} else if !errors.Is(err, fs.ErrNotExist) {
		why = err.Error()
	}
	missing(tb, fmt.Sprintf("seed editions not found at %s (%s)", dir, why))
	return ""
}

// Files returns the seed editions (*.txt in Dir), sorted. It skips or fails
// as Dir does; a seed directory without editions is a broken checkout and
// always fails.
func Files(tb testing.TB) []string {
	tb.Helper()
	dir := Dir(tb)
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("seedtest: no seed editions (*.txt) in %s (err %v): the directory is there but empty, a broken checkout", dir, err)
	}
	sort.Strings(files)
	return files
}

// Optional returns the seed editions when they are there and nil when they
// are not, logging where they were looked for. It never skips or fails.
func Optional(tb testing.TB) []string {
	tb.Helper()
	dir, err := Path()
	if err != nil {
		tb.Logf("seedtest: not using the seed editions: %v", err)
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	if len(files) == 0 {
		tb.Logf("seedtest: no seed editions at %s; using the fixtures only", dir)
		return nil
	}
	sort.Strings(files)
	return files
}

// Fixtures returns the project's own editions (every file in
// testdata/editions at the module root), sorted. They are part of the
// module, so missing fixtures always fail.
func Fixtures(tb testing.TB) []string {
	tb.Helper()
	root, err := ModuleRoot()
	if err != nil {
		tb.Fatalf("seedtest: cannot find the fixtures: %v", err)
	}
	dir := filepath.Join(root, fixturesRel)
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatalf("seedtest: fixture editions missing: %v", err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		tb.Fatalf("seedtest: no fixture editions in %s", dir)
	}
	return files // ReadDir sorts by name
}

// Fixture returns the path of one fixture edition by file name, failing tb
// when it is missing.
func Fixture(tb testing.TB, name string) string {
	tb.Helper()
	root, err := ModuleRoot()
	if err != nil {
		tb.Fatalf("seedtest: cannot find the fixtures: %v", err)
	}
	p := filepath.Join(root, fixturesRel, name)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("seedtest: fixture edition missing: %v", err)
	}
	return p
}

func missing(tb testing.TB, msg string) {
	tb.Helper()
	if v := os.Getenv(EnvCI); v != "" {
		tb.Fatalf("%s, and %s=%q is set: a CI run must run the seed tests, not skip them; check out the shared seeds beside the module (so that ../shared/seeds exists next to it) or unset %s to skip them", msg, EnvCI, v, EnvCI)
		return
	}
	tb.Skipf("%s; skipping this seed test (the fixture tests in testdata/editions still run; set %s to make missing seeds a failure)", msg, EnvCI)
}

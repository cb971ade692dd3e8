package app_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"newsletter/internal/redisproc"
	"newsletter/internal/redistest"
)

// suiteDir holds what outlives a single test: the throwaway redis-server's
// working directory and the `newsletter` binary the fault tests run. Each
// test's own files go to t.TempDir().
var suiteDir string

// suiteDirPrefix names suiteDir after this process, so a later run can
// remove the directory of a run that was killed before it could.
const suiteDirPrefix = "newsletter-apptest-"

// TestMain creates suiteDir, starts the throwaway Redis in it (unless
// NEWSLETTER_TEST_REDIS_URL points at one; redistest then uses it), and
// removes it all when the tests are done.
func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	removeStaleSuiteDirs()
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", suiteDirPrefix, os.Getpid()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "app tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	suiteDir = dir
	if os.Getenv("NEWSLETTER_TEST_REDIS_URL") == "" && !redistest.ClusterMode() {
		rdir := filepath.Join(dir, "redis")
		if err := os.Mkdir(rdir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "app tests:", err)
			return 1
		}
		srv, err := redisproc.Start(rdir)
		switch {
		case errors.Is(err, redisproc.ErrNoServer):
			// redistest fails each test that needs Redis with the hint.
		case err != nil:
			fmt.Fprintln(os.Stderr, "app tests: start redis-server:", err)
			return 1
		default:
			defer srv.Close()
			os.Setenv("NEWSLETTER_TEST_REDIS_URL", srv.URL)
		}
	}
	return m.Run()
}

// removeStaleSuiteDirs deletes the suite directories (and those of the
// former per-binary fault-test directories) of test processes that are
// gone: a run killed by a timeout never reaches its deferred cleanup.
func removeStaleSuiteDirs() {
	for _, prefix := range []string{suiteDirPrefix, "newsletter-faulttest-"} {
		dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
		for _, d := range dirs {
			pidStr, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), prefix), "-")
			pid, err := strconv.Atoi(pidStr)
			if err != nil || pid == os.Getpid() {
				continue
			}
			if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
				_ = os.RemoveAll(d)
			}
		}
	}
}

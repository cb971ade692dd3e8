package devenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrRunning means another `newsletter dev` holds the folder.
var ErrRunning = errors.New("another newsletter dev is running from this folder")

// Lock is a held dev folder: one `dev` at a time per folder, so a second
// one never touches the first one's Redis data, redis.url or secret. The
// lock is an flock on dir/dev.lock, which the kernel releases when the
// process ends, however it ends.
type Lock struct{ f *os.File }

// Acquire takes the folder's lock, or fails with ErrRunning and what the
// running one wrote about itself (pid, address).
func Acquire(dir string) (*Lock, error) {
	f, err := os.OpenFile(filepath.Join(dir, "dev.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrRunning, strings.TrimSpace(strings.ReplaceAll(string(b), "\n", ", ")))
		}
		return nil, err
	}
	return &Lock{f: f}, nil
}

// Note records what the holder wants a second `dev` to be told.
func (l *Lock) Note(info string) error {
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt([]byte(info+"\n"), 0)
	return err
}

// Release lets go of the folder.
func (l *Lock) Release() {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
}

// Running reports whether a `dev` holds dir now.
func Running(dir string) bool {
	l, err := Acquire(dir)
	if err != nil {
		return errors.Is(err, ErrRunning)
	}
	l.Release()
	return false
}

// pointerFile is where a running dev notes its folder for commands run
// from other folders.
func pointerFile() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "newsletter", "dev-dir")
}

// Announce notes dir (absolute) as the running dev's folder.
func Announce(dir string) {
	p := pointerFile()
	abs, err := filepath.Abs(dir)
	if p == "" || err != nil {
		return
	}
	_ = os.MkdirAll(filepath.Dir(p), 0o700)
	_ = os.WriteFile(p, []byte(abs+"\n"), 0o600)
}

// Announced returns the folder of a `dev` running elsewhere, or "".
func Announced() string {
	p := pointerFile()
	if p == "" {
		return ""
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	dir := strings.TrimSpace(string(b))
	if dir == "" || !Running(dir) {
		return ""
	}
	return dir
}

// Package browsertest runs pages in a real headless Chromium (Debian's
// chromium package, driven with chromedp) for the tests of the admin
// interface and of what partners see.
//
// Without a Chromium the tests that need one are skipped with a message
// naming the package to install; with CI set they fail instead, so CI
// (whose .ci/run installs chromium) never skips them.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// Binary returns the path of the Chromium to use: $CHROMIUM when set, else
// the first of chromium, chromium-browser, google-chrome on PATH, or "".
func Binary() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a headless Chromium for t and returns a browser context (a
// tab), closed when t ends.
func New(t testing.TB) context.Context {
	t.Helper()
	bin := Binary()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found and CI is set: install Debian's chromium package (apt-get install chromium), or set CHROMIUM to its path")
		}
		t.Skip("no Chromium found: install Debian's chromium package (apt-get install chromium) or set CHROMIUM to run the browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start Chromium %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return ctx
}

// Width emulates a device width in CSS pixels (phones too: a headless
// window cannot be narrower than 500 px, device-metrics emulation can).
func Width(px int64) chromedp.Action[chromedp.Void] {
	if px < 600 {
		return chromedp.EmulateViewport(px, 800, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	return chromedp.EmulateViewport(px, 900)
}

// NoHorizontalScroll fails t when the current document is wider than its
// viewport, naming the page and the widths.
func NoHorizontalScroll(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	type widths struct {
		Scroll int64 `json:"scroll"`
		Client int64 `json:"client"`
	}
	w, err := chromedp.Run(ctx, chromedp.Evaluate[widths](`({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth})`))
	if err != nil {
		t.Fatalf("%s: measure widths: %v", what, err)
	}
	if w.Scroll > w.Client {
		t.Errorf("%s: the page is %d px wide in a %d px viewport: it scrolls sideways", what, w.Scroll, w.Client)
	}
}

// ScreenshotDir is where the browser tests write their screenshots:
// $NEWSLETTER_SCREENSHOTS, or screenshots/ at the module root (ignored by
// git; the README names it).
func ScreenshotDir() string {
	if d := os.Getenv("NEWSLETTER_SCREENSHOTS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return "screenshots"
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "screenshots")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, "screenshots")
		}
	}
}

// Screenshot saves the whole current page as ScreenshotDir()/name.png.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := ScreenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
}

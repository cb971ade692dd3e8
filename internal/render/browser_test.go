package render

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"newsletter/internal/browsertest"
	"newsletter/internal/seedtest"
)

// widths are the viewports every email is looked at in: a small phone, a
// common phone, and the width the layout is made for.
var widths = []int64{320, 390, 600}

// chartPNG is a picture wider than any phone, for the images to scale.
func chartPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 1200, 600))
	for x := range 1200 {
		for y := range 600 {
			img.Set(x, y, color.RGBA{uint8(x / 5), uint8(y / 3), 160, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// emailDocs renders what partners get by email: every golden edition
// (fixtures, the full English one, the seeds when present), the
// confirmation email in both languages, and an edition's web version.
func emailDocs(t *testing.T) map[string][]byte {
	t.Helper()
	r := testRenderer(t)
	docs := map[string][]byte{}
	eds := fixtureEditions(t)
	eds["full_en"] = fullEdition()
	if files := seedtest.Optional(t); files != nil {
		for n, e := range parseEditions(t, files) {
			eds[n] = e
		}
	}
	for n, e := range eds {
		tp, err := r.Render(e)
		if err != nil {
			t.Fatal(err)
		}
		docs["email-"+n], _ = tp.Personalise(fixedPersonal)
	}
	for _, lang := range []string{"nl", "en"} {
		c, err := r.ConfirmIn(lang, "Partners uit het onderwijs", "https://nieuws.example.nl/c/eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6ImphbkBleGFtcGxlLm9yZyJ9.signature-that-is-long")
		if err != nil {
			t.Fatal(err)
		}
		docs["confirm-"+lang] = c.HTML
	}
	a, err := r.Archive(fullEdition(), archiveLinks("https://nieuws.example.nl/archief/full-en"))
	if err != nil {
		t.Fatal(err)
	}
	docs["archive-full_en"] = a
	return docs
}

// TestEmailsFitPhones opens every email in headless Chromium at 320, 390
// and 600 px: nothing scrolls sideways, every image has alt text and fits,
// buttons are tall enough to tap; screenshots go to screenshots/.
func TestEmailsFitPhones(t *testing.T) {
	docs := emailDocs(t)
	pic := chartPNG(t)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/img/") {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(pic)
			return
		}
		doc, ok := docs[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		// Images come from this server: the test reaches no other host.
		doc = bytes.ReplaceAll(doc, []byte("https://cdn.example.org/"), []byte(srv.URL+"/img/"))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(doc)
	}))
	defer srv.Close()
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)

	ctx := browsertest.New(t)
	for _, w := range widths {
		if err := chromedp.Do(ctx, browsertest.Width(w)); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			what := fmt.Sprintf("%s at %d px", n, w)
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"+n)); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			browsertest.NoHorizontalScroll(t, ctx, what)
			checkLayout(t, ctx, what, w)
			browsertest.Screenshot(t, ctx, fmt.Sprintf("%s-%d", n, w))
		}
	}
	// Dark mode: the palette turns dark, the text stays readable.
	if err := chromedp.Do(ctx, browsertest.Width(390), colorScheme("dark"), chromedp.Navigate(srv.URL+"/email-full_en")); err != nil {
		t.Fatal(err)
	}
	bg, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[getComputedStyle(document.querySelector('.card')).backgroundColor, getComputedStyle(document.querySelector('.nl-body p')).color]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(bg) != 2 || bg[0] != "rgb(30, 30, 30)" || !strings.HasPrefix(bg[1], "rgb(230, 230, 230)") {
		t.Errorf("dark mode: card background and text are %v, want a dark card with light text", bg)
	}
	browsertest.Screenshot(t, ctx, "email-full_en-390-dark")
	if err := chromedp.Do(ctx, colorScheme("")); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", filepath.Clean(browsertest.ScreenshotDir()))
}

// layoutFacts are measured in the page.
type layoutFacts struct {
	Slip        bool    `json:"slip"`        // a formatting slip ("%!(EXTRA …)") or a name field left in
	NoAlt       int     `json:"noAlt"`       // images without alt text
	WideImages  int     `json:"wideImages"`  // images wider than the viewport
	MinButton   float64 `json:"minButton"`   // height of the lowest button (0: none)
	ContentWide float64 `json:"contentWide"` // width of the content table
}

func checkLayout(t *testing.T, ctx context.Context, what string, width int64) {
	t.Helper()
	f, err := chromedp.Run(ctx, chromedp.Evaluate[layoutFacts](`(() => {
		const imgs = [...document.images];
		const btns = [...document.querySelectorAll('a.button')].map(b => b.getBoundingClientRect().height);
		const c = document.querySelector('table.content');
		const text = document.body.innerText;
		return {
			slip: text.includes('%!') || /\{(naam|name)\}/i.test(text),
			noAlt: imgs.filter(i => !(i.getAttribute('alt') || '').trim()).length,
			wideImages: imgs.filter(i => i.getBoundingClientRect().width > document.documentElement.clientWidth).length,
			minButton: btns.length ? Math.min(...btns) : 0,
			contentWide: c ? c.getBoundingClientRect().width : 0,
		};
	})()`))
	if err != nil {
		t.Fatalf("%s: measure: %v", what, err)
	}
	if f.Slip {
		t.Errorf("%s: the text has a formatting slip or an unfilled {naam}", what)
	}
	if f.NoAlt > 0 {
		t.Errorf("%s: %d images without alt text", what, f.NoAlt)
	}
	if f.WideImages > 0 {
		t.Errorf("%s: %d images wider than the viewport", what, f.WideImages)
	}
	if f.MinButton != 0 && f.MinButton < 44 {
		t.Errorf("%s: a button is %.0f px high, want at least 44 to tap", what, f.MinButton)
	}
	if f.ContentWide > 600 || f.ContentWide > float64(width) {
		t.Errorf("%s: the content is %.0f px wide", what, f.ContentWide)
	}
}

// colorScheme emulates prefers-color-scheme ("" ends the emulation).
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		p := emulation.SetEmulatedMediaParams{}
		if scheme != "" {
			p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
		}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, p)
		return err
	})
}

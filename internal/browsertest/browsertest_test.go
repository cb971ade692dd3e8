package browsertest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestNoHorizontalScrollCatchesAWidePage proves the width check can fail: a
// 570 px table in a 390 px viewport scrolls, a fluid one does not.
func TestNoHorizontalScrollCatchesAWidePage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		width := "width:570px"
		if r.URL.Path == "/fluid" {
			width = "width:100%;max-width:570px"
		}
		_, _ = w.Write([]byte(`<!doctype html><meta name="viewport" content="width=device-width,initial-scale=1"><body style="margin:0"><table style="` + width + `"><tr><td>tekst</td></tr></table>`))
	}))
	defer srv.Close()
	ctx := New(t)
	if err := chromedp.Do(ctx, Width(390), chromedp.Navigate(srv.URL+"/fixed")); err != nil {
		t.Fatal(err)
	}
	ft := &fakeT{TB: t}
	NoHorizontalScroll(ft, ctx, "fixed")
	if !ft.failed {
		t.Error("a 570 px table in a 390 px viewport was not reported")
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/fluid")); err != nil {
		t.Fatal(err)
	}
	NoHorizontalScroll(t, ctx, "fluid")
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }

package httpserver_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/app"
)

// The public form's per-client quota counts the client a trusted reverse
// proxy names in X-Forwarded-For; without trusted proxies, or from anyone
// else, the header is ignored (it would let one client pose as many).
func TestClientAddressBehindTrustedProxies(t *testing.T) {
	proxies := func(ranges ...string) []net.IPNet {
		var out []net.IPNet
		for _, r := range ranges {
			_, n, err := net.ParseCIDR(r)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, *n)
		}
		return out
	}
	cases := []struct {
		name    string
		trusted []net.IPNet
		remote  string
		xff     func(i int) string
		// accepted is how many of five posts get through a per-client
		// quota of two.
		accepted int
	}{
		{"no trusted proxies: the header is ignored", nil, "198.51.100.1:4000", func(i int) string { return fmt.Sprintf("203.0.113.%d", i) }, 2},
		{"through a trusted proxy: each forwarded client counts alone", proxies("10.0.0.0/8"), "10.1.2.3:4000", func(i int) string { return fmt.Sprintf("203.0.113.%d", i) }, 5},
		{"through a trusted proxy: one forwarded client is held", proxies("10.0.0.0/8"), "10.1.2.3:4000", func(int) string { return "203.0.113.7" }, 2},
		{"a spoofed chain: the rightmost untrusted address counts", proxies("10.0.0.0/8"), "10.1.2.3:4000", func(i int) string { return fmt.Sprintf("192.0.2.%d, 203.0.113.7, 10.9.9.9", i) }, 2},
		{"from an untrusted address: the header is ignored", proxies("10.0.0.0/8"), "198.51.100.1:4000", func(i int) string { return fmt.Sprintf("203.0.113.%d", i) }, 2},
		{"a trusted proxy that forwards nothing: the proxy counts", proxies("10.0.0.0/8"), "10.1.2.3:4000", func(int) string { return "" }, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := openApp(t, func(cfg *app.Config) {
				cfg.TrustedProxies = c.trusted
				cfg.SubscribeRatePerClient, cfg.SubscribeRate = 2, 100
			})
			if _, err := a.CreateList(context.Background(), newsletter.List{Slug: "nieuws", Name: "Nieuws", Public: true}); err != nil {
				t.Fatal(err)
			}
			s := serverFor(a, nil)
			s.AnswerFloor = -1
			h := s.Handler()
			accepted := 0
			for i := range 5 {
				body := url.Values{"list": {"nieuws"}, "email": {fmt.Sprintf("p%d@example.org", i)}}.Encode()
				rec := do(h, http.MethodPost, "/subscribe", body, func(r *http.Request) {
					form(r)
					r.RemoteAddr = c.remote
					if v := c.xff(i); v != "" {
						r.Header.Set("X-Forwarded-For", v)
					}
				})
				switch rec.Code {
				case http.StatusOK:
					accepted++
				case http.StatusTooManyRequests:
				default:
					t.Fatalf("post %d: %d %s", i, rec.Code, strings.TrimSpace(rec.Body.String()))
				}
			}
			if accepted != c.accepted {
				t.Errorf("%d of 5 posts accepted, want %d", accepted, c.accepted)
			}
		})
	}
}

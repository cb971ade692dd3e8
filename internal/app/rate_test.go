package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"newsletter"
	"newsletter/internal/app"
)

func TestResolveRate(t *testing.T) {
	ctx := context.Background()
	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
		w.WriteHeader(403)
		_, _ = w.Write([]byte(`{"message":"not allowed: ses:GetAccount"}`))
	}))
	defer denied.Close()
	account := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"SendQuota":{"MaxSendRate":14,"Max24HourSend":50000,"SentLast24Hours":0},"SendingEnabled":true}`))
	}))
	defer account.Close()
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-ErrorType", "ServiceUnavailable")
		w.WriteHeader(503)
	}))
	defer unavailable.Close()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	down := "http://" + l.Addr().String()
	l.Close()

	cases := []struct {
		name     string
		endpoint string
		rate     float64
		want     float64
		errWants string
	}{
		{"account rate", account.URL, 0, 14, ""},
		{"configured rate wins", account.URL, 10, 10, ""},
		{"GetAccount denied, no rate", denied.URL, 0, 0, "NEWSLETTER_SES_RATE"},
		{"GetAccount denied, rate set", denied.URL, 25, 25, ""},
		{"unreachable", down, 25, 0, "not reachable"},
		{"unavailable", unavailable.URL, 25, 0, "not reachable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := &app.App{Cfg: app.Config{SESRate: c.rate, SendConcurrency: 8}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			client, err := a.SESClient(ctx, c.endpoint, true)
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.ResolveRate(ctx, client)
			if c.errWants != "" {
				if err == nil || !strings.Contains(err.Error(), c.errWants) || newsletter.ErrorCode(err) != newsletter.EUNAVAILABLE {
					t.Fatalf("err = %v, want one mentioning %q", err, c.errWants)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("rate = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

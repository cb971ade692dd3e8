package devenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"

	"newsletter/internal/redisproc"
	"newsletter/internal/sesfake"
	"newsletter/internal/snsverify"
)

// Topic and certificate URL of the local SNS imitation. The URL has the
// form of a real SNS one, so the verifier's default host rule holds; the
// certificate is served from memory by CertTransport, never fetched.
const (
	TopicARN = "arn:aws:sns:eu-west-1:000000000000:newsletter-dev-ses-events"
	CertURL  = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-newsletter-dev.pem"
)

// Redis is a running dev Redis.
type Redis struct {
	URL  string
	Kind string // what it is and where its data lives, for the start-up lines
	// InProcess is the in-process fallback: memory only.
	InProcess bool
	// Dir holds the data of a redis-server child (its append-only file).
	Dir  string
	stop func()
}

// Close stops it.
func (r *Redis) Close() { r.stop() }

// StartRedis starts a redis-server child on a free port if redis-server is
// on the PATH, keeping its data in an append-only file under dir/redis so
// the next `dev` finds it again; else an in-process server, whose data
// is lost when dev stops (Kind says so).
func StartRedis(dir string) (*Redis, error) {
	rdir := filepath.Join(dir, "redis")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return nil, err
	}
	srv, err := redisproc.StartWith(rdir, redisproc.Options{AOF: true})
	switch {
	case err == nil:
		return &Redis{URL: srv.URL, Dir: rdir, stop: srv.Close,
			Kind: fmt.Sprintf("redis-server child process on 127.0.0.1:%d, data kept in %s (append-only file)", srv.Port, rdir)}, nil
	case !errors.Is(err, redisproc.ErrNoServer):
		return nil, err
	}
	m, err := miniredis.Run()
	if err != nil {
		return nil, fmt.Errorf("start in-process Redis: %w", err)
	}
	return &Redis{URL: "redis://" + m.Addr() + "/0", InProcess: true,
		Kind: "in-process Redis-compatible server (miniredis): memory only, so lists and editions are lost when dev stops; install redis-server (Debian: apt-get install redis-server) to keep them between runs",
		stop: m.Close}, nil
}

// SES is the embedded SES endpoint and its SNS loop.
type SES struct {
	Server   *sesfake.Server
	Endpoint string
	Signer   *snsverify.Signer
	srv      *http.Server
}

// Close stops the endpoint.
func (s *SES) Close() { _ = s.srv.Close(); _ = s.Server.Close() }

// StartSES starts the embedded SES endpoint on a free loopback port. Its
// simulator events are signed and POSTed to webhookURL.
func StartSES(outboxDir, webhookURL string) (*SES, error) {
	signer, err := snsverify.NewSigner(CertURL, time.Now())
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	notify := func(ctx context.Context, event []byte) error {
		m, err := signer.Notification(TopicARN, "Amazon SES Email Event Notification", string(event))
		if err != nil {
			return err
		}
		body, _ := json.Marshal(m)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
		req.Header.Set("x-amz-sns-message-type", m.Type)
		req.Header.Set("x-amz-sns-topic-arn", TopicARN)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return fmt.Errorf("webhook answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
		}
		return nil
	}
	if err := os.MkdirAll(outboxDir, 0o755); err != nil {
		return nil, err
	}
	fake := sesfake.New(sesfake.Options{OutboxDir: outboxDir, Notify: notify, MaxSendRate: 200})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return &SES{Server: fake, Endpoint: "http://" + l.Addr().String(), Signer: signer, srv: srv}, nil
}

// Verifier returns an SNS verifier that accepts the dev topic (plus
// extra), with the dev certificate served from memory.
func (s *SES) Verifier(extra []string) *snsverify.Verifier {
	return &snsverify.Verifier{
		TopicARNs:  append([]string{TopicARN}, extra...),
		CertHost:   regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com$`),
		HTTPClient: &http.Client{Transport: CertTransport{URL: CertURL, PEM: s.Signer.CertPEM()}},
	}
}

// CertTransport answers a GET of URL with PEM and refuses everything else:
// the dev verifier never reaches the network.
type CertTransport struct {
	URL string
	PEM []byte
}

// RoundTrip implements http.RoundTripper.
func (t CertTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet || r.URL.String() != t.URL {
		return nil, fmt.Errorf("dev SNS: no network access for %s", r.URL)
	}
	return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{"Content-Type": {"application/x-pem-file"}},
		Body: io.NopCloser(bytes.NewReader(t.PEM)), ContentLength: int64(len(t.PEM)), Request: r}, nil
}

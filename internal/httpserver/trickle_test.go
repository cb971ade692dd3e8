package httpserver_test

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"newsletter/internal/httpserver"
)

// A client that sends the headers of a public POST and then trickles
// (here: never finishes) its body does not hold the connection for the
// server's whole read timeout: the body read ends at BodyTimeout.
func TestTricklingBodyIsCutOff(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	s := &httpserver.Server{App: a, Logger: discard, BodyTimeout: 200 * time.Millisecond}
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Config.ReadTimeout = time.Hour // what would hold it otherwise
	srv.Start()
	t.Cleanup(srv.Close)
	for _, path := range []string{"/subscribe", "/webhooks/ses", "/u/x"} {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nlist=a&em"))
		// The server must end the exchange itself; this deadline only
		// bounds a failing test, it measures no speed.
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			resp.Body.Close()
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("%s: the server still waited for the body after 20 s", path)
		}
		c.Close()
	}
}

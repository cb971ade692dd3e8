package redisproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNoServer means redis-server is not on the PATH.
var ErrNoServer = errors.New("redis-server is not on the PATH")

// Server is a running redis-server child.
type Server struct {
	URL  string
	Port int
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// Start starts redis-server with dir as its working directory and waits
// until it answers.
func Start(dir string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNoServer
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--maxmemory-policy", "noeviction")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	s := &Server{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), Port: port, cmd: cmd, done: make(chan struct{})}
	// Pdeathsig fires when the thread that started the child exits, and Go
	// retires a locked thread when its goroutine ends. So start the child
	// from a goroutine that keeps its thread until the child is gone.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(s.done)
		select {} // never unlock: other children may share this thread's fate
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	opt, _ := redis.ParseURL(s.URL)
	c := redis.NewClient(opt)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("redis-server did not answer on port %d: %v\n%s", port, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close stops the server and waits for it to exit.
func (s *Server) Close() {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

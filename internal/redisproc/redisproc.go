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

// ErrPortTaken means the port asked for is in use.
var ErrPortTaken = errors.New("port in use")

// ErrExited means redis-server stopped right after it started (e.g. its
// port was taken, or its data directory is in use).
var ErrExited = errors.New("redis-server exited")

// Server is a running redis-server child.
type Server struct {
	URL  string
	Port int
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// Options change how Start runs the server.
type Options struct {
	// Port to listen on (0: one PickPort gives).
	Port int
	// PickPort picks the port when Port is 0 (nil: FreePort).
	PickPort func() (int, error)
	// AOF keeps the data in an append-only file in the directory, so a
	// server started again on it has the same data.
	AOF bool
	// Args are further redis-server arguments, e.g. "--cluster-enabled", "yes".
	Args []string
}

// Start starts redis-server with dir as its working directory and waits
// until it answers. It keeps nothing on disk.
func Start(dir string) (*Server, error) { return StartWith(dir, Options{}) }

// StartWith is Start with options. A picked port can be taken between
// the pick and the server's bind (by another test's server, or by an
// outgoing connection): then the server is started again on another pick,
// five tries in all.
func StartWith(dir string, o Options) (*Server, error) {
	if o.Port != 0 {
		return startOn(dir, o, o.Port)
	}
	pick := o.PickPort
	if pick == nil {
		pick = FreePort
	}
	var err error
	for range 5 {
		var port int
		if port, err = pick(); err != nil {
			return nil, err
		}
		var s *Server
		if s, err = startOn(dir, o, port); !errors.Is(err, ErrExited) && !errors.Is(err, ErrPortTaken) {
			return s, err
		}
	}
	return nil, err
}

func startOn(dir string, o Options, port int) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNoServer
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, fmt.Errorf("port %d is taken: %w", port, ErrPortTaken)
	}
	l.Close()
	aof := "no"
	if o.AOF {
		aof = "yes"
	}
	args := append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", aof, "--dir", dir, "--maxmemory-policy", "noeviction"}, o.Args...)
	cmd := exec.Command(bin, args...)
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
		select {
		case <-s.done:
			// Exited: whatever answered on the port (if anything) is
			// another server.
			return nil, fmt.Errorf("redis-server on port %d exited at start: %w\n%s", port, ErrExited, strings.TrimSpace(out.String()))
		default:
		}
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

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

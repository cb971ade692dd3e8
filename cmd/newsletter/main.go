package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/redis/go-redis/v9"

	"newsletter/internal/cli"
)

// quiet drops go-redis's internal pool logging: errors reach the user once,
// as one line, through the returned error.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// gcPercent is the collector's target unless GOGC says otherwise. The
// worker's live heap is small (some 20 MB sending to a million: the calls
// in flight and the edition) and nearly everything it allocates is garbage
// within one SES call, so collecting at three times the live heap rather
// than twice takes a tenth less CPU per email for some 10 MB more memory
// (docs/benchmarks.md).
const gcPercent = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	redis.SetLogger(quiet{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin})
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "newsletter: %v\n", err)
		os.Exit(1)
	}
}

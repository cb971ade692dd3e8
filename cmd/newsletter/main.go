package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"newsletter/internal/cli"
)

// quiet drops go-redis's internal pool logging: errors reach the user once,
// as one line, through the returned error.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func main() {
	redis.SetLogger(quiet{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin})
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "newsletter: %v\n", err)
		os.Exit(1)
	}
}

// Command newsletter is the newsletter mailing pipeline: see README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"newsletter/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin})
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "newsletter: %v\n", err)
		os.Exit(1)
	}
}

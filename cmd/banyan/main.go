// Command banyan runs a Banyan hub or village center, and the tools around them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"banyan/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "banyan:", err)
		os.Exit(cli.ExitCode(err))
	}
}

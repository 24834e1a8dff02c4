// Command patrol is a Patrol field device in a terminal: it keeps its own
// SQLite copy of what its inspector may see, records venues and
// inspections offline, and syncs with the server when it can reach it.
//
//	patrol --db FILE <command> [args]
//
// Every command works offline except enroll and sync.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runContext(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line in-process and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

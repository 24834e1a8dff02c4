// Command patrold is the Patrol sync server.
//
//	patrold serve  [--addr 127.0.0.1:8080] [--data ./patrol-data] [--demo]
//	patrold enroll --data DIR --inspector USERNAME
//
// Flags fall back to the PATROL_ADDR, PATROL_DATA and PATROL_DEMO
// environment variables; with none of them it serves ./patrol-data on
// 127.0.0.1:8080.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/storage"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "patrold:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  patrold serve  [--addr 127.0.0.1:8080] [--data ./patrol-data] [--demo]
  patrold enroll --data DIR --inspector USERNAME`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "serve":
		opts, err := parseServe(args[1:], os.Getenv, stderr)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serve(ctx, opts, stdout)
	case "enroll":
		opts, err := parseEnroll(args[1:], os.Getenv, stderr)
		if err != nil {
			return err
		}
		return enroll(ctx, opts, stdout)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
}

// serveOptions are the settings of `patrold serve`.
type serveOptions struct {
	Addr    string
	DataDir string
	Demo    bool
}

// envOr returns the environment value of key, or def when unset.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// parseServe reads the serve flags; each flag's default is its PATROL_*
// variable, so adding a setting is one line here and one in serveOptions.
func parseServe(args []string, getenv func(string) string, stderr io.Writer) (serveOptions, error) {
	var o serveOptions
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Addr, "addr", envOr(getenv, "PATROL_ADDR", server.DefaultAddr), "listen address (PATROL_ADDR)")
	fs.StringVar(&o.DataDir, "data", envOr(getenv, "PATROL_DATA", server.DefaultDataDir), "data directory (PATROL_DATA)")
	demoDefault, _ := strconv.ParseBool(envOr(getenv, "PATROL_DEMO", "false"))
	fs.BoolVar(&o.Demo, "demo", demoDefault, "seed an empty data directory with the demo district (PATROL_DEMO)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	return o, nil
}

// enrollOptions are the settings of `patrold enroll`.
type enrollOptions struct {
	DataDir   string
	Inspector string
}

func parseEnroll(args []string, getenv func(string) string, stderr io.Writer) (enrollOptions, error) {
	var o enrollOptions
	fs := flag.NewFlagSet("enroll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.DataDir, "data", envOr(getenv, "PATROL_DATA", server.DefaultDataDir), "data directory (PATROL_DATA)")
	fs.StringVar(&o.Inspector, "inspector", "", "username of the inspector whose device enrols")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.Inspector == "" {
		return o, errors.New("enroll: --inspector USERNAME is required")
	}
	return o, nil
}

func serve(ctx context.Context, o serveOptions, stdout io.Writer) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// Photos default to a local-disk blob store inside the data directory.
	blobs, err := storage.NewLocal(filepath.Join(o.DataDir, "blobs"))
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, server.Config{DataDir: o.DataDir, Addr: o.Addr, Logger: logger, Blobs: blobs})
	if err != nil {
		return err
	}
	defer srv.Close()
	if o.Demo {
		n, err := srv.Store().CountUsers(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			sum, err := demo.Seed(ctx, srv.Store().DB(), demo.Options{HashPassword: auth.HashPassword})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "demo district seeded: %d squads, %d users, %d venues (%d unlicensed), %d schools, %d past inspections\n",
				sum.Squads, sum.Users, sum.Venues, sum.Unlicensed, sum.Schools, sum.Inspections)
		} else {
			fmt.Fprintf(stdout, "data directory already holds %d users; demo seed skipped\n", n)
		}
		fmt.Fprintf(stdout, "demo logins (password %q): admin, leader1…leader6, inspector1…inspector12\n", demo.Password)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", o.Addr, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "patrold serving http://%s (data %s)\n", ln.Addr(), o.DataDir)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func enroll(ctx context.Context, o enrollOptions, stdout io.Writer) error {
	srv, err := server.New(ctx, server.Config{DataDir: o.DataDir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer srv.Close()
	code, err := srv.EnrollmentCode(ctx, o.Inspector, "patrold enroll")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "one-time enrollment code for %s (valid %s):\n%s\n", o.Inspector, server.DefaultEnrollmentTTL, code)
	return nil
}

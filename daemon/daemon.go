// Package daemon is volctld: configuration, journal, backend, engine and the
// gRPC server wired together, with graceful shutdown. cmd/volctld calls Main.
package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/grpclog"

	"github.com/volctl/volctl/daemon/config"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/server"
	"github.com/volctl/volctl/daemon/solaris"
	"github.com/volctl/volctl/store"
)

// Version is set at build time (-ldflags -X).
var Version = "dev"

// Logger names, one block so they stay consistent.
const (
	logEngine = "engine"
	logServer = "server"
	logGRPC   = "grpc"
)

// Main runs volctld with command-line args until SIGINT or SIGTERM.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("volctld", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (TOML); defaults are used without one")
	socket := fs.String("socket", "", "unix socket to listen on (overrides the config)")
	db := fs.String("db", "", "journal file (overrides the config)")
	level := fs.String("log-level", "info", "log level: trace, debug, info, warn, error")
	logJSON := fs.Bool("log-json", false, "log as JSON")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *version {
		fmt.Fprintln(stdout, "volctld", Version)
		return 0
	}
	if hclog.LevelFromString(*level) == hclog.NoLevel {
		fmt.Fprintf(stderr, "volctld: -log-level %q: want trace, debug, info, warn or error\n", *level)
		return 2
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "volctld", Level: hclog.LevelFromString(*level), JSONFormat: *logJSON, Output: stderr})
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		log.Error("bad configuration", "error", err)
		return 2
	}
	if *socket != "" {
		cfg.Socket = *socket
	}
	if *db != "" {
		cfg.DB = *db
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, cfg, log); err != nil {
		log.Error("volctld stopped", "error", err)
		return 1
	}
	return 0
}

// NewBackend returns the backend the configuration names.
func NewBackend(cfg config.Config) (engine.Backend, error) {
	switch cfg.Platform {
	case "solaris":
		return solaris.New(solaris.Paths{Zfs: cfg.Commands.Zfs, Stmfadm: cfg.Commands.Stmfadm,
			Zoneadm: cfg.Commands.Zoneadm, Zonecfg: cfg.Commands.Zonecfg}), nil
	default:
		return nil, fmt.Errorf("platform %q is not supported by this volctld", cfg.Platform)
	}
}

// Run serves until ctx ends, then shuts down gracefully: running operations
// stop at their next step boundary (they resume at the next start).
func Run(ctx context.Context, cfg config.Config, log hclog.Logger) error {
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(
		log.Named(logGRPC).StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
		log.Named(logGRPC).StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}),
		log.Named(logGRPC).StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Error})))
	backend, err := NewBackend(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.DB), 0o700); err != nil {
		return fmt.Errorf("journal directory: %w", err)
	}
	db, err := store.Open(cfg.DB, time.Second)
	if err != nil {
		if errors.Is(err, store.ErrInUse) {
			return fmt.Errorf("%w: is another volctld running?", err)
		}
		return err
	}
	defer db.Close()

	base, cancelOps := context.WithCancel(context.Background())
	defer cancelOps()
	eng := engine.New(base, db, backend, engine.Config{
		Timeouts: cfg.CommandTimeouts(), DefaultTimeout: cfg.Timeouts.Default.Duration,
		Retries: cfg.Retries, RetryDelay: cfg.RetryDelay.Duration,
	}, log.Named(logEngine))

	lis, err := listenUnix(cfg)
	if err != nil {
		return err
	}
	g := grpc.NewServer()
	srv := server.New(eng, log.Named(logServer))
	srv.Register(g)
	srv.SetServing(true)

	// Resume after the listener is up so that clients can watch; the
	// operations hold their locks, so nothing conflicting starts meanwhile.
	if err := eng.Start(); err != nil {
		g.Stop()
		return err
	}
	log.Info("volctld serving", "version", Version, "platform", backend.Name(), "socket", cfg.Socket, "db", cfg.DB)
	served := make(chan error, 1)
	go func() { served <- g.Serve(lis) }()
	select {
	case <-ctx.Done():
	case err := <-served:
		cancelOps()
		eng.Wait()
		return err
	}
	log.Info("shutting down: running operations stop at their next step boundary", "running", eng.Running())
	srv.SetServing(false)
	cancelOps()
	eng.Wait()
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		g.Stop()
	}
	_ = os.Remove(cfg.Socket)
	return nil
}

// listenUnix listens on the configured socket with its mode. A socket file
// left by a dead daemon is removed; one that answers is another daemon.
func listenUnix(cfg config.Config) (net.Listener, error) {
	mode, err := cfg.Mode()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Socket), 0o755); err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	if _, err := os.Stat(cfg.Socket); err == nil {
		if c, err := net.DialTimeout("unix", cfg.Socket, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("socket %s: another volctld is listening", cfg.Socket)
		}
		if err := os.Remove(cfg.Socket); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	lis, err := net.Listen("unix", cfg.Socket)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Socket, err)
	}
	if err := os.Chmod(cfg.Socket, os.FileMode(mode)); err != nil {
		lis.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return lis, nil
}

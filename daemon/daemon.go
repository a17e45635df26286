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
	"net/http"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/grpclog"

	"github.com/volctl/volctl/daemon/auth"
	"github.com/volctl/volctl/daemon/config"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/linuxtgt"
	"github.com/volctl/volctl/daemon/metrics"
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
	logAuth   = "auth"
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
		b := solaris.New(solaris.Paths{Zfs: cfg.Commands.Zfs, Zpool: cfg.Commands.Zpool, Stmfadm: cfg.Commands.Stmfadm,
			Zoneadm: cfg.Commands.Zoneadm, Zonecfg: cfg.Commands.Zonecfg})
		b.ShutdownTimeout = cfg.ZoneShutdownTimeout.Duration
		return b, nil
	case "linux-tgt":
		return linuxtgt.New(linuxtgt.Paths{Zfs: cfg.Commands.Zfs, Tgtadm: cfg.Commands.Tgtadm,
			TgtControlPort: cfg.Commands.TgtControlPort}), nil
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
	m := metrics.New()
	eng := engine.New(base, db, backend, engine.Config{
		Timeouts: cfg.CommandTimeouts(), DefaultTimeout: cfg.Timeouts.Default.Duration,
		Retries: cfg.Retries, RetryDelay: cfg.RetryDelay.Duration, MaxOutput: cfg.MaxOutput, Observer: m,
	}, log.Named(logEngine))

	srv := server.New(eng, db, Version, log.Named(logServer))
	guard := &server.Guard{Policy: policy(cfg.Roles), DB: db, Log: log.Named(logAuth)}
	newGRPC := func(creds credentials.TransportCredentials) *grpc.Server {
		g := grpc.NewServer(grpc.Creds(creds), grpc.ChainUnaryInterceptor(guard.Unary()), grpc.ChainStreamInterceptor(guard.Stream()))
		srv.Register(g)
		return g
	}
	var servers []*grpc.Server
	served := make(chan error, 3)
	stopAll := func() {
		for _, g := range servers {
			g.Stop()
		}
	}

	lis, err := listenUnix(cfg)
	if err != nil {
		return err
	}
	unix := newGRPC(auth.UnixCredentials{})
	servers = append(servers, unix)
	go func() { served <- unix.Serve(lis) }()
	if cfg.TCP.Listen != "" {
		tlsCfg, err := auth.ServerTLS(cfg.TCP.Cert, cfg.TCP.Key, cfg.TCP.ClientCA)
		if err != nil {
			stopAll()
			return fmt.Errorf("tcp: %w", err)
		}
		tl, err := net.Listen("tcp", cfg.TCP.Listen)
		if err != nil {
			stopAll()
			return fmt.Errorf("tcp: %w", err)
		}
		tg := newGRPC(credentials.NewTLS(tlsCfg))
		servers = append(servers, tg)
		go func() { served <- tg.Serve(tl) }()
		log.Info("serving mutual TLS", "addr", tl.Addr().String())
	}
	var metricsSrv *http.Server
	if cfg.Metrics.Listen != "" {
		ml, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			stopAll()
			return fmt.Errorf("metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = metricsSrv.Serve(ml) }()
		log.Info("serving metrics", "addr", ml.Addr().String())
	}
	srv.SetServing(true)

	// Resume after the listeners are up so that clients can watch; the
	// operations hold their locks, so nothing conflicting starts meanwhile.
	if err := eng.Start(); err != nil {
		stopAll()
		return err
	}
	log.Info("volctld serving", "version", Version, "platform", backend.Name(), "socket", cfg.Socket, "db", cfg.DB)
	select {
	case <-ctx.Done():
	case err := <-served:
		cancelOps()
		eng.Wait()
		stopAll()
		return err
	}
	log.Info("shutting down: running operations stop at their next step boundary", "running", eng.Running())
	srv.SetServing(false)
	cancelOps()
	eng.Wait()
	for _, g := range servers {
		done := make(chan struct{})
		go func() { g.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			g.Stop()
		}
	}
	if metricsSrv != nil {
		_ = metricsSrv.Close()
	}
	_ = os.Remove(cfg.Socket)
	return nil
}

func policy(r config.Roles) auth.Policy {
	return auth.Policy{OperatorUIDs: r.OperatorUIDs, OperatorGroups: r.OperatorGroups, OperatorSubjects: r.OperatorSubjects,
		ViewerUIDs: r.ViewerUIDs, ViewerGroups: r.ViewerGroups, ViewerSubjects: r.ViewerSubjects}
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
	if cfg.SocketGroup != "" {
		g, err := user.LookupGroup(cfg.SocketGroup)
		if err != nil {
			lis.Close()
			return nil, fmt.Errorf("socket_group: %w", err)
		}
		gid, _ := strconv.Atoi(g.Gid)
		if err := os.Chown(cfg.Socket, os.Getuid(), gid); err != nil {
			lis.Close()
			return nil, fmt.Errorf("chown socket: %w", err)
		}
	}
	if err := os.Chmod(cfg.Socket, os.FileMode(mode)); err != nil {
		lis.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return lis, nil
}

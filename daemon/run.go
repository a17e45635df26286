package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	sdnotify "github.com/coreos/go-systemd/v22/daemon"
	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/grpclog"

	"github.com/volctl/volctl/daemon/auth"
	"github.com/volctl/volctl/daemon/config"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/metrics"
	"github.com/volctl/volctl/daemon/peers"
	"github.com/volctl/volctl/daemon/server"
	"github.com/volctl/volctl/daemon/solaris"
	"github.com/volctl/volctl/daemon/zonehost"
	"github.com/volctl/volctl/store"
)

// daemon is one run of volctld (RunWith): what build made, which serve
// starts and shutdown stops. The order of the steps is the daemon's
// contract with its callers and with systemd: the journal's lock before
// the fence, the fence before anything runs a command (engine.Start's
// resumes, a recover, a peer's zone call), the listeners before the
// resumes (clients can watch them), the metrics gauge from the journal
// before /metrics answers and before READY=1, the socket removed once.
type daemon struct {
	cfg config.Config
	log hclog.Logger

	backend   engine.Backend
	db        *store.DB
	metrics   *metrics.Metrics
	eng       *engine.Engine
	cancelOps context.CancelFunc // ends the operations' context (base of engine.New)
	srv       *server.Server
	guard     *server.Guard
	pol       auth.Policy

	// servers are the gRPC servers, the unix socket's first, each served
	// on the listener of the same index.
	servers   []*grpc.Server
	listeners []net.Listener
	tcpAddr   net.Addr // the mutual TLS listener's, if any
	served    chan error
	// metricsSrv serves metricsLis, once the gauge is from the journal.
	metricsSrv *http.Server
	metricsLis net.Listener

	// closers undo what build acquired; release runs them in reverse.
	closers []func()
}

// onRelease adds f to what release runs (last added, first run).
func (d *daemon) onRelease(f func()) { d.closers = append(d.closers, f) }

// release is the end of every run, a failed start's too: in reverse order
// of acquisition, the metrics listener (if never served), the unix
// listener (which removes its socket once, only if it is still ours), the
// guard's pending counts of denied calls, the peers' connections, the
// operations' context, the registry of running commands (execx.Track
// ends, its directory goes if empty) and last the journal.
func (d *daemon) release() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
}

// build makes everything volctld serves with, and serves nothing: gRPC's
// logger, the backend, the journal (checked and opened, its lock held),
// the fence against an earlier daemon's commands, metrics and the engine;
// then the gRPC server (buildServer) and the listeners (listen). An error
// stops the start; release undoes what was made.
func (d *daemon) build(opts Options) error {
	cfg, log := d.cfg, d.log
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(
		log.Named(logGRPC).StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
		// gRPC's warnings are its transport's retries (a peer not
		// reachable, a client gone), each of which volctld reports itself
		// where it matters: debug, not warn.
		log.Named(logGRPC).StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
		log.Named(logGRPC).StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Error})))
	backend, err := NewBackend(cfg)
	if err != nil {
		return err
	}
	d.backend = backend
	if err := prepareJournal(cfg.DB); err != nil {
		return err
	}
	db, err := store.OpenWith(cfg.DB, store.OpenOptions{Timeout: time.Second, NewJournal: opts.NewJournal})
	if err != nil {
		if errors.Is(err, store.ErrInUse) {
			return fmt.Errorf("%w: is another volctld running?", err)
		}
		return err
	}
	d.db = db
	d.onRelease(func() { db.Close() })
	// No command of an earlier volctld may run on while this one recovers.
	stopRecording, err := fenceCommands(cfg, log.Named(logFence))
	if err != nil {
		return err
	}
	d.onRelease(stopRecording)

	base, cancelOps := context.WithCancel(context.Background())
	d.cancelOps = cancelOps
	d.onRelease(cancelOps)
	d.metrics = metrics.New(metrics.Options{Version: Version, Platform: backend.Name(), Steps: stepNames(backend),
		MaxDuration: longestTimeout(cfg)})
	d.eng = engine.New(base, db, backend, engine.Config{
		Timeouts: cfg.CommandTimeouts(), DefaultTimeout: cfg.Timeouts.Default.Duration,
		Retries: cfg.Retries, RetryDelay: cfg.RetryDelay.Duration, MaxOutput: cfg.MaxOutput, Observer: d.metrics,
		Retention:        engine.Retention{KeepFor: cfg.Kept.KeepFor.Duration, KeepLast: cfg.Kept.KeepLast},
		JournalRetention: engine.JournalRetention{KeepFor: cfg.Journal.KeepFor.Duration, KeepLast: cfg.Journal.KeepLast},
		MaxCommands:      cfg.MaxCommands, MaxWindows: cfg.MaxOpenWindows, Stall: cfg.CommandStall.Duration,
	}, log.Named(logEngine))
	if err := d.buildServer(); err != nil {
		return err
	}
	if err := d.listen(); err != nil {
		d.stopAll()
		return err
	}
	return nil
}

// buildServer makes the gRPC service (server.Server), with the zone
// service and the peers on Solaris, and the guard (roles, audit) in front
// of it. The peers' connections and the guard's pending counts are
// released before the journal closes.
func (d *daemon) buildServer() error {
	cfg, log, db := d.cfg, d.log, d.db
	d.srv = server.New(d.eng, db, Version)
	if sb, ok := d.backend.(*solaris.Backend); ok {
		// Every Solaris host can be a zone host (the zone service answers
		// only callers with the peer role) and a storage host (its peers).
		d.srv.SetZoneHost(&zonehost.Service{Backend: sb, DB: db, Initiators: cfg.Initiators, Timeout: d.eng.CommandTimeout,
			MaxOutput: cfg.MaxOutput, Log: log.Named(logZones)})
		if len(cfg.Peers) > 0 {
			ps, err := peers.New(cfg.Peers, log.Named(logPeers))
			if err != nil {
				return err
			}
			ps.Audit = func(rec store.AuditRecord) {
				rec.Time = time.Now().UTC()
				if _, err := db.AppendAudit(rec); err != nil {
					log.Error("audit write failed", "error", err, "method", rec.Method)
				}
			}
			d.onRelease(ps.Close)
			sb.Peers = ps
		}
	}
	d.pol = policy(cfg.Roles)
	d.guard = &server.Guard{Policy: d.pol, DB: db, Log: log.Named(logAuth)}
	d.srv.SetWatchLimits(cfg.MaxWatchesPerConnection, cfg.MaxWatchesPerCaller)
	d.onRelease(d.guard.Flush) // pending counts of denied calls, before the journal closes
	return nil
}

// newGRPC is one gRPC server with the service and the guard, over creds.
func (d *daemon) newGRPC(creds credentials.TransportCredentials) *grpc.Server {
	// The codec lets the guard refuse invalid UTF-8 in a request as
	// InvalidArgument (grpc-go would answer Internal before it).
	// ConnectionTimeout bounds a connection's TLS handshake and HTTP/2
	// preface; MaxConcurrentStreams its calls, each until its last
	// byte is written (docs/platform/connections.md); the stats
	// handler tags each connection, for the watch limits.
	g := grpc.NewServer(grpc.Creds(creds), grpc.ForceServerCodecV2(server.Codec()), grpc.MaxRecvMsgSize(maxRequest),
		grpc.ConnectionTimeout(d.cfg.HandshakeTimeout.Duration), grpc.StatsHandler(d.srv.ConnTags()),
		grpc.MaxConcurrentStreams(uint32(d.cfg.MaxStreamsPerConnection)),
		grpc.ChainUnaryInterceptor(d.guard.Unary()), grpc.ChainStreamInterceptor(d.guard.Stream()))
	d.srv.Register(g)
	return g
}

// listen binds every listener, in the connection pool, and serves none
// yet: the unix socket (listenUnix), mutual TLS over TCP if configured,
// the metrics endpoint if configured. Each is closed by release (a
// served one by its server first).
func (d *daemon) listen() error {
	cfg := d.cfg
	d.served = make(chan error, 3)
	// One pool for both listeners, with a reserve for root, operators and
	// peers (connlimits.go).
	pool := connPool(cfg, d.log.Named(logServer))
	unixLis, err := listenUnix(cfg)
	if err != nil {
		return err
	}
	// grpc closes the listener too, but when Stop comes before Serve has
	// registered it (a quick shutdown on a loaded host) it does so from the
	// Serve goroutine, after Run returned: the socket must be gone when Run
	// returns. Close removes it once.
	d.onRelease(func() { unixLis.Close() })
	d.servers = append(d.servers, d.newGRPC(auth.UnixCredentials{}))
	d.listeners = append(d.listeners, pool.Listen(unixLis, unixPeer(d.pol)))
	if cfg.TCP.Listen != "" {
		tlsCfg, err := auth.ServerTLS(cfg.TCP.Cert, cfg.TCP.Key, cfg.TCP.ClientCA)
		if err != nil {
			return fmt.Errorf("tcp: %w", err)
		}
		tl, err := net.Listen("tcp", cfg.TCP.Listen)
		if err != nil {
			return fmt.Errorf("tcp: %w", err)
		}
		d.onRelease(func() { tl.Close() }) // if it is never served
		d.tcpAddr = tl.Addr()
		d.servers = append(d.servers, d.newGRPC(limitedTLS(credentials.NewTLS(tlsCfg), d.pol)))
		d.listeners = append(d.listeners, pool.Listen(tl, tcpPeer))
	}
	if cfg.Metrics.Listen != "" {
		ml, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", d.metrics.Handler())
		d.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		d.metricsLis = ml
		d.onRelease(func() { ml.Close() }) // if it is never served
	}
	return nil
}

// serve starts what build made, in this order: the gRPC servers on their
// listeners, health SERVING, the engine's resumes of unfinished
// operations (after the listeners, so that clients can watch them; they
// hold their locks, so nothing conflicting starts meanwhile), the
// needs-attention gauge from the journal, then /metrics, then READY=1.
func (d *daemon) serve() error {
	for i, g := range d.servers {
		go func() { d.served <- g.Serve(d.listeners[i]) }()
	}
	if d.tcpAddr != nil {
		d.log.Info("serving mutual TLS", "addr", d.tcpAddr.String())
	}
	d.srv.SetServing(true)
	if err := d.eng.Start(); err != nil {
		d.stopAll()
		return err
	}
	d.srv.AuditResumes(d.guard)
	d.loadAttention()
	if d.metricsSrv != nil {
		// Served only now that the gauge is from the journal: a scrape
		// during the start waits in the listen queue instead of reading a
		// 0 that is not so.
		go func() { _ = d.metricsSrv.Serve(d.metricsLis) }()
		d.log.Info("serving metrics", "addr", d.metricsLis.Addr().String())
	}
	d.log.Info("volctld serving", "version", Version, "platform", d.backend.Name(), "socket", d.cfg.Socket, "db", d.cfg.DB)
	// systemd (Type=notify) starts what comes after volctld only now: the
	// socket answers and the unfinished operations have resumed.
	notify(d.log, sdnotify.SdNotifyReady)
	return nil
}

// loadAttention starts the gauge of operations that need attention from
// the journal, read after Start (which may set resumed operations aside);
// the engine's reports since are newer and win.
func (d *daemon) loadAttention() {
	holds, err := d.db.Holds() // the attention index, not the history
	if err != nil {
		d.log.Error("cannot count the operations that need attention for the metrics", "error", err)
		return
	}
	var ops []*store.Operation
	for _, h := range holds {
		if h.State == store.OpWaiting {
			continue // a rescue --shell waiting for its admin needs no attention
		}
		ops = append(ops, &store.Operation{ID: h.Op, State: store.OpNeedsAttention})
	}
	d.metrics.Journal(ops)
}

// shutdown waits for ctx to end (SIGINT, SIGTERM) and stops gracefully:
// STOPPING=1, health NOT_SERVING, running operations stop at their next
// step boundary (they resume at the next start) and are waited for, each
// gRPC server drains its calls (stopped after 10 s), /metrics closes. A
// server that fails stops everything at once instead, and its error is
// returned. The listeners, the socket, the registry and the journal go
// after, in release.
func (d *daemon) shutdown(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case err := <-d.served:
		notify(d.log, sdnotify.SdNotifyStopping)
		d.cancelOps()
		d.eng.Wait()
		d.stopAll()
		return err
	}
	d.log.Info("shutting down: running operations stop at their next step boundary", "running", d.eng.Running())
	notify(d.log, sdnotify.SdNotifyStopping)
	d.srv.SetServing(false)
	d.cancelOps()
	d.eng.Wait()
	for _, g := range d.servers {
		done := make(chan struct{})
		go func() { g.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			g.Stop()
		}
	}
	if d.metricsSrv != nil {
		_ = d.metricsSrv.Close()
	}
	// The listener removes its own socket (and nothing else) on close.
	return nil
}

// stopAll stops every gRPC server at once.
func (d *daemon) stopAll() {
	for _, g := range d.servers {
		g.Stop()
	}
}

// Package daemon is volctld: configuration, journal, backend, engine and the
// gRPC server wired together, with graceful shutdown. cmd/volctld calls Main.
package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sdnotify "github.com/coreos/go-systemd/v22/daemon"
	"github.com/hashicorp/go-hclog"

	"github.com/volctl/volctl/daemon/auth"
	"github.com/volctl/volctl/daemon/config"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/linuxtgt"
	"github.com/volctl/volctl/daemon/solaris"
)

// Version is set at build time (-ldflags -X).
var Version = "dev"

// Logger names, one block so they stay consistent.
const (
	logEngine = "engine"
	logServer = "server"
	logGRPC   = "grpc"
	logAuth   = "auth"
	logZones  = "zonehost"
	logPeers  = "peers"
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
	newJournal := fs.Bool("new-journal", false,
		"take an empty (0-byte) journal file as a new journal; a journal with data in it is never overwritten")
	checkConfig := fs.Bool("check-config", false,
		"check the configuration and this host (keys, values, command paths, socket and journal directories) and exit: 0 if ok, 1 with each problem on its own line")
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
	cfg, err := config.Decode(*cfgPath)
	if err == nil {
		if *socket != "" {
			cfg.Socket = *socket
		}
		if *db != "" {
			cfg.DB = *db
		}
		err = cfg.Check(*cfgPath)
	}
	if *checkConfig {
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintln(stdout, "configuration ok")
		return 0
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "volctld", Level: hclog.LevelFromString(*level), JSONFormat: *logJSON, Output: stderr})
	if err != nil {
		for _, problem := range strings.Split(err.Error(), "\n") {
			log.Error("bad configuration", "problem", problem)
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := RunWith(ctx, cfg, log, Options{NewJournal: *newJournal}); err != nil {
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
			Zoneadm: cfg.Commands.Zoneadm, Zonecfg: cfg.Commands.Zonecfg, Hostid: cfg.Commands.Hostid, Zlogin: cfg.Commands.Zlogin})
		b.ShutdownTimeout = cfg.ZoneShutdownTimeout.Duration
		b.LUOnlineTimeout = cfg.LUOnlineTimeout.Duration
		b.Initiators = cfg.Initiators
		b.ZvolDeviceDir = cfg.ZvolDeviceDir
		return b, nil
	case "linux-tgt":
		return linuxtgt.New(linuxtgt.Paths{Zfs: cfg.Commands.Zfs, Tgtadm: cfg.Commands.Tgtadm,
			TgtControlPort: cfg.Commands.TgtControlPort}), nil
	default:
		return nil, fmt.Errorf("platform %q is not supported by this volctld", cfg.Platform)
	}
}

// Options are what volctld's flags choose beyond the configuration.
type Options struct {
	// NewJournal takes an empty (0-byte) journal file as new.
	NewJournal bool
}

// fdReserve is how many file descriptors the connection limit keeps for
// everything else: a rollback's commands (three pipes and a process each),
// the journal, the listeners.
const fdReserve = 256

// maxRequest bounds one request message: every request is a few names and
// flags, so this leaves room for all of them while a 4 MiB name is refused
// before anything is decoded.
const maxRequest = 256 << 10

// Run serves until ctx ends, then shuts down gracefully: running operations
// stop at their next step boundary (they resume at the next start).
func Run(ctx context.Context, cfg config.Config, log hclog.Logger) error {
	return RunWith(ctx, cfg, log, Options{})
}

// RunWith is Run with the flags' options: build, serve, shut down (run.go).
// What build acquired is released in reverse, on every path (release).
func RunWith(ctx context.Context, cfg config.Config, log hclog.Logger, opts Options) error {
	d := &daemon{cfg: cfg, log: log}
	defer d.release()
	if err := d.build(opts); err != nil {
		return err
	}
	if err := d.serve(); err != nil {
		return err
	}
	return d.shutdown(ctx)
}

// notify tells the service manager (systemd's $NOTIFY_SOCKET) about the
// daemon's state; without $NOTIFY_SOCKET it does nothing. The variable is
// kept, for STOPPING=1 after READY=1.
func notify(log hclog.Logger, state string) {
	if _, err := sdnotify.SdNotify(false, state); err != nil {
		log.Warn("could not notify the service manager", "state", state, "error", err)
	}
}

// connectionLimit raises the descriptor limit to its hard limit and fits
// the connection limit under it, keeping fdReserve descriptors for the
// rollbacks' commands: a client load never makes a step fail with "too
// many open files".
func connectionLimit(want int, log hclog.Logger) int {
	nofile, err := raiseNofile()
	if err != nil {
		log.Warn("could not read or raise the file descriptor limit", "error", err)
		return want
	}
	if fit := int(nofile) - fdReserve; fit < want {
		if fit < 8 {
			fit = 8
		}
		log.Warn("max_connections lowered to fit the file descriptor limit", "max_connections", want, "now", fit, "nofile", nofile, "reserved", fdReserve)
		return fit
	}
	return want
}

func policy(r config.Roles) auth.Policy {
	return auth.Policy{OperatorUIDs: r.OperatorUIDs, OperatorGroups: r.OperatorGroups, OperatorSubjects: r.OperatorSubjects,
		ViewerUIDs: r.ViewerUIDs, ViewerGroups: r.ViewerGroups, ViewerSubjects: r.ViewerSubjects, PeerSubjects: r.PeerSubjects}
}

// listenUnix listens on the configured socket with its mode and group.
//
// The socket directory must be owned by root (or the daemon's euid, so that
// tests and unprivileged runs work) and writable by its owner only, and
// every directory above it must be safe too (config.CheckSocketDir): then
// nobody else can swap what is at the socket path. A missing directory is
// created (0755, owned by the daemon). At the path itself, only a socket is
// ever replaced: a symbolic link (dangling or not), a regular file (a
// misconfigured socket = <db>), a directory... are refused; a socket that
// answers is another daemon's and is refused too.
//
// The socket is never visible at its path with another mode or group than
// the final ones, and nothing is chmod-ed or chown-ed through a path anyone
// else could have changed: it is bound inside a private directory (0700,
// made in the socket directory, so on the same file system), chmod-ed and
// Lchown-ed there, then renamed into place, which atomically replaces a
// stale socket. The process umask is left alone (it is process-wide), and
// fchmod/fchown on the listener's fd would not do: on Linux they change the
// socket's sockfs inode, not the file at the path (fstat of the fd does not
// even report the path's inode). What identifies our socket is its
// device and inode as Lstat reported them in the private directory; rename
// keeps them, so after the rename, and before removing the socket at close,
// the path is checked to be still that file.
func listenUnix(cfg config.Config) (net.Listener, error) {
	mode, err := cfg.Mode()
	if err != nil {
		return nil, err
	}
	path := cfg.Socket
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("socket %q is not an absolute path", path)
	}
	path = filepath.Clean(path)
	dir := filepath.Dir(path)
	exists, err := config.CheckSocketDir(dir)
	if err != nil {
		return nil, err
	}
	if !exists {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("socket directory: %w", err)
		}
		if _, err := config.CheckSocketDir(dir); err != nil {
			return nil, err
		}
	}
	gid := -1
	if cfg.SocketGroup != "" {
		g, err := user.LookupGroup(cfg.SocketGroup)
		if err != nil {
			return nil, fmt.Errorf("socket_group: %w", err)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return nil, fmt.Errorf("socket_group %s: gid %q: %w", cfg.SocketGroup, g.Gid, err)
		}
	}
	if err := checkSocketFree(path); err != nil {
		return nil, err
	}
	private, err := os.MkdirTemp(dir, ".v")
	if err != nil {
		return nil, fmt.Errorf("socket: private directory: %w", err)
	}
	defer os.RemoveAll(private)
	tmp := filepath.Join(private, "s")
	lis, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s (bound first as %s): %w", path, tmp, err)
	}
	// The file is renamed away: closing must not unlink by the old name.
	lis.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		lis.Close()
		return nil, err
	}
	id, err := socketID(tmp)
	if err != nil {
		return fail(err)
	}
	if gid >= 0 {
		if err := os.Lchown(tmp, -1, gid); err != nil {
			return fail(fmt.Errorf("chown socket: %w", err))
		}
	}
	// Chmod follows a symbolic link, but only we can write in private.
	if err := os.Chmod(tmp, os.FileMode(mode)); err != nil {
		return fail(fmt.Errorf("chmod socket: %w", err))
	}
	// Checked again right before the rename: a stale socket is replaced,
	// anything else that appeared meanwhile is not.
	if err := checkSocketFree(path); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(fmt.Errorf("socket: move into place: %w", err))
	}
	if got, err := socketID(path); err != nil || got != id {
		return fail(fmt.Errorf("socket %s: not the socket just bound after moving it into place (%v)", path, err))
	}
	return &unixListener{UnixListener: lis, path: path, id: id}, nil
}

// checkSocketFree refuses anything at path but a stale socket.
func checkSocketFree(path string) error {
	exists, err := config.CheckSocketPath(path)
	if err != nil || !exists {
		return err
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	switch {
	case err == nil:
		c.Close()
		return fmt.Errorf("socket %s: another volctld is listening", path)
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, fs.ErrNotExist):
		return nil // stale: replaced by the rename
	default:
		return fmt.Errorf("socket %s: cannot tell whether another daemon is listening: %w", path, err)
	}
}

// fileID is a file's identity: device and inode.
type fileID struct{ dev, ino uint64 }

// socketID is the identity of the socket at path (not followed).
func socketID(path string) (fileID, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return fileID{}, fmt.Errorf("socket: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || fi.Mode().Type() != fs.ModeSocket {
		return fileID{}, fmt.Errorf("socket %s: not a socket (%v)", path, fi.Mode())
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, nil
}

// unixListener removes its socket on Close, only if the path is still the
// socket it bound.
type unixListener struct {
	*net.UnixListener
	path string
	id   fileID
	once sync.Once
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if got, idErr := socketID(l.path); idErr == nil && got == l.id {
			_ = os.Remove(l.path)
		}
	})
	return err
}

package daemon_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	volctld "github.com/volctl/volctl/daemon"
	"github.com/volctl/volctl/daemon/config"
	"github.com/volctl/volctl/store"
)

// TestFailedStartReleasesEverything: a start refused after the socket is
// bound (a TCP or metrics address taken, TLS files missing) releases, by
// the time Run returns, everything the start took: the socket, the TCP
// listener, the registry of running commands and the journal's lock; a
// start after it serves and stops cleanly.
func TestFailedStartReleasesEverything(t *testing.T) {
	dir := t.TempDir()
	ca := newPKI(t, dir, "start")
	srvCert, srvKey := ca.issue(t, "volctld", true)
	tests := []struct {
		name string
		// setup changes cfg and returns what it holds (closed after).
		setup func(t *testing.T, cfg *config.Config) net.Listener
		want  string
	}{
		{"metrics address taken", func(t *testing.T, cfg *config.Config) net.Listener {
			l := listenTCP(t)
			cfg.Metrics.Listen = l.Addr().String()
			return l
		}, "metrics: listen tcp"},
		{"tcp address taken", func(t *testing.T, cfg *config.Config) net.Listener {
			l := listenTCP(t)
			cfg.TCP.Listen = l.Addr().String()
			return l
		}, "tcp: listen tcp"},
		{"tcp certificate missing", func(t *testing.T, cfg *config.Config) net.Listener {
			cfg.TCP.Cert = filepath.Join(dir, "missing.pem")
			return nil
		}, "tcp: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sockDir, err := os.MkdirTemp("", "vf")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(sockDir) })
			cfg := config.Default()
			cfg.Socket = filepath.Join(sockDir, "s")
			cfg.DB = filepath.Join(t.TempDir(), "journal.db")
			for _, p := range []*string{&cfg.Commands.Zfs, &cfg.Commands.Zpool, &cfg.Commands.Stmfadm, &cfg.Commands.Zoneadm, &cfg.Commands.Zonecfg} {
				*p = "/nonexistent/" + filepath.Base(*p) // nothing runs but a probe
			}
			tcpAddr := freePort(t)
			cfg.TCP.Listen, cfg.TCP.Cert, cfg.TCP.Key, cfg.TCP.ClientCA = tcpAddr, srvCert, srvKey, filepath.Join(dir, "start-ca.pem")
			held := tc.setup(t, &cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = volctld.Run(ctx, cfg, hclog.NewNullLogger())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error with %q", err, tc.want)
			}
			if held != nil {
				held.Close()
			}
			if _, err := os.Lstat(cfg.Socket); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("socket left after the failed start: %v", err)
			}
			if _, err := os.Lstat(cfg.CommandsDir()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("registry of running commands left after the failed start: %v", err)
			}
			if cfg.TCP.Listen == tcpAddr {
				l, err := net.Listen("tcp", tcpAddr)
				if err != nil {
					t.Errorf("the TCP address is still taken after the failed start: %v", err)
				} else {
					l.Close()
				}
			}
			db, err := store.Open(cfg.DB, 100*time.Millisecond)
			if err != nil {
				t.Fatalf("journal still locked after the failed start: %v", err)
			}
			db.Close()

			// The same host starts and stops.
			cfg.Metrics.Listen = ""
			cfg.TCP = config.Default().TCP
			ctx2, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- volctld.Run(ctx2, cfg, hclog.NewNullLogger()) }()
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if c, err := net.Dial("unix", cfg.Socket); err == nil {
					c.Close()
					break
				}
				if time.Now().After(deadline) {
					stop()
					t.Fatalf("no start after the failed one: %v", <-done)
				}
			}
			stop()
			if err := <-done; err != nil {
				t.Errorf("Run after the failed start: %v", err)
			}
			if _, err := os.Lstat(cfg.Socket); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("socket left after shutdown: %v", err)
			}
		})
	}
}

func listenTCP(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

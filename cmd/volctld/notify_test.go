package main

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/volctl/volctl/daemon"
	"github.com/volctl/volctl/daemon/config"
)

// TestNotify is systemd's side of Type=notify: volctld sends READY=1 on
// $NOTIFY_SOCKET once its socket accepts, and STOPPING=1 when it is told to
// stop, before it is gone.
func TestNotify(t *testing.T) {
	dir := shortDir(t, 0o700)
	notifyPath := filepath.Join(dir, "notify")
	notifySock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notifySock.Close()
	t.Setenv("NOTIFY_SOCKET", notifyPath)
	messages := make(chan string, 4)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := notifySock.Read(buf)
			if err != nil {
				close(messages)
				return
			}
			messages <- string(buf[:n])
		}
	}()

	cfg := config.Default()
	cfg.Socket = filepath.Join(dir, "s")
	cfg.DB = filepath.Join(t.TempDir(), "journal.db")
	for _, p := range []*string{&cfg.Commands.Zfs, &cfg.Commands.Zpool, &cfg.Commands.Stmfadm, &cfg.Commands.Zoneadm, &cfg.Commands.Zonecfg} {
		*p = "/nonexistent/" + filepath.Base(*p) // nothing runs but a probe
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- daemon.Run(ctx, cfg, hclog.NewNullLogger()) }()

	select {
	case msg := <-messages:
		if msg != "READY=1" {
			t.Fatalf("first notification %q, want READY=1", msg)
		}
	case err := <-done:
		t.Fatalf("Run = %v before READY=1", err)
	case <-time.After(20 * time.Second):
		t.Fatal("no READY=1")
	}
	// Ready means serving: the socket accepts now, not only soon.
	c, err := net.Dial("unix", cfg.Socket)
	if err != nil {
		t.Fatalf("READY=1 but the socket does not accept: %v", err)
	}
	c.Close()

	cancel()
	select {
	case msg := <-messages:
		if msg != "STOPPING=1" {
			t.Errorf("notification after cancel %q, want STOPPING=1", msg)
		}
	case <-time.After(20 * time.Second):
		t.Error("no STOPPING=1")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("volctld did not stop")
	}
	select {
	case msg, ok := <-messages:
		if ok {
			t.Errorf("notification after STOPPING=1: %q", msg)
		}
	default:
	}
}

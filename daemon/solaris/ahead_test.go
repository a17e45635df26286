package solaris_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// TestWindowResultAheadOfReads holds the journal's write of the outage
// window's result (daemon/engine/ahead.go) until the reads after the
// window have run (restore-views, resize-lu and verify only read here,
// and attach-zones reads the zone's state first), and half a second
// more: the reads must not wait for it, and nothing that changes
// something (the zone's attach) may start before it has ended.
func TestWindowResultAheadOfReads(t *testing.T) {
	root := simtest.Host(t)
	b := newBackend(root)
	after := map[string]bool{"restore-views": true, "resize-lu": true, "verify": true, "attach-zones": true}
	var (
		mu       sync.Mutex
		holding  bool
		reads    []string
		changes  []string
		released time.Time
	)
	release := make(chan struct{})
	var once sync.Once
	fault := func(op *store.Operation) error {
		if op.State != store.OpRunning || !op.OutageEnd.After(op.OutageStart) {
			return nil
		}
		first := false
		once.Do(func() { first = true })
		if !first {
			return nil
		}
		mu.Lock()
		holding = true
		mu.Unlock()
		select {
		case <-release:
		case <-time.After(20 * time.Second):
			t.Error("the reads after the window did not run while the journal wrote the window's result")
		}
		mu.Lock()
		holding, released = false, time.Now()
		mu.Unlock()
		return nil
	}
	e, db := newEngine(t, root, engine.Config{JournalFault: fault})
	before := db.Writes()
	op, err := e.Rollback(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1"}, func(ev engine.Event) {
		c := ev.CommandStarted
		if c == nil || !after[ev.Step] {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !holding {
			return
		}
		what := ev.Step + ": " + strings.Join(c.Argv, " ")
		if !b.ReadOnly(c.Argv) {
			changes = append(changes, what)
			return
		}
		reads = append(reads, what)
		if ev.Step == "attach-zones" {
			// The zone's state is read; its attach would follow at once
			// if it did not wait: give it the time to show.
			time.AfterFunc(500*time.Millisecond, func() { close(release) })
		}
	})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("rollback: %v", err)
	}
	if len(reads) < 5 {
		t.Errorf("reads while the window's result was written: %q, want restore-views', resize-lu's, verify's and attach-zones' first", reads)
	}
	if len(changes) > 0 {
		t.Errorf("commands that change something started while the window's result was written: %q", changes)
	}
	attached := false
	for _, st := range op.Steps {
		for _, c := range st.Commands {
			if !b.ReadOnly(c.Argv) && after[st.Name] {
				attached = attached || strings.Contains(strings.Join(c.Argv, " "), "attach")
				if !c.Started.After(released) {
					t.Errorf("%s: %s started at %s, before the window's result was written (%s)", st.Name, strings.Join(c.Argv, " "), c.Started, released)
				}
			}
		}
	}
	if !attached {
		t.Errorf("no attach after the window: %v", op.Steps)
	}
	if w := db.Writes().Sub(before); w.Commits != 3 {
		t.Errorf("the rollback wrote the journal %d times, want 3", w.Commits)
	}
}

// TestReadOnly: the commands the engine lets run ahead of the journal are
// listings and property reads only.
func TestReadOnly(t *testing.T) {
	b := newBackend(simtest.Host(t))
	p := b.Paths
	for _, tc := range []struct {
		argv []string
		want bool
	}{
		{[]string{p.Zfs, "list", "-H", "pool/idisk0"}, true},
		{[]string{p.Zfs, "get", "-H", "volsize", "pool/idisk0"}, true},
		{[]string{p.Zfs, "rollback", "pool/idisk0@snap1"}, false},
		{[]string{p.Zfs, "set", "volsize=1G", "pool/idisk0"}, false},
		{[]string{p.Zpool, "history", "pool"}, true},
		{[]string{p.Stmfadm, "list-lu", "-v"}, true},
		{[]string{p.Stmfadm, "list-view", "-l", sim.SeedGUID0}, true},
		{[]string{p.Stmfadm, "add-view", sim.SeedGUID0}, false},
		{[]string{p.Stmfadm, "modify-lu", "-s", "1G", sim.SeedGUID0}, false},
		{[]string{p.Zoneadm, "list", "-cp"}, true},
		{[]string{p.Zoneadm, "-z", "kz1", "list", "-p"}, true},
		{[]string{p.Zoneadm, "-z", "kz1", "attach"}, false},
		{[]string{p.Zoneadm, "-z", "list", "boot"}, false},
		{[]string{p.Zonecfg, "-z", "kz1", "info"}, true},
		{[]string{p.Zonecfg, "-z", "kz1", "set", "autoboot=true"}, false},
		{[]string{"/usr/bin/zlogin", "kz1", p.Zpool, "list"}, false},
		{[]string{"/usr/sbin/zfs", "list"}, p.Zfs == "/usr/sbin/zfs"},
		{[]string{p.Zfs}, false},
	} {
		if got := b.ReadOnly(tc.argv); got != tc.want {
			t.Errorf("ReadOnly(%q) = %v, want %v", tc.argv, got, tc.want)
		}
	}
}

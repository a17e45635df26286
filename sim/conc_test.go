package sim

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// concLatency is long enough that two commands that serialise take at
// least twice it, and two that do not take well under twice it even on a
// loaded machine.
const concLatency = 200 * time.Millisecond

// together runs two commands in-process at once on root and returns how
// long the pair took.
func together(t *testing.T, root string, a, b []string) time.Duration {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, argv := range [][]string{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			full := append([]string{CommandPath(root, argv[0])}, argv[1:]...)
			Main(full, nil, &bytes.Buffer{}, &bytes.Buffer{})
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	return time.Since(t0)
}

// TestConcurrencyModel: under the host model two commands that hold the
// same lock on the real host (the same LU, zone, group table or the pool
// namespace) run one after the other, two that do not run side by
// side; the global model serialises everything, the state model nothing.
func TestConcurrencyModel(t *testing.T) {
	zfs := func(a ...string) []string { return append([]string{"zfs"}, a...) }
	stmf := func(a ...string) []string { return append([]string{"stmfadm"}, a...) }
	tests := []struct {
		name   string
		model  string
		a, b   []string
		serial bool
	}{
		{"views of one LU", ConcurrencyHost, stmf("add-view", "-n", "20", guid0), stmf("add-view", "-n", "21", guid0), true},
		{"delete-lu and add-view of one LU", ConcurrencyHost, stmf("delete-lu", "-k", guid0), stmf("add-view", "-n", "21", guid0), true},
		{"one zone", ConcurrencyHost, []string{"zoneadm", "-z", "kz1", "boot"}, []string{"zoneadm", "-z", "kz1", "halt"}, true},
		{"host groups", ConcurrencyHost, stmf("create-hg", "hg-x"), stmf("create-hg", "hg-y"), true},
		{"two pool imports", ConcurrencyHost, []string{"zpool", "import", "nosuch1"}, []string{"zpool", "import", "nosuch2"}, true},
		{"snapshots of one dataset", ConcurrencyHost, zfs("snapshot", "pool/idisk0@a"), zfs("snapshot", "pool/idisk0@b"), false},
		{"rollback and snapshot of one dataset", ConcurrencyHost, zfs("rollback", "pool/idisk0@snap1"), zfs("snapshot", "pool/idisk0@b"), false},
		{"views of two LUs", ConcurrencyHost, stmf("add-view", "-n", "20", guid0), stmf("add-view", "-n", "21", guid1), false},
		{"delete-lu and import-lu of two LUs", ConcurrencyHost, stmf("delete-lu", "-k", guid0), stmf("import-lu", "/dev/zvol/rdsk/pool/idisk1"), false},
		{"a list beside a rollback", ConcurrencyHost, zfs("list"), zfs("rollback", "pool/idisk0@snap1"), false},
		{"two lists", ConcurrencyHost, stmf("list-lu", "-v"), stmf("list-view", "-l", guid0), false},
		{"zoneadm list beside a zone's boot", ConcurrencyHost, []string{"zoneadm", "list", "-cp"}, []string{"zoneadm", "-z", "kz1", "boot"}, false},
		{"global: two lists", ConcurrencyGlobal, stmf("list-lu"), zfs("list"), true},
		{"state: views of one LU", ConcurrencyState, stmf("add-view", "-n", "20", guid0), stmf("add-view", "-n", "21", guid0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := seeded(t)
			if err := SetLatency(root, concLatency); err != nil {
				t.Fatal(err)
			}
			if err := SetConcurrency(root, tt.model); err != nil {
				t.Fatal(err)
			}
			took := together(t, root, tt.a, tt.b)
			if tt.serial && took < 2*concLatency {
				t.Errorf("%q and %q took %v together: want them one after the other (≥ %v)", tt.a, tt.b, took, 2*concLatency)
			}
			if !tt.serial && took >= 2*concLatency {
				t.Errorf("%q and %q took %v together: want them side by side (< %v)", tt.a, tt.b, took, 2*concLatency)
			}
		})
	}
}

// TestConcurrencyAcrossProcesses: the locks hold between processes (the
// daemon runs each command as one), not only between goroutines.
func TestConcurrencyAcrossProcesses(t *testing.T) {
	const procLatency = 500 * time.Millisecond
	h := newSimHost(t)
	if err := SetLatency(h.root, procLatency); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		a, b   []string
		serial bool
	}{
		{[]string{"-n", "20", guid0}, []string{"-n", "21", guid0}, true},
		{[]string{"-n", "22", guid0}, []string{"-n", "23", guid1}, false},
	} {
		var wg sync.WaitGroup
		for _, args := range [][]string{tc.a, tc.b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				argv := append([]string{"stmfadm", "add-view"}, args...)
				// The second view of a pair is refused (the same host
				// and target group): its latency runs all the same.
				if _, err := h.exec(context.Background(), argv...); err != nil {
					t.Errorf("%q: %v", argv, err)
				}
			}()
		}
		wg.Wait()
		// Process starts may be far apart on a loaded machine, so judge
		// by when the two ended (calls.log): one that waited for the
		// other ends at least its latency after it; two side by side end
		// within their start skew.
		calls, err := Calls(h.root)
		if err != nil || len(calls) < 2 {
			t.Fatalf("calls: %v %v", calls, err)
		}
		c1, c2 := calls[len(calls)-2], calls[len(calls)-1]
		gap := c2.End.Sub(c1.End)
		if gap < 0 {
			gap = -gap
		}
		if tc.serial != (gap >= procLatency) {
			t.Errorf("add-view %q and %q ended %v apart; serial = %v", tc.a, tc.b, gap, tc.serial)
		}
	}
}

// TestCommandLocks: which locks a command names under the host model.
func TestCommandLocks(t *testing.T) {
	tests := []struct {
		argv string
		want []string
	}{
		{"zfs list -H -p -t all", nil},
		{"zfs get -Hp -o value volsize pool/idisk0", nil},
		{"zfs create -V 1G -o volblocksize=8k pool/new", nil},
		{"zfs rollback -r pool/idisk0@snap1", nil},
		{"zfs destroy pool/idisk0@a", nil},
		{"zpool import", nil},
		{"zpool import -d /dev/zvol/dsk/pool rpool", []string{"zfs-spa-namespace"}},
		{"zpool export rpool", []string{"zfs-spa-namespace"}},
		{"zpool history pool", nil},
		{"stmfadm list-lu -v", nil},
		{"stmfadm delete-lu -k " + lc0 + " " + guid1, []string{"stmf-lu:" + guid0, "stmf-lu:" + guid1}},
		{"stmfadm import-lu /dev/zvol/rdsk/pool/idisk0", []string{"stmf-lu-file:/dev/zvol/rdsk/pool/idisk0"}},
		{"stmfadm create-lu -p guid=" + lc0 + " /dev/zvol/rdsk/pool/idisk0", []string{"stmf-lu-file:/dev/zvol/rdsk/pool/idisk0"}},
		{"stmfadm add-view -h hg-kz -t tg-a -n 0 " + guid0, []string{"stmf-lu:" + guid0}},
		{"stmfadm remove-view -a -l " + lc0, []string{"stmf-lu:" + guid0}},
		{"stmfadm --lu-name=" + lc0 + " remove-view -a", nil}, // refused: the subcommand comes first
		{"stmfadm add-hg-member -g hg-kz iqn.x", []string{"stmf-host-groups"}},
		{"stmfadm delete-tg tg-a", []string{"stmf-target-groups"}},
		{"zoneadm list -cp", nil},
		{"zoneadm -z kz1 attach -x initialize-hostdata", []string{"zone:kz1"}},
		{"zoneadm -z kz1 list -p", nil},
		{"zonecfg -z kz1 info", nil},
		{"zonecfg -z kz1 export", nil},
		{"zonecfg -z kz1 add device", []string{"zone:kz1"}},
		{"hostid", nil},
	}
	for _, tt := range tests {
		got := commandLocks(ConcurrencyHost, strings.Fields(tt.argv))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: locks %q, want %q", tt.argv, got, tt.want)
		}
	}
	if got := commandLocks(ConcurrencyGlobal, []string{"zfs", "list"}); !slices.Equal(got, []string{"host"}) {
		t.Errorf("global: %q", got)
	}
	if got := commandLocks(ConcurrencyState, []string{"zfs", "snapshot", "pool/a@b"}); got != nil {
		t.Errorf("state: %q", got)
	}
}

// TestConcurrencySetting: the model is stored in the state, host unless
// set, and a benchmark can read it back.
func TestConcurrencySetting(t *testing.T) {
	root := seeded(t)
	for _, m := range []string{"", ConcurrencyGlobal, ConcurrencyState, ConcurrencyHost} {
		if m != "" {
			if err := SetConcurrency(root, m); err != nil {
				t.Fatal(err)
			}
		}
		got, err := ConcurrencyModel(root)
		want := m
		if m == "" {
			want = ConcurrencyHost
		}
		if err != nil || got != want {
			t.Errorf("after %q: model %q, %v; want %q", m, got, err, want)
		}
	}
	if err := SetConcurrency(root, "bogus"); err == nil {
		t.Error("SetConcurrency(bogus) succeeded")
	}
	var o, e bytes.Buffer
	if code := manage([]string{"concurrency", root}, &o, &e); code != 0 || o.String() != ConcurrencyHost+"\n" {
		t.Errorf("volctl-sim concurrency ROOT: exit %d, %q %q", code, o.String(), e.String())
	}
	if code := manage([]string{"concurrency", root, ConcurrencyGlobal}, &o, &e); code != 0 || load(t, root).Concurrency != ConcurrencyGlobal {
		t.Errorf("volctl-sim concurrency ROOT global: exit %d, %q", code, e.String())
	}
}

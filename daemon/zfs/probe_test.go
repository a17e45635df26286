package zfs

import (
	"context"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// platformZfs answers the probe's commands as each platform's zfs does
// (docs/platform/zfs.md §1).
type platformZfs struct {
	written, listP bool
	snapVolsize    string // "" = no volume at all
	// many: zfs snapshot takes several operands (illumos, OpenZFS);
	// false answers "too many arguments" (Solaris). manyStderr, when set,
	// is what it answers instead (a zfs the probe does not know).
	many       bool
	manyStderr string
}

func (p platformZfs) run(_ context.Context, argv []string) (*execx.Result, error) {
	a := strings.Join(argv[1:], " ")
	r := &execx.Result{Argv: argv}
	fail := func(exit int, stderr string) (*execx.Result, error) {
		r.Exit, r.Stderr = exit, []byte(stderr)
		return r, &execx.Error{R: r}
	}
	switch {
	case a == "list -H -o name":
		r.Stdout = []byte("pool\npool/data\n")
	case strings.HasPrefix(a, "get -H -p -o property,value written"):
		if !p.written {
			return fail(2, "bad property list: invalid property 'written'\nFor more info, run: zfs help get\n")
		}
		r.Stdout = []byte("written\t0\n")
	case strings.HasPrefix(a, "list -H -p"):
		if !p.listP {
			return fail(2, "invalid option 'p'\nusage:\n\tlist [-rH] ...\nFor more info, run: zfs help list\n")
		}
		r.Stdout = []byte("pool\n")
	case a == "list -H -o name -t volume":
		if p.snapVolsize == "" {
			return r, nil
		}
		r.Stdout = []byte("pool/idisk0\n")
	case strings.HasPrefix(a, "list -H -o name -t snapshot"):
		r.Stdout = []byte("pool/idisk0@snap1\n")
	case strings.HasPrefix(a, "get -H -p -o value volsize"):
		r.Stdout = []byte(p.snapVolsize + "\n")
	case a == "snapshot volctl-probe-nopool/a@volctl-probe volctl-probe-nopool/b@volctl-probe":
		switch {
		case p.manyStderr != "":
			return fail(1, p.manyStderr)
		case p.many:
			return fail(2, "cannot open 'volctl-probe-nopool/a': dataset does not exist\nusage:\n\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...\n")
		}
		return fail(2, "too many arguments\nusage:\n\tsnapshot [-r] [-o property=value] ... <filesystem@snapname|volume@snapname>\n")
	default:
		return fail(2, "unexpected "+a)
	}
	return r, nil
}

func TestProbePerPlatform(t *testing.T) {
	for _, tc := range []struct {
		name                         string
		zfs                          platformZfs
		listP, written, volsiz, many bool
	}{
		{"Solaris 11.4", platformZfs{listP: true, snapVolsize: "-"}, true, false, false, false},
		{"Solaris 11.0-11.2", platformZfs{snapVolsize: "-"}, false, false, false, false},
		{"illumos", platformZfs{listP: true, written: true, snapVolsize: "-", many: true}, true, true, false, true},
		{"OpenZFS", platformZfs{listP: true, written: true, snapVolsize: "1073741824", many: true}, true, true, true, true},
		{"zfs-fuse", platformZfs{}, false, false, false, false},
		// An answer the probe does not know is not "supported".
		{"unknown answer", platformZfs{listP: true, snapVolsize: "-", manyStderr: "internal error: Not owner\n"}, true, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Cmd{Path: "/usr/sbin/zfs", Run: tc.zfs.run}.Probe(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			caps := f.Capabilities()
			if caps.Has(store.CapZfsListP) != tc.listP || caps.Has(store.CapWritten) != tc.written || caps.Has(store.CapSnapshotVolsize) != tc.volsiz ||
				caps.Has(store.CapSnapshotMany) != tc.many {
				t.Errorf("capabilities %+v", caps)
			}
			for _, c := range caps {
				if c.Detail == "" {
					t.Errorf("%s: no detail", c.Name)
				}
			}
		})
	}
}

// A zfs that fails for another reason is an error, never "feature missing".
func TestProbeErrorIsNotAMissingFeature(t *testing.T) {
	run := func(_ context.Context, argv []string) (*execx.Result, error) {
		r := &execx.Result{Argv: argv, Exit: 1, Stderr: []byte("internal error: out of memory\n")}
		if strings.Join(argv[1:], " ") == "list -H -o name" {
			r.Exit, r.Stdout = 0, []byte("pool\n")
			return r, nil
		}
		return r, &execx.Error{R: r}
	}
	if _, err := (Cmd{Path: "/usr/sbin/zfs", Run: run}).Probe(context.Background()); err == nil {
		t.Fatal("accepted")
	}
}

// TestClassifySnapshotMany: the probe's answers, as each platform gives
// them (docs/platform/zfs-snapshot.md); anything else is not "supported".
func TestClassifySnapshotMany(t *testing.T) {
	argv := Cmd{Path: "zfs"}.SnapshotManyProbeArgv()
	answer := func(exit int, stderr string, runErr error) (*execx.Result, error) {
		r := &execx.Result{Argv: argv, Exit: exit, Stderr: []byte(stderr), Err: runErr}
		if exit == 0 && runErr == nil {
			return r, nil
		}
		return r, &execx.Error{R: r}
	}
	for _, tc := range []struct {
		name     string
		exit     int
		stderr   string
		runErr   error
		want     bool
		inDetail string
	}{
		{"Solaris: too many arguments", 2, "too many arguments\nusage:\n\tsnapshot [-r] [-o property=value] ... <filesystem@snapname|volume@snapname>\n", nil, false, "too many arguments"},
		{"illumos: cannot open the first", 2, "cannot open 'volctl-probe-nopool/a': dataset does not exist\nusage:\n", nil, true, "cannot open 'volctl-probe-nopool/a'"},
		{"OpenZFS: no such pool", 1, "cannot open 'volctl-probe-nopool/a': no such pool\n", nil, true, "no such pool"},
		{"cannot open something else", 1, "cannot open 'pool': permission denied\n", nil, false, "not understood"},
		{"usage alone", 2, "usage:\n\tsnapshot ...\n", nil, false, "not understood"},
		{"killed at its deadline", -1, "", execx.ErrTimeout, false, "timed out"},
		{"exit 0", 0, "", nil, false, "exited 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, detail := ClassifySnapshotMany(answer(tc.exit, tc.stderr, tc.runErr))
			if ok != tc.want || !strings.Contains(detail, tc.inDetail) || !strings.Contains(detail, "zfs snapshot volctl-probe-nopool/a@volctl-probe") {
				t.Errorf("got %v %q, want %v and %q in the detail", ok, detail, tc.want, tc.inDetail)
			}
		})
	}
}

// TestProbeSnapshotManyNeverInAnExistingPool: where a pool of the probe's
// name exists, the probe runs no zfs snapshot at all.
func TestProbeSnapshotManyNeverInAnExistingPool(t *testing.T) {
	var ran []string
	run := func(_ context.Context, argv []string) (*execx.Result, error) {
		a := strings.Join(argv[1:], " ")
		ran = append(ran, a)
		r := &execx.Result{Argv: argv}
		switch {
		case a == "list -H -o name":
			r.Stdout = []byte("pool\nvolctl-probe-nopool\nvolctl-probe-nopool/a\n")
		case strings.HasPrefix(a, "snapshot"):
			t.Errorf("ran %s in an existing pool", a)
		}
		return r, nil
	}
	f, err := Cmd{Path: "/usr/sbin/zfs", Run: run}.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.SnapshotMany || !strings.Contains(f.Detail["snapshot-many"], "not probed: a pool named volctl-probe-nopool exists") {
		t.Errorf("many %v, detail %q", f.SnapshotMany, f.Detail["snapshot-many"])
	}
}

package zfs

import (
	"context"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// platformZfs answers the probe's commands as each platform's zfs does
// (spec/platform-matrix.md §1).
type platformZfs struct {
	written, listP bool
	snapVolsize    string // "" = no volume at all
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
	default:
		return fail(2, "unexpected "+a)
	}
	return r, nil
}

func TestProbePerPlatform(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		zfs                    platformZfs
		listP, written, volsiz bool
	}{
		{"Solaris 11.4", platformZfs{listP: true, snapVolsize: "-"}, true, false, false},
		{"Solaris 11.0-11.2", platformZfs{snapVolsize: "-"}, false, false, false},
		{"illumos", platformZfs{listP: true, written: true, snapVolsize: "-"}, true, true, false},
		{"OpenZFS", platformZfs{listP: true, written: true, snapVolsize: "1073741824"}, true, true, true},
		{"zfs-fuse", platformZfs{}, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Cmd{Path: "/usr/sbin/zfs", Run: tc.zfs.run}.Probe(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			caps := f.Capabilities()
			if caps.Has(store.CapZfsListP) != tc.listP || caps.Has(store.CapWritten) != tc.written || caps.Has(store.CapSnapshotVolsize) != tc.volsiz {
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

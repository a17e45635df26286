package zfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/internal/zfsname"
)

// What a group of snapshots needs of zfs where the platforms differ
// (docs/platform/zfs-snapshot.md): whether one `zfs snapshot A@S B@S`
// takes several (illumos, OpenZFS: yes, atomically; Oracle Solaris: "too
// many arguments"), and, where it does not, `zfs snapshot -r DS@S` (atomic
// on every platform) and the listings that decide whether it fits.

// ProbePool is the pool the snapshot probe names. It is a valid pool name
// (so that every zfs gets past its name checks to the code that counts
// operands and opens them) that no admin would give a pool; the probe is
// not run if a pool of that name exists.
const ProbePool = "volctl-probe-nopool"

// probeSnapshots are the probe's two operands, in ProbePool.
var probeSnapshots = []string{ProbePool + "/a@volctl-probe", ProbePool + "/b@volctl-probe"}

// probeCommand starts the probe's detail.
var probeCommand = "zfs snapshot " + strings.Join(probeSnapshots, " ")

// SnapshotManyAnswer is what zfs answered the probe, from its detail (the
// detail without the command line).
func SnapshotManyAnswer(detail string) string { return strings.TrimPrefix(detail, probeCommand+": ") }

// SnapshotManyProbeArgv is the probe: two snapshots in a pool that does not
// exist. It changes nothing whatever the answer: Solaris refuses the second
// operand before opening any (S11.0 zfs_main.c zfs_do_snapshot), illumos and
// OpenZFS open every operand before they create anything, and the first
// cannot be opened.
func (z Cmd) SnapshotManyProbeArgv() []string {
	return append([]string{z.Path, "snapshot"}, probeSnapshots...)
}

// probeSnapshotMany asks whether one zfs snapshot command takes several
// snapshots. datasets is what `zfs list -H -o name` printed: the probe is
// not run when ProbePool is among them. It never fails: an answer it cannot
// place is "not supported", with what zfs printed in the detail.
func (z Cmd) probeSnapshotMany(ctx context.Context, datasets []byte) (bool, string) {
	for _, l := range strings.Split(string(datasets), "\n") {
		if l = strings.TrimSpace(l); l == ProbePool || strings.HasPrefix(l, ProbePool+"/") {
			return false, fmt.Sprintf("not probed: a pool named %s exists, and the probe would name datasets in it; taken as missing", ProbePool)
		}
	}
	argv := z.SnapshotManyProbeArgv()
	res, err := z.Run(ctx, argv)
	return ClassifySnapshotMany(res, err)
}

// ClassifySnapshotMany reads the probe's answer: "too many arguments" is a
// zfs that takes one snapshot per command; "cannot open '<first operand's
// dataset>'" one that took both operands and looked for the first. Anything
// else is not known to take several, so it is taken as missing (fail
// closed), and the detail quotes it.
func ClassifySnapshotMany(res *execx.Result, err error) (bool, string) {
	cmd := probeCommand
	var stderr []byte
	exit := 0
	if res != nil {
		stderr, exit = res.Stderr, res.Exit
	}
	var xe *execx.Error
	if errors.As(err, &xe) {
		stderr, exit = xe.R.Stderr, xe.R.Exit
	}
	first := firstLine(stderr)
	open := "cannot open '" + strings.SplitN(probeSnapshots[0], "@", 2)[0] + "'"
	switch {
	case err == nil:
		return false, fmt.Sprintf("%s: exited 0 in a pool that was not there; answer not understood, taken as missing", cmd)
	case bytes.Contains(stderr, []byte("too many arguments")):
		return false, fmt.Sprintf("%s: %s (one snapshot per command)", cmd, first)
	case bytes.Contains(stderr, []byte(open)):
		return true, fmt.Sprintf("%s: %s (both operands taken)", cmd, first)
	case xe == nil || xe.R.Err != nil:
		return false, fmt.Sprintf("%s: %v; taken as missing", cmd, err)
	default:
		return false, fmt.Sprintf("%s: exit %d: %q: answer not understood, taken as missing", cmd, exit, first)
	}
}

// DescendantsArgv lists ds and every filesystem and volume below it. The
// type names are spelled out: illumos and OpenZFS refuse the fs/vol aliases
// (docs/platform/zfs.md §1, §5.2).
func (z Cmd) DescendantsArgv(ds string) []string {
	return []string{z.Path, "list", "-H", "-o", "name", "-r", "-t", "filesystem,volume", ds}
}

// Descendants returns the filesystems and volumes below ds (not ds
// itself; snapshots and bookmarks are not datasets a snapshot -r takes as
// such). A line that is not a valid name below ds, or a listing without ds,
// is an error: a listing not read whole decides nothing.
func (z Cmd) Descendants(ctx context.Context, ds string) ([]string, error) {
	res, err := z.Run(ctx, z.DescendantsArgv(ds))
	if err != nil {
		return nil, err
	}
	var out []string
	self := false
	for _, l := range strings.Split(string(res.Stdout), "\n") {
		if l == "" {
			continue
		}
		switch {
		case l == ds:
			self = true
		case strings.HasPrefix(l, ds+"/") && zfsname.ValidateDatasetName(l) == nil:
			out = append(out, l)
		default:
			return nil, fmt.Errorf("%s: line %q is not a dataset below %s: refusing to trust the listing", strings.Join(res.Argv, " "), l, ds)
		}
	}
	if !self {
		return nil, fmt.Errorf("%s: %s itself is not in the listing: refusing to trust it", strings.Join(res.Argv, " "), ds)
	}
	return out, nil
}

// SnapshotRecursiveArgv is `zfs snapshot -r DS@SNAP`: DS and every
// filesystem and volume below it, in one transaction (atomic on every
// platform; docs/platform/zfs-snapshot.md).
func (z Cmd) SnapshotRecursiveArgv(name string) []string {
	return []string{z.Path, "snapshot", "-r", name}
}

// SnapshotRecursive runs SnapshotRecursiveArgv.
func (z Cmd) SnapshotRecursive(ctx context.Context, name string) error {
	if err := zfsname.ValidateSnapshotName(name); err != nil {
		return err
	}
	_, err := z.Run(ctx, z.SnapshotRecursiveArgv(name))
	return err
}

// ExistingArgv lists names (datasets or snapshots) by name only.
func (z Cmd) ExistingArgv(names ...string) []string {
	return append([]string{z.Path, "list", "-H", "-o", "name"}, names...)
}

// Existing says which of names exist. zfs lists those that do and says
// "cannot open 'X': dataset does not exist" of each that does not (exit 1);
// every name must be accounted for one way or the other, and any other
// line is an error.
func (z Cmd) Existing(ctx context.Context, names ...string) (map[string]bool, error) {
	for _, n := range names {
		if err := zfsname.ValidateSnapshotName(n); err != nil && zfsname.ValidateDatasetName(n) != nil {
			return nil, err
		}
	}
	res, err := z.Run(ctx, z.ExistingArgv(names...))
	var xe *execx.Error
	if err != nil && !errors.As(err, &xe) {
		return nil, err
	}
	if res == nil && xe != nil {
		res = xe.R
	}
	if res == nil {
		return nil, fmt.Errorf("zfs list: no result")
	}
	argv := strings.Join(res.Argv, " ")
	got := map[string]bool{}
	for _, l := range strings.Split(string(res.Stdout), "\n") {
		if l == "" {
			continue
		}
		if !slices.Contains(names, l) {
			return nil, fmt.Errorf("%s: listed %q, which was not asked for: refusing to trust the listing", argv, l)
		}
		got[l] = true
	}
	missing := 0
	for _, l := range strings.Split(string(res.Stderr), "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		n, ok := strings.CutPrefix(l, "cannot open '")
		if ok {
			n, ok = strings.CutSuffix(n, "': dataset does not exist")
		}
		if !ok || !slices.Contains(names, n) || got[n] {
			return nil, fmt.Errorf("%s: %q: answer not understood: refusing to trust the listing", argv, l)
		}
		missing++
	}
	if len(got)+missing != len(names) || (err != nil) != (missing > 0) {
		return nil, fmt.Errorf("%s: %d of %d names accounted for (exit %d): refusing to trust the listing", argv, len(got)+missing, len(names), res.Exit)
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n] = got[n]
	}
	return out, nil
}

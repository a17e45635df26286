package zfs

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/internal/zfsname"
)

// Cmd runs the zfs command. Path is absolute (from the daemon's
// configuration); Run records what ran.
type Cmd struct {
	Path string
	Run  execx.RunFunc
	// NoListP: this zfs has no `zfs list -p` (Solaris 11.0-11.2, zfs-fuse;
	// probed): listings read their numbers through `zfs get -H -p`.
	NoListP bool
}

// Datasets lists the named datasets (or all of the given types when names is
// empty).
func (z Cmd) Datasets(ctx context.Context, types string, names ...string) ([]Dataset, error) {
	if z.NoListP {
		return z.datasetsByGet(ctx, types, names...)
	}
	argv := []string{z.Path, "list", "-H", "-p", "-o", strings.Join(DatasetColumns, ","), "-t", types}
	res, err := z.Run(ctx, append(argv, names...))
	if err != nil {
		return nil, err
	}
	return ParseDatasets(res.Stdout)
}

// SnapshotsArgv is the command Snapshots runs.
func (z Cmd) SnapshotsArgv(ds string) []string {
	if z.NoListP {
		return z.InfosArgv(1, ds)
	}
	return []string{z.Path, "list", "-H", "-p", "-o", strings.Join(SnapshotColumns, ","), "-t", "snapshot", "-d", "1", ds}
}

// Snapshots lists the snapshots of ds in creation order. -d 1 keeps it to
// ds's own snapshots (illumos has no implicit depth for -t snapshot).
func (z Cmd) Snapshots(ctx context.Context, ds string) ([]Snapshot, error) {
	if z.NoListP {
		return z.snapshotsByGet(ctx, ds)
	}
	res, err := z.Run(ctx, z.SnapshotsArgv(ds))
	if err != nil {
		return nil, err
	}
	snaps, err := ParseSnapshots(res.Stdout)
	if err != nil {
		return nil, err
	}
	out := snaps[:0]
	for _, s := range snaps {
		if s.Dataset == ds {
			out = append(out, s)
		}
	}
	return out, nil
}

// datasetsByGet is Datasets without list -p: `zfs get -H -p` of the
// operands (or of everything), keeping the wanted types.
func (z Cmd) datasetsByGet(ctx context.Context, types string, names ...string) ([]Dataset, error) {
	depth := 0
	if len(names) == 0 {
		depth = -1
	}
	infos, err := z.Infos(ctx, depth, names...)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, t := range strings.Split(types, ",") {
		want[t] = true
	}
	var out []Dataset
	for _, d := range infos {
		if want[d.Type] {
			out = append(out, Dataset{Name: d.Name, Type: d.Type, Creation: d.Creation, Used: d.Used,
				Referenced: d.Referenced, Volsize: d.Volsize})
		}
	}
	return out, nil
}

// snapshotsByGet is Snapshots without list -p.
func (z Cmd) snapshotsByGet(ctx context.Context, ds string) ([]Snapshot, error) {
	infos, err := z.Infos(ctx, 1, ds)
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	for _, d := range SnapshotsOf(infos, ds) {
		_, snap, _ := splitAt(d.Name)
		out = append(out, Snapshot{Name: d.Name, Dataset: ds, Snap: snap, Creation: d.Creation, Used: d.Used, Referenced: d.Referenced})
	}
	return out, nil
}

// GetArgv is the command Get runs.
func (z Cmd) GetArgv(ds string, props ...string) []string {
	return []string{z.Path, "get", "-H", "-p", "-o", "name,property,value,source", strings.Join(props, ","), ds}
}

// Get reads properties of ds as a map property -> value.
func (z Cmd) Get(ctx context.Context, ds string, props ...string) (map[string]string, error) {
	res, err := z.Run(ctx, z.GetArgv(ds, props...))
	if err != nil {
		return nil, err
	}
	ps, err := ParseGet(res.Stdout)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Property] = p.Value
	}
	return m, nil
}

// Written returns written@snap of ds: the bytes changed since the snapshot,
// 0 right after a rollback to it.
func (z Cmd) Written(ctx context.Context, ds, snap string) (uint64, error) {
	prop := "written@" + snap
	m, err := z.Get(ctx, ds, prop)
	if err != nil {
		return 0, err
	}
	v, ok := m[prop]
	if !ok {
		return 0, fmt.Errorf("zfs get %s %s: property missing from output", prop, ds)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("zfs get %s %s: value %q: %w", prop, ds, v, err)
	}
	return n, nil
}

// RollbackArgv is the rollback command line; destroyNewer adds -r.
func (z Cmd) RollbackArgv(snapshot string, destroyNewer bool) []string {
	if destroyNewer {
		return []string{z.Path, "rollback", "-r", snapshot}
	}
	return []string{z.Path, "rollback", snapshot}
}

// Rollback rolls ds back to snapshot.
func (z Cmd) Rollback(ctx context.Context, snapshot string, destroyNewer bool) error {
	_, err := z.Run(ctx, z.RollbackArgv(snapshot, destroyNewer))
	return err
}

// Snapshot takes a snapshot (full name ds@snap).
func (z Cmd) Snapshot(ctx context.Context, name string) error { return z.TakeSnapshots(ctx, name) }

// TakeSnapshotsArgv is `zfs snapshot a@s b@s ...`: one command, so that the
// snapshots are taken atomically, all at one transaction group or none
// (docs/platform/zfs-snapshot.md; zfs(8): "all snapshots are created
// atomically").
func (z Cmd) TakeSnapshotsArgv(names ...string) []string {
	return append([]string{z.Path, "snapshot"}, names...)
}

// TakeSnapshots takes every snapshot in names with one command.
func (z Cmd) TakeSnapshots(ctx context.Context, names ...string) error {
	for _, n := range names {
		if err := zfsname.ValidateSnapshotName(n); err != nil {
			return err
		}
	}
	_, err := z.Run(ctx, z.TakeSnapshotsArgv(names...))
	return err
}

// Destroy destroys one snapshot. It refuses anything but a snapshot name so
// that a bug can never destroy a volume.
func (z Cmd) Destroy(ctx context.Context, snapshot string) error {
	if err := zfsname.ValidateSnapshotName(snapshot); err != nil {
		return err
	}
	_, err := z.Run(ctx, []string{z.Path, "destroy", snapshot})
	return err
}

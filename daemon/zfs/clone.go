package zfs

// The commands of a rollback that keeps what it replaces (issue 22,
// docs/keep.md): rename the volume aside, clone the snapshot under the
// volume's name with its local properties, promote the clone; and, to
// forget kept data, destroy a kept dataset with its snapshots. Which
// platform accepts what is in docs/platform/zfs-clone.md.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/internal/zfsname"
)

// RenameArgv is `zfs rename FROM TO` (no -r, -p or -f: a rename that
// needs them is refused by zfs, and we want that).
func (z Cmd) RenameArgv(from, to string) []string {
	return []string{z.Path, "rename", from, to}
}

// Rename renames a dataset.
func (z Cmd) Rename(ctx context.Context, from, to string) error {
	if err := validDataset(from, to); err != nil {
		return err
	}
	_, err := z.Run(ctx, z.RenameArgv(from, to))
	return err
}

// CloneArgv is `zfs clone [-o p=v]... SNAPSHOT TARGET`, the properties in
// name order so a resumed operation builds the same argv.
func (z Cmd) CloneArgv(snapshot, target string, props map[string]string) []string {
	argv := []string{z.Path, "clone"}
	for _, k := range slices.Sorted(mapKeys(props)) {
		argv = append(argv, "-o", k+"="+props[k])
	}
	return append(argv, snapshot, target)
}

// Clone creates target as a clone of snapshot.
func (z Cmd) Clone(ctx context.Context, snapshot, target string, props map[string]string) error {
	if err := zfsname.ValidateSnapshotName(snapshot); err != nil {
		return err
	}
	if err := validDataset(target); err != nil {
		return err
	}
	_, err := z.Run(ctx, z.CloneArgv(snapshot, target, props))
	return err
}

// PromoteArgv is `zfs promote CLONE`.
func (z Cmd) PromoteArgv(ds string) []string { return []string{z.Path, "promote", ds} }

// Promote promotes a clone: the snapshots of its origin up to the origin
// move to it, and the origin's dataset becomes its clone.
func (z Cmd) Promote(ctx context.Context, ds string) error {
	if err := validDataset(ds); err != nil {
		return err
	}
	_, err := z.Run(ctx, z.PromoteArgv(ds))
	return err
}

// SetArgv is `zfs set PROP=VALUE DS`.
func (z Cmd) SetArgv(ds, prop, value string) []string {
	return []string{z.Path, "set", prop + "=" + value, ds}
}

// Set sets one property.
func (z Cmd) Set(ctx context.Context, ds, prop, value string) error {
	if err := validDataset(ds); err != nil {
		return err
	}
	_, err := z.Run(ctx, z.SetArgv(ds, prop, value))
	return err
}

// DestroyTreeArgv is `zfs destroy -r DS`: the dataset and its snapshots.
// Never -R: a clone of one of its snapshots makes zfs refuse, and that
// refusal is what we want (nothing outside the kept data goes).
func (z Cmd) DestroyTreeArgv(ds string) []string { return []string{z.Path, "destroy", "-r", ds} }

// DestroyTree destroys a dataset (never a snapshot name, never a pool)
// with its snapshots.
func (z Cmd) DestroyTree(ctx context.Context, ds string) error {
	if err := validDataset(ds); err != nil {
		return err
	}
	if !strings.Contains(ds, "/") {
		return fmt.Errorf("refusing to destroy %q: a pool's root dataset", ds)
	}
	_, err := z.Run(ctx, z.DestroyTreeArgv(ds))
	return err
}

// DestroyCloneArgv is `zfs destroy DS`: no -r, so zfs refuses a dataset
// that has snapshots (a clone just made has none; anything else is not
// ours to destroy).
func (z Cmd) DestroyCloneArgv(ds string) []string { return []string{z.Path, "destroy", ds} }

// DestroyClone destroys a dataset without snapshots (never a snapshot
// name, never a pool).
func (z Cmd) DestroyClone(ctx context.Context, ds string) error {
	if err := validDataset(ds); err != nil {
		return err
	}
	if !strings.Contains(ds, "/") {
		return fmt.Errorf("refusing to destroy %q: a pool's root dataset", ds)
	}
	_, err := z.Run(ctx, z.DestroyCloneArgv(ds))
	return err
}

// InheritArgv is `zfs inherit PROP DS`: the local value goes.
func (z Cmd) InheritArgv(ds, prop string) []string { return []string{z.Path, "inherit", prop, ds} }

// Inherit clears a locally set property.
func (z Cmd) Inherit(ctx context.Context, ds, prop string) error {
	if err := validDataset(ds); err != nil {
		return err
	}
	_, err := z.Run(ctx, z.InheritArgv(ds, prop))
	return err
}

// LocalPropsArgv reads the properties set locally on a dataset, exact
// values: `zfs get -H -p -o property,value -s local all DS`.
func (z Cmd) LocalPropsArgv(ds string) []string {
	return []string{z.Path, "get", "-H", "-p", "-o", "property,value", "-s", "local", "all", ds}
}

// LocalProps reads the properties set locally on ds (ParseLocalProps).
func (z Cmd) LocalProps(ctx context.Context, ds string) (map[string]string, error) {
	if err := validDataset(ds); err != nil {
		return nil, err
	}
	res, err := z.Run(ctx, z.LocalPropsArgv(ds))
	if err != nil {
		return nil, err
	}
	props, err := ParseLocalProps(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("zfs get -s local all %s: %w", ds, err)
	}
	return props, nil
}

// ParseLocalProps reads `property<TAB>value` lines, every one whole: a
// line without exactly one tab, an empty name, or a name twice is an
// error that quotes it (fail closed: a property we cannot read would not
// be copied to the clone).
func ParseLocalProps(out []byte) (map[string]string, error) {
	props := map[string]string{}
	for i, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if line == "" && i == 0 && len(out) <= 1 {
			break
		}
		name, value, ok := strings.Cut(line, "\t")
		if !ok || name == "" || strings.Contains(value, "\t") {
			return nil, fmt.Errorf("line %d is not \"property<TAB>value\": %q", i+1, line)
		}
		if _, dup := props[name]; dup {
			return nil, fmt.Errorf("line %d: property %q printed twice: %q", i+1, name, line)
		}
		props[name] = value
	}
	return props, nil
}

func validDataset(names ...string) error {
	for _, n := range names {
		if err := zfsname.ValidateDatasetName(n); err != nil {
			return err
		}
	}
	return nil
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

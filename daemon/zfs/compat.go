package zfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/volctl/volctl/daemon/execx"
)

// This file is for zfs implementations other than Solaris/illumos ZFS:
// OpenZFS on Linux and zfs-fuse 0.7 (spec linux-tgt-zfs.md §8, §9). zfs-fuse
// has no `zfs list -p` (exit 2, "invalid option 'p'") and no written /
// written@snap properties ("bad property list: invalid property ..."), but
// its `zfs get` does take -p, -d and -r. So everything here reads numbers
// through `zfs get -H -p`, which works on all of them.

// Features is what the installed zfs command supports.
type Features struct {
	// ListP: `zfs list -p` (exact numbers from list).
	ListP bool
	// Written: the written and written@<snap> properties.
	Written bool
}

// IsBadProperty reports zfs refusing a property name ("bad property list:
// invalid property 'written@s1'", spec §8.1).
func IsBadProperty(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("bad property list")) || bytes.Contains(stderr, []byte("invalid property"))
}

// IsInvalidOption reports a usage error for an unknown option ("invalid
// option 'p'", spec §8.1).
func IsInvalidOption(stderr []byte) bool { return bytes.Contains(stderr, []byte("invalid option")) }

func stderrOf(err error) []byte {
	var xe *execx.Error
	if errors.As(err, &xe) {
		return xe.R.Stderr
	}
	return nil
}

// Probe asks zfs what it supports, using ds (which must exist) as operand.
// A refusal that is not about the option or property is an error, so a
// missing dataset or a dead zfs-fuse is not mistaken for a missing feature.
func (z Cmd) Probe(ctx context.Context, ds string) (Features, error) {
	var f Features
	_, err := z.Run(ctx, []string{z.Path, "get", "-H", "-p", "-o", "property,value", "written", ds})
	switch {
	case err == nil:
		f.Written = true
	case IsBadProperty(stderrOf(err)):
	default:
		return f, fmt.Errorf("probe zfs for written: %w", err)
	}
	_, err = z.Run(ctx, []string{z.Path, "list", "-H", "-p", "-o", "name", ds})
	switch {
	case err == nil:
		f.ListP = true
	case IsInvalidOption(stderrOf(err)):
	default:
		return f, fmt.Errorf("probe zfs for list -p: %w", err)
	}
	return f, nil
}

// Info is a dataset or snapshot as `zfs get -H -p` reports it.
type Info struct {
	Name, Type string
	Creation   int64
	Used       uint64
	Referenced uint64
	Volsize    uint64 // 0 when "-" (not a volume)
	Mountpoint string // "" when "-", "none" or "legacy" stays as is
	CreateTxg  uint64
	Userrefs   uint64 // user holds of a snapshot; 0 when "-"
}

// InfoProps are the properties Infos reads.
var InfoProps = []string{"type", "creation", "used", "referenced", "volsize", "mountpoint", "createtxg", "userrefs"}

// InfosArgv is `zfs get -H -p -o name,property,value,source PROPS [NAMES]`
// with -r for depth < 0 and -d N for depth > 0.
func (z Cmd) InfosArgv(depth int, names ...string) []string {
	a := []string{z.Path, "get", "-H", "-p"}
	switch {
	case depth < 0:
		a = append(a, "-r")
	case depth > 0:
		a = append(a, "-d", strconv.Itoa(depth))
	}
	a = append(a, "-o", strings.Join(PropColumns, ","), strings.Join(InfoProps, ","))
	return append(a, names...)
}

// Infos reads InfoProps of names (all datasets when none), to depth.
func (z Cmd) Infos(ctx context.Context, depth int, names ...string) ([]Info, error) {
	res, err := z.Run(ctx, z.InfosArgv(depth, names...))
	if err != nil {
		return nil, err
	}
	props, err := ParseGet(res.Stdout)
	if err != nil {
		return nil, err
	}
	return InfosFromProps(props)
}

// InfosFromProps groups `zfs get` rows by dataset, in order of first
// appearance. A number that does not parse is an error (was -p given?); "-"
// is 0. Every dataset must have a type.
func InfosFromProps(props []Prop) ([]Info, error) {
	var out []Info
	at := map[string]int{}
	for _, p := range props {
		i, ok := at[p.Name]
		if !ok {
			i = len(out)
			at[p.Name] = i
			out = append(out, Info{Name: p.Name})
		}
		d := &out[i]
		num := func(dst *uint64) error {
			if p.Value == "-" {
				return nil
			}
			n, err := strconv.ParseUint(p.Value, 10, 64)
			if err != nil {
				return fmt.Errorf("zfs get %s %s: %q is not a number (was -p given?)", p.Property, p.Name, p.Value)
			}
			*dst = n
			return nil
		}
		var err error
		switch p.Property {
		case "type":
			d.Type = p.Value
		case "creation":
			var c uint64
			if err = num(&c); err == nil {
				d.Creation = int64(c)
			}
		case "used":
			err = num(&d.Used)
		case "referenced":
			err = num(&d.Referenced)
		case "volsize":
			err = num(&d.Volsize)
		case "createtxg":
			err = num(&d.CreateTxg)
		case "userrefs":
			err = num(&d.Userrefs)
		case "mountpoint":
			if p.Value != "-" {
				d.Mountpoint = p.Value
			}
		}
		if err != nil {
			return nil, err
		}
	}
	for _, d := range out {
		if d.Type == "" {
			return nil, fmt.Errorf("zfs get: %s has no type", d.Name)
		}
	}
	return out, nil
}

// SnapshotsOf picks ds's own snapshots from infos, in creation order
// (createtxg; zfs-fuse lists them unsorted in some messages, spec §8.5).
func SnapshotsOf(infos []Info, ds string) []Info {
	var out []Info
	for _, d := range infos {
		if d.Type == "snapshot" && strings.HasPrefix(d.Name, ds+"@") && !strings.Contains(d.Name[len(ds)+1:], "@") {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b Info) int {
		switch {
		case a.CreateTxg < b.CreateTxg:
			return -1
		case a.CreateTxg > b.CreateTxg:
			return 1
		}
		return 0
	})
	return out
}

// UsedOf returns the used property of a snapshot: the space only it holds.
// Without written@ (zfs-fuse) it is the best "changed since" signal there
// is: 0 right after a rollback to it, and it only grows otherwise; but it
// lags until the transaction group is synced (spec §8.11).
func (z Cmd) UsedOf(ctx context.Context, snapshot string) (uint64, error) {
	infos, err := z.Infos(ctx, 0, snapshot)
	if err != nil {
		return 0, err
	}
	for _, d := range infos {
		if d.Name == snapshot {
			return d.Used, nil
		}
	}
	return 0, fmt.Errorf("zfs get used %s: not in the output", snapshot)
}

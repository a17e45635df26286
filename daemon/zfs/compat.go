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
	"github.com/volctl/volctl/store"
)

// This file is for what differs between zfs implementations
// (docs/platform/zfs.md §1): Oracle Solaris has no written / written@
// properties and, before 11.3, no `zfs list -p`; Solaris and illumos-gate
// print "-" for a snapshot's volsize; zfs-fuse 0.7 has neither list -p nor
// written@ (docs/platform/zfs.md §9, §10). `zfs get -H -p` works on all of
// them, so numbers are read through it wherever list -p is missing.

// Features is what the installed zfs command supports, as probed.
type Features struct {
	// ListP: `zfs list -p` (exact numbers from list).
	ListP bool
	// Written: the written and written@<snap> properties.
	Written bool
	// SnapshotVolsize: `zfs get volsize VOL@SNAP` prints the number. False
	// when it prints "-" or when no volume snapshot was there to ask (the
	// detail says which): either way the size is read per rollback and "-"
	// taken as unknown.
	SnapshotVolsize bool
	// SnapshotMany: one `zfs snapshot A@S B@S` takes several snapshots
	// (atomically). False where zfs said "too many arguments" (Oracle
	// Solaris) and where its answer was not understood.
	SnapshotMany bool
	// Detail says, per feature, what the probe ran and saw.
	Detail map[string]string
}

// Capabilities are the features as journaled and shown (volctl status, op
// show).
func (f Features) Capabilities() store.Capabilities {
	d := func(k string) string {
		if v, ok := f.Detail[k]; ok {
			return v
		}
		return f.Detail["all"]
	}
	return store.Capabilities{
		{Name: store.CapZfsListP, Supported: f.ListP, Detail: d("list-p")},
		{Name: store.CapWritten, Supported: f.Written, Detail: d("written")},
		{Name: store.CapSnapshotVolsize, Supported: f.SnapshotVolsize, Detail: d("snapshot-volsize")},
		{Name: store.CapSnapshotMany, Supported: f.SnapshotMany, Detail: d("snapshot-many")},
	}
}

// IsBadProperty reports zfs refusing a property name ("bad property list:
// invalid property 'written@s1'", docs/platform/zfs.md §6.3, §9.1).
func IsBadProperty(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("bad property list")) || bytes.Contains(stderr, []byte("invalid property"))
}

// IsInvalidOption reports a usage error for an unknown option ("invalid
// option 'p'", docs/platform/zfs.md §9.1).
func IsInvalidOption(stderr []byte) bool { return bytes.Contains(stderr, []byte("invalid option")) }

func stderrOf(err error) []byte {
	var xe *execx.Error
	if errors.As(err, &xe) {
		return xe.R.Stderr
	}
	return nil
}

// firstLine is the first non-empty line of a listing.
func firstLine(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// Probe asks zfs what it supports. It needs no operand from the caller: it
// lists the datasets (`zfs list -H -o name`, which every zfs takes) and
// probes with the first one. A refusal that is not about the option or
// property is an error, so a dead zfs-fuse or a broken command is not
// mistaken for a missing feature.
func (z Cmd) Probe(ctx context.Context) (Features, error) {
	f := Features{Detail: map[string]string{}}
	res, err := z.Run(ctx, []string{z.Path, "list", "-H", "-o", "name"})
	if err != nil {
		return f, fmt.Errorf("probe zfs: %w", err)
	}
	ds := firstLine(res.Stdout)
	f.SnapshotMany, f.Detail["snapshot-many"] = z.probeSnapshotMany(ctx, res.Stdout)
	if ds == "" {
		f.Detail["all"] = "no dataset to probe with: zfs list showed none"
		return f, nil
	}
	_, err = z.Run(ctx, []string{z.Path, "get", "-H", "-p", "-o", "property,value", "written", ds})
	switch {
	case err == nil:
		f.Written = true
		f.Detail["written"] = "zfs get written " + ds + ": accepted"
	case IsBadProperty(stderrOf(err)):
		f.Detail["written"] = "zfs get written " + ds + ": " + firstLine(stderrOf(err))
	default:
		return f, fmt.Errorf("probe zfs for written: %w", err)
	}
	_, err = z.Run(ctx, []string{z.Path, "list", "-H", "-p", "-o", "name", ds})
	switch {
	case err == nil:
		f.ListP = true
		f.Detail["list-p"] = "zfs list -p " + ds + ": accepted"
	case IsInvalidOption(stderrOf(err)):
		f.Detail["list-p"] = "zfs list -p " + ds + ": " + firstLine(stderrOf(err))
	default:
		return f, fmt.Errorf("probe zfs for list -p: %w", err)
	}
	// A snapshot of a volume, if there is one, tells whether its volsize
	// is readable (OpenZFS) or "-" (Solaris, illumos-gate).
	res, err = z.Run(ctx, []string{z.Path, "list", "-H", "-o", "name", "-t", "volume"})
	if err != nil {
		// zfs-fuse has no zvols; nothing to learn here.
		f.Detail["snapshot-volsize"] = "not probed: listing volumes failed: " + firstLine(stderrOf(err))
		return f, nil
	}
	vol := firstLine(res.Stdout)
	if vol == "" {
		f.Detail["snapshot-volsize"] = "not probed: no volume on this host; read per rollback"
		return f, nil
	}
	res, err = z.Run(ctx, []string{z.Path, "list", "-H", "-o", "name", "-t", "snapshot", "-d", "1", vol})
	if err != nil {
		return f, fmt.Errorf("probe zfs for snapshots of %s: %w", vol, err)
	}
	snap := firstLine(res.Stdout)
	if snap == "" {
		f.Detail["snapshot-volsize"] = "not probed: " + vol + " has no snapshot; read per rollback"
		return f, nil
	}
	res, err = z.Run(ctx, []string{z.Path, "get", "-H", "-p", "-o", "value", "volsize", snap})
	if err != nil {
		return f, fmt.Errorf("probe zfs for the volsize of %s: %w", snap, err)
	}
	v := firstLine(res.Stdout)
	_, perr := strconv.ParseUint(v, 10, 64)
	f.SnapshotVolsize = perr == nil
	f.Detail["snapshot-volsize"] = fmt.Sprintf("zfs get volsize %s: %q", snap, v)
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
// (createtxg; zfs-fuse lists them unsorted in some messages,
// docs/platform/zfs.md §3.2).
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
// lags until the transaction group is synced (docs/platform/zfs.md §9.2).
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

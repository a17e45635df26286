// Package bootcheck says whether a kernel zone will boot from its boot
// disk as the disk is now: it reads the root pool's ZFS label from the
// storage host (internal/bootdisk, read-only) and compares the leaf's
// phys_path with the path the kernel zone opens its root pool by,
// /zvnex/zvblk@ID:SLICE (docs/platform/kz-boot-path.md). A pool imported
// in a global zone carries that host's path instead, and the zone panics
// at boot (issue 23). Nothing here runs a command; the daemon's backend
// finds the zone's boot device and its volume (daemon/solaris/bootcheck.go).
package bootcheck

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/volctl/volctl/internal/bootdisk"
)

// ErrUnreadable is wrapped by every failure to read an answer from the
// disk: the device cannot be opened or sized, the disk has no single pool
// slice, the label's vdev tree has no leaf for this disk. It is never
// "will boot": a caller that cannot tell does not boot the zone.
var ErrUnreadable = errors.New("the boot disk's label cannot be read")

// Result is what a boot disk's root pool label says, and whether its
// phys_path is the one the kernel zone opens.
type Result struct {
	// DeviceID is the zone's device id (zonecfg's id) for this disk.
	DeviceID int
	// Scheme is the partition table (gpt, vtoc8, vtoc16); Slice the minor
	// letter of the slice that holds the pool ("b" for slice 1).
	Scheme, Slice string
	// The pool as the chosen label (the valid one with the highest txg)
	// says.
	Pool      string
	PoolGUID  uint64
	TXG       uint64
	State     string // EXPORTED, ACTIVE, ... (bootdisk.StateName)
	Hostname  string // the host that last imported the pool
	HostID    uint64
	HasHostID bool
	// The leaf vdev of this disk (the one whose guid is the label's guid).
	Path, PhysPath, DevID string
	// ValidLabels counts the four labels that read whole; AgreeLabels
	// those that are byte for byte the chosen one.
	ValidLabels, AgreeLabels int
	// Want is the phys_path the kernel zone opens: KernelZonePhysPath.
	Want string
	// Boots: PhysPath is Want.
	Boots bool
}

// KernelZonePhysPath is the phys_path a kernel zone's kernel sees for its
// disk with device id id, slice minor (docs/platform/kz-boot-path.md §2:
// the issue's /zvnex/zvblk@0:b; the unit address of ids past 9 is [UNV]).
func KernelZonePhysPath(id int, minor string) string {
	return fmt.Sprintf("/zvnex/zvblk@%d:%s", id, minor)
}

// Check reads the root pool's label from the disk r (size bytes) and
// compares its phys_path with the kernel zone path for device id. A disk
// that does not give one answer (no pool slice, several, no leaf for this
// disk) is an error wrapping ErrUnreadable that says what was found.
func Check(r io.ReaderAt, size int64, id int) (Result, error) {
	d, err := bootdisk.ReadDisk(r, size)
	if err != nil {
		return Result{DeviceID: id}, fmt.Errorf("%w: partition table: %w", ErrUnreadable, err)
	}
	return FromDisk(d, id)
}

// FromDisk is Check on a disk already read.
func FromDisk(d *bootdisk.Disk, id int) (Result, error) {
	res := Result{DeviceID: id, Scheme: string(d.Table.Scheme)}
	sl, err := d.Pool()
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	ls := sl.Labels
	cfg := ls.Labels[ls.Best].Config
	res.Slice = sl.Slice.Minor
	res.Pool, res.PoolGUID, res.TXG = cfg.Name, cfg.PoolGUID, cfg.TXG
	res.State = bootdisk.StateName(cfg.State)
	res.Hostname, res.HostID, res.HasHostID = cfg.Hostname, cfg.HostID, cfg.HasHostID
	for _, l := range ls.Labels {
		if l.Err == nil {
			res.ValidLabels++
		}
	}
	res.AgreeLabels = len(ls.Agree)
	// The label's guid is this device's; its leaf in the tree carries the
	// paths (a mirror's tree has the other halves too).
	var leaf *bootdisk.Vdev
	var seen []string
	for _, v := range cfg.Tree.Leaves() {
		if v.GUID == cfg.GUID {
			leaf = v
		}
		seen = append(seen, fmt.Sprintf("%s guid %d phys_path %q", v.Type, v.GUID, v.PhysPath))
	}
	if leaf == nil {
		return res, fmt.Errorf("%w: slice %s holds pool %q (guid %d), but its label's vdev tree has no leaf with this disk's guid %d (leaves: %s)",
			ErrUnreadable, sl.Slice.Minor, cfg.Name, cfg.PoolGUID, cfg.GUID, strings.Join(seen, "; "))
	}
	res.Path, res.PhysPath, res.DevID = leaf.Path, leaf.PhysPath, leaf.DevID
	res.Want = KernelZonePhysPath(id, sl.Slice.Minor)
	res.Boots = res.PhysPath == res.Want
	return res, nil
}

// LastHost names the host that last wrote the label: its hostname and
// hostid, as far as the label has them.
func (r Result) LastHost() string {
	h := r.Hostname
	if h == "" {
		h = "(no hostname in the label)"
	}
	if r.HasHostID {
		h += fmt.Sprintf(" (hostid %08x)", r.HostID)
	}
	return h
}

// Problem is the verdict for zone when the disk will not boot it, "" when
// it will: the path the label has, who wrote it, the path the zone needs.
func (r Result) Problem(zone string) string {
	if r.Boots {
		return ""
	}
	return fmt.Sprintf("%s will not boot: its root pool's label says phys_path %s (written by an import on host %s); a kernel zone imports its root pool by %s",
		zone, r.PhysPath, r.LastHost(), r.Want)
}

// Remedy is what to do about Problem: the rescue procedure (issue 23
// item 3) rewrites the path from inside a rescue kernel zone.
func Remedy(zone string) string {
	return fmt.Sprintf("repair it from a rescue kernel zone whose own boot disk is not id 0: volctl rescue %s --with RESCUE_ZONE", zone)
}
